// BlockCache: fixed-size blocks of media objects, keyed by (object version,
// block index) and never by URL.
//
// Memory tier: LRU under one global byte budget, split in shards to keep
// lock contention low. A block is pinned while anyone holds its shared_ptr:
// eviction skips it (its bytes stay counted), so readers never see memory
// vanish under them. Concurrent misses of one block collapse into a single
// load: the first caller loads, the others wait for its result.
//
// An optional second tier (the persistent disk cache) is consulted on a
// memory miss and receives every block loaded.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "vodfs/util/result.h"

namespace vodfs::cache {

using Block = std::shared_ptr<const std::string>;

struct BlockKey {
  std::string object;  // identity of one object version, e.g. "<ref key>#<fingerprint id>"
  uint64_t index = 0;  // block number
  std::string Flat() const { return object + '\x1f' + std::to_string(index); }
};

// A slower, larger tier behind the memory one (the disk cache).
class SecondTier {
 public:
  virtual ~SecondTier() = default;
  virtual Block Get(const BlockKey& key) = 0;
  virtual void Put(const BlockKey& key, const Block& block) = 0;
};

struct CacheStats {
  uint64_t hits = 0;            // memory
  uint64_t second_tier_hits = 0;
  uint64_t misses = 0;          // loads started
  uint64_t collapsed = 0;       // misses that waited for another's load
  uint64_t evictions = 0;
  uint64_t bytes = 0;           // resident in memory
  uint64_t blocks = 0;
  uint64_t pinned_bytes = 0;
};

class BlockCache {
 public:
  BlockCache(uint64_t memory_budget, SecondTier* second = nullptr, size_t shards = 16);
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // The block if cached (memory, then second tier), else nullptr.
  Block Lookup(const BlockKey& key);
  // True if the block is in memory or being loaded (read-ahead uses this
  // to avoid duplicate work).
  bool PresentOrLoading(const BlockKey& key);
  void Insert(const BlockKey& key, Block block);

  using Loader = std::function<Result<std::string>()>;
  // The block, loading it with `load` on a miss. One load per key at a time.
  Result<Block> GetOrLoad(const BlockKey& key, const Loader& load);

  // Claims `key` for loading by the caller, unless it is cached or already
  // being loaded. A caller that gets true must later CompleteLoad() it;
  // meanwhile GetOrLoad() callers for `key` wait for that result.
  bool TryBeginLoad(const BlockKey& key);
  // Ends a claimed load: caches the block on success (and writes it to the
  // second tier unless it came from there) and wakes waiters.
  void CompleteLoad(const BlockKey& key, Result<Block> result, bool from_second_tier = false);
  // The block from the second tier only (no memory insert), or nullptr.
  Block FromSecondTier(const BlockKey& key);
  // Waits for `key` if it is being loaded; nullptr if it is neither cached
  // nor loading.
  Result<Block> Await(const BlockKey& key);

  // Drops every block of `object` from memory.
  void EraseObject(const std::string& object);
  void SetBudget(uint64_t bytes);
  uint64_t budget() const { return budget_.load(); }
  CacheStats Stats() const;

 private:
  struct Entry {
    std::string flat;
    Block block;
  };
  struct Shard {
    std::mutex mu;
    std::list<Entry> lru;  // front = most recent
    std::unordered_map<std::string, std::list<Entry>::iterator> index;
    uint64_t bytes = 0;
  };
  struct Loading {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Result<Block> result = Error(ErrorCode::kInternal, "not loaded");
  };

  Shard& ShardFor(const std::string& flat);
  Block LookupMemory(const std::string& flat);
  void InsertMemory(const std::string& flat, Block block);
  void EvictLocked(Shard& s, uint64_t shard_budget);

  std::atomic<uint64_t> budget_;
  SecondTier* second_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::mutex loading_mu_;
  std::unordered_map<std::string, std::shared_ptr<Loading>> loading_;
  std::atomic<uint64_t> hits_{0}, second_hits_{0}, misses_{0}, collapsed_{0}, evictions_{0};
};

}  // namespace vodfs::cache
