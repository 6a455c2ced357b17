#include "vodfs/cache/block_cache.h"

#include <functional>

namespace vodfs::cache {

std::vector<Block> SecondTier::GetRun(const std::string& object, uint64_t first, uint64_t count) {
  std::vector<Block> out;
  out.reserve(count);
  for (uint64_t i = 0; i < count; ++i) out.push_back(Get({object, first + i}));
  return out;
}

BlockCache::BlockCache(uint64_t memory_budget, size_t shards) : budget_(memory_budget) {
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

void BlockCache::InsertMemory(const std::string& flat, Block block) {
  Shard& s = ShardFor(flat);
  MutexLock lock(&s.mu);
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
  Shard& s = ShardFor(flat);
  MutexLock lock(&s.mu);
  auto it = s.index.find(flat);
  if (it == s.index.end()) return nullptr;
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  ++hits_;
  return it->second->block;
}

bool BlockCache::PresentOrLoading(const BlockKey& key) {
  const std::string flat = key.Flat();
  {
    Shard& s = ShardFor(flat);
    MutexLock lock(&s.mu);
    if (s.index.count(flat)) return true;
  }
  MutexLock lock(&loading_mu_);
  return loading_.count(flat) > 0;
}

void BlockCache::Insert(const BlockKey& key, Block block) {
  if (block) InsertMemory(key.Flat(), std::move(block));
}

std::optional<BlockCache::Claim> BlockCache::TryClaim(const BlockKey& key) {
  const std::string flat = key.Flat();
  {
    Shard& s = ShardFor(flat);
    MutexLock lock(&s.mu);
    if (s.index.count(flat)) return std::nullopt;
  }
  auto l = std::make_shared<Loading>();
  {
    MutexLock lock(&loading_mu_);
    if (!loading_.emplace(flat, l).second) return std::nullopt;
  }
  ++misses_;
  return Claim(this, key, std::move(l));
}

void BlockCache::Finish(const std::string& flat, const std::shared_ptr<Loading>& l, Result<Block> outcome) {
  if (outcome.ok() && *outcome) InsertMemory(flat, *outcome);
  {
    MutexLock lock(&loading_mu_);
    auto it = loading_.find(flat);
    if (it != loading_.end() && it->second == l) loading_.erase(it);
  }
  {
    MutexLock lock(&l->mu);
    l->result = std::move(outcome);
    l->done = true;
  }
  l->cv.SignalAll();
}

BlockCache::Claim& BlockCache::Claim::operator=(Claim&& o) noexcept {
  if (this != &o) {
    if (loading_) Finish(Error(ErrorCode::kAborted, "the load of a block was abandoned"));
    cache_ = o.cache_;
    key_ = std::move(o.key_);
    loading_ = std::move(o.loading_);
  }
  return *this;
}

BlockCache::Claim::~Claim() {
  if (loading_) {
    ++cache_->abandoned_;
    Finish(Error(ErrorCode::kAborted, "the load of a block was abandoned"));
  }
}

void BlockCache::Claim::Finish(Result<Block> outcome) {
  std::shared_ptr<Loading> l = std::move(loading_);
  loading_.reset();
  cache_->Finish(key_.Flat(), l, std::move(outcome));
}

void BlockCache::Claim::Complete(Block block) {
  if (!loading_) return;
  if (!block) {
    Finish(Error(ErrorCode::kInternal, "a load completed without a block"));
    return;
  }
  Finish(std::move(block));
}

void BlockCache::Claim::Fail(const Error& why) {
  if (loading_) Finish(why);
}

Result<Block> BlockCache::Await(const BlockKey& key) {
  if (Block b = Lookup(key)) return b;
  const std::string flat = key.Flat();
  std::shared_ptr<Loading> l;
  {
    MutexLock lock(&loading_mu_);
    auto it = loading_.find(flat);
    if (it == loading_.end()) return Block();
    l = it->second;
  }
  ++collapsed_;
  MutexLock lock(&l->mu);
  while (!l->done) l->cv.Wait(&l->mu);
  return l->result;
}

Result<Block> BlockCache::GetOrLoad(const BlockKey& key, const Loader& load) {
  while (true) {
    if (Block b = Lookup(key)) return b;
    if (auto claim = TryClaim(key)) {
      Result<Block> r = load();
      if (r.ok() && *r) {
        claim->Complete(*r);
      } else {
        claim->Fail(r.ok() ? Error(ErrorCode::kInternal, "a load returned no block") : r.error());
      }
      return r;
    }
    auto waited = Await(key);
    if (!waited.ok() || *waited) return waited;
    // Neither in memory nor loading any more (evicted at once): again.
  }
}

void BlockCache::EraseObject(const std::string& object) {
  const std::string prefix = object + '\x1f';
  for (auto& sp : shards_) {
    MutexLock lock(&sp->mu);
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
    MutexLock lock(&sp->mu);
    EvictLocked(*sp, bytes / shards_.size());
  }
}

CacheStats BlockCache::Stats() const {
  CacheStats s;
  s.hits = hits_;
  s.misses = misses_;
  s.collapsed = collapsed_;
  s.abandoned = abandoned_;
  s.evictions = evictions_;
  for (const auto& sp : shards_) {
    MutexLock lock(&sp->mu);
    s.bytes += sp->bytes;
    s.blocks += sp->lru.size();
    for (const auto& e : sp->lru) {
      if (e.block.use_count() > 1) s.pinned_bytes += e.block->size();
    }
  }
  return s;
}

}  // namespace vodfs::cache
