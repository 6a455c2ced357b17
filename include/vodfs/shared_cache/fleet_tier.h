// FleetTier: the second tier of a fleet's mount, this machine's disk tier
// in front of the fleet's shared memcached tier, seen by the read path as
// one SecondTier and VersionStore.
//
// A block missing on disk is asked of memcached (and kept on disk when it
// is found there); a block arriving from the origin goes to both. What is
// remembered of versions (VersionStore) is the disk tier's; without a disk
// tier nothing is. An object that did not verify is dropped from both, so
// that no mount of the fleet reads its damaged blocks again.
//
// Thread-safety: safe to call concurrently (both tiers are).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vodfs/cache/block_cache.h"
#include "vodfs/cache/version_store.h"
#include "vodfs/shared_cache/memcached_tier.h"

namespace vodfs::shared_cache {

class FleetTier final : public cache::SecondTier, public cache::VersionStore {
 public:
  // `local` and `store` may be null (no disk tier); they are usually the
  // same object.
  FleetTier(cache::SecondTier* local, cache::VersionStore* store, MemcachedTier& shared)
      : local_(local), store_(store), shared_(shared) {}

  cache::Block Get(const cache::BlockKey& key) override;
  std::vector<cache::Block> GetRun(const std::string& object, uint64_t first, uint64_t count) override;
  using cache::SecondTier::Put;
  void Put(const cache::BlockKey& key, const cache::Block& block, const std::function<bool()>& still_valid) override;

  std::optional<cache::StoredVersion> Known(const std::string& ref) const override;
  void Describe(const std::string& object, const std::string& ref, const cache::StoredVersion& version) override;
  bool Verified(const std::string& object) const override;
  void MarkVerified(const std::string& object, uint64_t blocks) override;
  std::vector<std::pair<uint64_t, uint64_t>> BlockCrcs(const std::string& object, uint64_t blocks) const override;
  void DropObject(const std::string& object, uint64_t blocks) override;

 private:
  cache::SecondTier* local_;
  cache::VersionStore* store_;
  MemcachedTier& shared_;
};

}  // namespace vodfs::shared_cache
