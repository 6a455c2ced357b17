#include "vodfs/shared_cache/fleet_tier.h"

#include <algorithm>

namespace vodfs::shared_cache {

cache::Block FleetTier::Get(const cache::BlockKey& key) {
  if (local_) {
    if (cache::Block b = local_->Get(key)) return b;
  }
  cache::Block b = shared_.Get(key.object, key.index);
  if (b && local_) local_->Put(key, b);
  return b;
}

std::vector<cache::Block> FleetTier::GetRun(const std::string& object, uint64_t first, uint64_t count) {
  std::vector<cache::Block> out = local_ ? local_->GetRun(object, first, count) : std::vector<cache::Block>(count);
  // The holes, from memcached in one multi-get of the span they cover.
  uint64_t lo = count, hi = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (!out[i]) {
      lo = std::min(lo, i);
      hi = i + 1;
    }
  }
  if (lo >= hi) return out;
  std::vector<cache::Block> shared = shared_.GetRun(object, first + lo, hi - lo);
  for (uint64_t i = lo; i < hi && i - lo < shared.size(); ++i) {
    if (out[i] || !shared[i - lo]) continue;
    out[i] = std::move(shared[i - lo]);
    if (local_) local_->Put({object, first + i}, out[i]);
  }
  return out;
}

void FleetTier::Put(const cache::BlockKey& key, const cache::Block& block, const std::function<bool()>& still_valid) {
  if (local_) local_->Put(key, block, still_valid);
  // memcached has no notion of the condemnation: checked now, and a block
  // that slips past it is erased with its object by DropObject.
  if (!still_valid || still_valid()) shared_.Put(key.object, key.index, block);
}

std::optional<cache::StoredVersion> FleetTier::Known(const std::string& ref) const {
  return store_ ? store_->Known(ref) : std::nullopt;
}

void FleetTier::Describe(const std::string& object, const std::string& ref, const cache::StoredVersion& version) {
  if (store_) store_->Describe(object, ref, version);
}

bool FleetTier::Verified(const std::string& object) const { return store_ && store_->Verified(object); }

void FleetTier::MarkVerified(const std::string& object, uint64_t blocks) {
  if (store_) store_->MarkVerified(object, blocks);
}

std::vector<std::pair<uint64_t, uint64_t>> FleetTier::BlockCrcs(const std::string& object, uint64_t blocks) const {
  return store_ ? store_->BlockCrcs(object, blocks) : std::vector<std::pair<uint64_t, uint64_t>>{};
}

void FleetTier::DropObject(const std::string& object, uint64_t blocks) {
  if (store_) store_->DropObject(object, blocks);
  for (uint64_t i = 0; i < blocks; ++i) shared_.Erase(object, i);
}

}  // namespace vodfs::shared_cache
