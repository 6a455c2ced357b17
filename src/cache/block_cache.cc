#include "vodfs/cache/block_cache.h"

#include <functional>

namespace vodfs::cache {

BlockCache::BlockCache(uint64_t memory_budget, SecondTier* second, size_t shards)
    : budget_(memory_budget), second_(second) {
  if (shards == 0) shards = 1;
  for (size_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>());
}

BlockCache::Shard& BlockCache::ShardFor(const std::string& flat) {
  return *shards_[std::hash<std::string>()(flat) % shards_.size()];
}

void BlockCache::EvictLocked(Shard& s, uint64_t shard_budget) {
  // From the cold end, skipping pinned blocks (held by a reader).
  auto it = s.lru.end();
  while (s.bytes > shard_budget && it != s.lru.begin()) {
    --it;
    if (it->block.use_count() > 1) continue;
    s.bytes -= it->block->size();
    s.index.erase(it->flat);
    it = s.lru.erase(it);
    ++evictions_;
  }
}

Block BlockCache::LookupMemory(const std::string& flat) {
  Shard& s = ShardFor(flat);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.index.find(flat);
  if (it == s.index.end()) return nullptr;
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  return it->second->block;
}

void BlockCache::InsertMemory(const std::string& flat, Block block) {
  Shard& s = ShardFor(flat);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.index.find(flat);
  if (it != s.index.end()) {
    s.bytes -= it->second->block->size();
    s.lru.erase(it->second);
    s.index.erase(it);
  }
  s.bytes += block->size();
  s.lru.push_front(Entry{flat, std::move(block)});
  s.index.emplace(flat, s.lru.begin());
  EvictLocked(s, budget_.load() / shards_.size());
}

Block BlockCache::Lookup(const BlockKey& key) {
  const std::string flat = key.Flat();
  if (Block b = LookupMemory(flat)) {
    ++hits_;
    return b;
  }
  if (second_) {
    if (Block b = second_->Get(key)) {
      ++second_hits_;
      InsertMemory(flat, b);
      return b;
    }
  }
  return nullptr;
}

bool BlockCache::PresentOrLoading(const BlockKey& key) {
  const std::string flat = key.Flat();
  {
    Shard& s = ShardFor(flat);
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.index.count(flat)) return true;
  }
  std::lock_guard<std::mutex> lock(loading_mu_);
  return loading_.count(flat) > 0;
}

void BlockCache::Insert(const BlockKey& key, Block block) {
  if (!block) return;
  InsertMemory(key.Flat(), block);
  if (second_) second_->Put(key, block);
}

bool BlockCache::TryBeginLoad(const BlockKey& key) {
  const std::string flat = key.Flat();
  {
    Shard& s = ShardFor(flat);
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.index.count(flat)) return false;
  }
  std::lock_guard<std::mutex> lock(loading_mu_);
  if (loading_.count(flat)) return false;
  loading_.emplace(flat, std::make_shared<Loading>());
  ++misses_;
  return true;
}

Block BlockCache::FromSecondTier(const BlockKey& key) {
  if (!second_) return nullptr;
  Block b = second_->Get(key);
  if (b) ++second_hits_;
  return b;
}

void BlockCache::CompleteLoad(const BlockKey& key, Result<Block> result, bool from_second_tier) {
  const std::string flat = key.Flat();
  if (result.ok() && *result) {
    if (from_second_tier) {
      InsertMemory(flat, *result);
    } else {
      Insert(key, *result);
    }
  }
  std::shared_ptr<Loading> l;
  {
    std::lock_guard<std::mutex> lock(loading_mu_);
    auto it = loading_.find(flat);
    if (it == loading_.end()) return;
    l = it->second;
    loading_.erase(it);
  }
  {
    std::lock_guard<std::mutex> lock(l->mu);
    l->result = std::move(result);
    l->done = true;
  }
  l->cv.notify_all();
}

Result<Block> BlockCache::Await(const BlockKey& key) {
  const std::string flat = key.Flat();
  if (Block b = LookupMemory(flat)) {
    ++hits_;
    return b;
  }
  std::shared_ptr<Loading> l;
  {
    std::lock_guard<std::mutex> lock(loading_mu_);
    auto it = loading_.find(flat);
    if (it == loading_.end()) return Block();
    l = it->second;
  }
  ++collapsed_;
  std::unique_lock<std::mutex> lock(l->mu);
  l->cv.wait(lock, [&l] { return l->done; });
  return l->result;
}

Result<Block> BlockCache::GetOrLoad(const BlockKey& key, const Loader& load) {
  while (true) {
    if (Block b = Lookup(key)) return b;
    if (TryBeginLoad(key)) {
      if (Block b = FromSecondTier(key)) {
        CompleteLoad(key, b, true);
        return b;
      }
      Result<std::string> data = load();
      Result<Block> result = data.ok() ? Result<Block>(std::make_shared<const std::string>(std::move(data).value()))
                                       : Result<Block>(data.error());
      CompleteLoad(key, result);
      return result;
    }
    auto waited = Await(key);
    if (!waited.ok() || *waited) return waited;
    // Neither cached nor loading any more (evicted at once): try again.
  }
}

void BlockCache::EraseObject(const std::string& object) {
  const std::string prefix = object + '\x1f';
  for (auto& sp : shards_) {
    std::lock_guard<std::mutex> lock(sp->mu);
    for (auto it = sp->lru.begin(); it != sp->lru.end();) {
      if (it->flat.compare(0, prefix.size(), prefix) == 0) {
        sp->bytes -= it->block->size();
        sp->index.erase(it->flat);
        it = sp->lru.erase(it);
      } else {
        ++it;
      }
    }
  }
}

void BlockCache::SetBudget(uint64_t bytes) {
  budget_ = bytes;
  for (auto& sp : shards_) {
    std::lock_guard<std::mutex> lock(sp->mu);
    EvictLocked(*sp, bytes / shards_.size());
  }
}

CacheStats BlockCache::Stats() const {
  CacheStats s;
  s.hits = hits_;
  s.second_tier_hits = second_hits_;
  s.misses = misses_;
  s.collapsed = collapsed_;
  s.evictions = evictions_;
  for (const auto& sp : shards_) {
    std::lock_guard<std::mutex> lock(sp->mu);
    s.bytes += sp->bytes;
    s.blocks += sp->lru.size();
    for (const auto& e : sp->lru) {
      if (e.block.use_count() > 1) s.pinned_bytes += e.block->size();
    }
  }
  return s;
}

}  // namespace vodfs::cache
