// MemcachedTier: the block cache a fleet of mounts shares, on a pool of
// memcached servers, between each mount's own tiers (memory, disk) and the
// origin.
//
// Keys are object versions and block indexes, never URLs: memcached's key
// is "vodfs1:<128-bit hash of the object>:<index>" (memcached keys are at
// most 250 bytes of printable text; objects are longer and arbitrary).
// Servers are chosen by consistent hashing (ketama), so that a server
// added or lost moves only its share of the keys.
//
// A value is a 32-byte header and the block's bytes:
//   magic "VFB1" (u32) | header size 32 (u32) | block size (u64) |
//   CRC-64 of the bytes (u64) | check of the full key (u64)
// all little-endian. Every value that comes back is checked (magic, sizes,
// key check, CRC-64 of the bytes): one that fails is a miss, counted and
// logged, never served.
//
// A server that is down or slow costs a miss, never an error or a stall:
// every operation is bounded by `timeout_ms`, a server failing
// `failure_limit` times in a row is skipped for `retry_s` seconds, and
// Put is best effort. Nothing here returns an error once opened.
//
// Popular blocks are fetched from the origin once for the fleet, best
// effort: a mount about to fetch a block takes a short-lived claim key
// (memcached `add`, `claim_ttl_s`); another mount that finds the block
// claimed waits a little for it to appear (WaitFor) before fetching it
// itself.
//
// Thread-safety: all methods are safe to call concurrently (each takes a
// connection of its own from the pool; puts are sent by one writer thread).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "vodfs/cache/block.h"
#include "vodfs/util/mutex.h"
#include "vodfs/util/result.h"

struct memcached_st;

namespace vodfs::shared_cache {

struct MemcachedOptions {
  std::vector<std::string> servers;  // "host:port"
  // A few milliseconds: a LAN answers a 64 KiB block in well under one; a
  // server slower than this is worth less than the origin's next byte.
  int timeout_ms = 20;
  // Consecutive failures after which a server is skipped, and for how long
  // (then one request tries it again).
  int failure_limit = 2;
  int retry_s = 5;
  // How long memcached keeps a block (0: until its LRU evicts it), and a
  // claim (long enough for one block's fetch, short enough that a claimer
  // that died costs one wait).
  uint32_t ttl_s = 0;
  uint32_t claim_ttl_s = 2;
  size_t pool_size = 16;  // idle connections kept
  // Puts waiting for the writer: 64 blocks of 64 KiB, what a read-ahead
  // window brings at once; beyond that a put is dropped.
  size_t queue_bytes = 4 << 20;
};

// "memcached://h1:11211,h2:11211?timeout_ms=20&ttl_s=0" (the port
// defaults to 11211; ';' may separate servers where ',' separates options).
Result<MemcachedOptions> ParseMemcachedUrl(std::string_view url);

struct SharedCacheStats {
  uint64_t hits = 0, misses = 0;
  uint64_t rejected = 0;    // values that came back and failed the checks
  uint64_t errors = 0;      // operations that failed (server down, timeout)
  uint64_t skipped = 0;     // operations not sent: their server failed just before
  uint64_t puts = 0, put_errors = 0, put_skipped = 0;  // skipped: too large for the server's item size
  uint64_t put_dropped = 0;  // the writer's queue was full
  uint64_t claims_won = 0, claims_lost = 0;
  uint64_t waits_served = 0, waits_missed = 0;  // a claimed block did (not) appear in time
  uint64_t bytes_in = 0, bytes_out = 0;
};

// The value format (exposed for tests and for tools).
constexpr size_t kHeaderSize = 32;
std::string MemcachedKey(std::string_view object, uint64_t index);
std::string EncodeValue(std::string_view object, uint64_t index, const cache::BlockData& block);
// The block in `value`, or null with the reason in `why`.
cache::Block DecodeValue(std::string_view object, uint64_t index, std::string_view value, std::string* why);

class MemcachedTier {
 public:
  static Result<std::unique_ptr<MemcachedTier>> Open(const MemcachedOptions& o);
  ~MemcachedTier();
  MemcachedTier(const MemcachedTier&) = delete;
  MemcachedTier& operator=(const MemcachedTier&) = delete;

