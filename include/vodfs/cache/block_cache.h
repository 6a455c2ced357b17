// BlockCache: the memory tier of fixed-size blocks of media objects, keyed
// by (object version, block index) and never by URL, and the single-flight
// of their loads.
//
// Memory: LRU under one global byte budget, split in shards to keep lock
// contention low. A block is pinned while anyone holds its shared_ptr
// (a reply on its way to the kernel): eviction skips it (its bytes stay
// counted), so readers never see memory vanish under them.
//
// Loads: a block that is not in memory is claimed by one loader (a Claim);
// everyone else who wants it meanwhile waits for that claim's outcome
// (Await). A claim is an object: it completes or fails its block when it
// goes out of scope, so a loader that returns early never leaves waiters
// hanging. What is behind the memory tier (the disk tier, a fleet's shared
// cache, the origin) is the loader's business: this class only knows
// memory.
//
// Thread-safety: all methods are safe to call concurrently.
// LOCK ORDERING: a shard's mutex and loading_mu_ are never held together;
// a Loading's mutex is taken with neither held.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "vodfs/cache/block.h"
#include "vodfs/util/mutex.h"
#include "vodfs/util/result.h"

namespace vodfs::cache {

struct BlockKey {
  std::string object;  // identity of one object version, e.g. "<ref key>#<fingerprint id>"
  uint64_t index = 0;  // block number
  std::string Flat() const { return object + '\x1f' + std::to_string(index); }
};

// A slower, larger tier behind the memory one (the disk cache, a shared
// cache of a fleet).
class SecondTier {
 public:
  virtual ~SecondTier() = default;
  virtual Block Get(const BlockKey& key) = 0;
  // The blocks [first, first+count) of `object` it holds, nullptr where it
  // holds none, read with as few I/Os as it can.
  virtual std::vector<Block> GetRun(const std::string& object, uint64_t first, uint64_t count);
  // Stores `block`, unless `still_valid` (when given) says otherwise at
  // the moment it is queued or written: a block whose object is condemned
  // meanwhile must not land after the condemnation dropped the object.
  // still_valid takes no lock of this tier.
  virtual void Put(const BlockKey& key, const Block& block, const std::function<bool()>& still_valid) = 0;
  void Put(const BlockKey& key, const Block& block) { Put(key, block, {}); }
};

struct CacheStats {
  uint64_t hits = 0;       // found in memory
  uint64_t misses = 0;     // claims made (loads started)
  uint64_t collapsed = 0;  // waits for another's load
  uint64_t abandoned = 0;  // claims that ended without an outcome
  uint64_t evictions = 0;
  uint64_t bytes = 0;  // resident in memory
  uint64_t blocks = 0;
  uint64_t pinned_bytes = 0;
};

class BlockCache {
  struct Loading;

 public:
  explicit BlockCache(uint64_t memory_budget, size_t shards = 16);
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // The right and the duty to load one block. Exactly one outcome reaches
  // the block's waiters: Complete, Fail, or (when the claim is destroyed
  // without either) a failure saying the load was abandoned.
  class Claim {
   public:
    Claim(Claim&& o) noexcept : cache_(o.cache_), key_(std::move(o.key_)), loading_(std::move(o.loading_)) {}
    Claim& operator=(Claim&& o) noexcept;
    Claim(const Claim&) = delete;
    Claim& operator=(const Claim&) = delete;
    ~Claim();

    const BlockKey& key() const { return key_; }
    // Caches `block` in memory and hands it to the waiters.
    void Complete(Block block);
    void Fail(const Error& why);
    bool pending() const { return loading_ != nullptr; }

   private:
    friend class BlockCache;
    Claim(BlockCache* cache, BlockKey key, std::shared_ptr<Loading> loading)
        : cache_(cache), key_(std::move(key)), loading_(std::move(loading)) {}
    void Finish(Result<Block> outcome);
    BlockCache* cache_;
    BlockKey key_;
    std::shared_ptr<Loading> loading_;
  };

  // The block if it is in memory, else nullptr.
  Block Lookup(const BlockKey& key);
  // True if the block is in memory or being loaded.
  bool PresentOrLoading(const BlockKey& key);
  void Insert(const BlockKey& key, Block block);

  // A claim on `key`, unless it is in memory or already being loaded.
  std::optional<Claim> TryClaim(const BlockKey& key);
  // The block if it is in memory or once its load ends (its error if the
  // load failed); nullptr if it is neither in memory nor being loaded.
  Result<Block> Await(const BlockKey& key);

  using Loader = std::function<Result<Block>()>;
  // The block, loading it with `load` when it is neither in memory nor
  // being loaded (one load per key at a time).
  Result<Block> GetOrLoad(const BlockKey& key, const Loader& load);

  // Drops every block of `object` from memory (pinned ones leave when
  // their holders let go).
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
    mutable Mutex mu;
    std::list<Entry> lru GUARDED_BY(mu);  // front = most recent
    std::unordered_map<std::string, std::list<Entry>::iterator> index GUARDED_BY(mu);
    uint64_t bytes GUARDED_BY(mu) = 0;
  };
  struct Loading {
    Mutex mu;
    CondVar cv;
    bool done GUARDED_BY(mu) = false;
    Result<Block> result GUARDED_BY(mu) = Error(ErrorCode::kInternal, "not loaded");
  };

  Shard& ShardFor(const std::string& flat);
  void InsertMemory(const std::string& flat, Block block);
  void EvictLocked(Shard& s, uint64_t shard_budget) REQUIRES(s.mu);
  // Ends the load of `flat` (from a claim).
  void Finish(const std::string& flat, const std::shared_ptr<Loading>& l, Result<Block> outcome);

  std::atomic<uint64_t> budget_;
  std::vector<std::unique_ptr<Shard>> shards_;
  Mutex loading_mu_;
  std::unordered_map<std::string, std::shared_ptr<Loading>> loading_ GUARDED_BY(loading_mu_);
  std::atomic<uint64_t> hits_{0}, misses_{0}, collapsed_{0}, abandoned_{0}, evictions_{0};
};

}  // namespace vodfs::cache