  // The block, checked; null on a miss, a failed check or a failed server.
  cache::Block Get(const std::string& object, uint64_t index);
  // The blocks [first, first + count) of `object`, each checked, null where
  // missing: one multi-get (a round trip per server), not one per block.
  // The shape of cache::SecondTier::GetRun.
  std::vector<cache::Block> GetRun(const std::string& object, uint64_t first, uint64_t count);
  // Stores the block, best effort and without waiting: it is queued for
  // the tier's writer thread (dropped, and counted, when `queue_bytes`
  // are already waiting: a slow server never slows a reader). The CRC-64
  // it carries must be of its bytes: whoever gets it checks them.
  void Put(const std::string& object, uint64_t index, const cache::Block& block);
  // Waits until every queued Put has been sent (tests, shutdown).
  void Flush();

  // Forgets the block (best effort): its object did not verify.
  void Erase(const std::string& object, uint64_t index);

  // The right to fetch one block from the origin for the fleet, held
  // until destroyed (the claim key is then deleted; it expires by itself
  // after claim_ttl_s if its holder dies).
  class Claim {
   public:
    Claim() = default;
    Claim(Claim&& o) noexcept : tier_(o.tier_), key_(std::move(o.key_)) { o.tier_ = nullptr; }
    Claim& operator=(Claim&& o) noexcept;
    ~Claim() { Release(); }
    // This mount fetches the block (or nobody could be asked: a server
    // down is no reason to wait). False: another mount is fetching it.
    bool owned() const { return owned_; }

   private:
    friend class MemcachedTier;
    Claim(MemcachedTier* tier, std::string key, bool owned) : tier_(tier), key_(std::move(key)), owned_(owned) {}
    void Release();
    MemcachedTier* tier_ = nullptr;  // set while a claim key is to be deleted
    std::string key_;
    bool owned_ = true;
  };
  Claim TryClaim(const std::string& object, uint64_t index);
  // Waits up to `budget` for a block another mount claimed to appear.
  cache::Block WaitFor(const std::string& object, uint64_t index, std::chrono::milliseconds budget);

  SharedCacheStats Stats() const;
  std::string Describe() const;  // "memcached://h1:11211,h2:11211"

 private:
  MemcachedTier(MemcachedOptions o, memcached_st* master);
  void Write();  // the writer thread
  // Which server holds `key` ("host:port"), and whether it is skipped now.
  std::string ServerOf(memcached_st* m, const std::string& key);
  bool Skipped(const std::string& server);
  // Counts a failed (or a successful) operation on `server`.
  void NoteOutcome(const std::string& server, bool failed);
  void Send(const std::string& object, uint64_t index, const cache::Block& block);
  // A connection for the caller's exclusive use; returned by the lease.
  class Conn;
  Conn Take();
  void Give(memcached_st* m);

  const MemcachedOptions o_;
  Mutex mu_;
  memcached_st* master_ GUARDED_BY(mu_);  // configured once; cloned per connection
  std::vector<memcached_st*> idle_ GUARDED_BY(mu_);

  // Servers that failed `failure_limit` times in a row are skipped until
  // a steady-clock second: a server that stalls (accepts, never answers)
  // would otherwise cost every request its full timeout. (libmemcached's
  // own failure counting is per connection and sees connect failures only.)
  struct Health {
    int failures = 0;
    int64_t skipped_until = 0;
  };
  Mutex health_mu_;
  std::map<std::string, Health> health_ GUARDED_BY(health_mu_);

  struct Pending {
    std::string object;
    uint64_t index;
    cache::Block block;
  };
  Mutex queue_mu_;
  CondVar queue_cv_;
  std::deque<Pending> queue_ GUARDED_BY(queue_mu_);
  size_t queued_bytes_ GUARDED_BY(queue_mu_) = 0;
  bool sending_ GUARDED_BY(queue_mu_) = false;  // the writer holds one taken off the queue
  bool stopping_ GUARDED_BY(queue_mu_) = false;
  std::thread writer_;

  struct Counters {
    std::atomic<uint64_t> hits{0}, misses{0}, rejected{0}, errors{0}, skipped{0}, puts{0}, put_errors{0}, put_skipped{0},
        put_dropped{0}, claims_won{0}, claims_lost{0}, waits_served{0}, waits_missed{0}, bytes_in{0}, bytes_out{0};
  };
  mutable Counters n_;
  std::atomic<int64_t> last_warning_{0};  // steady seconds of the last logged failure
};

}  // namespace vodfs::shared_cache
