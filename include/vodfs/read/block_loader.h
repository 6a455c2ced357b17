// BlockLoader: loads claimed blocks of one object version, and files every
// block that arrives.
//
// For the blocks a caller claimed (BlockCache::Claim), the local tier (the
// disk cache) is read first, one read per run of neighbours; the rest come
// from the origin, one ranged request per run of consecutive blocks,
// through a RunAssembler. Every block that arrives is noted with the
// Verifier before it is served; one that completes its object wrongly (or
// contradicts a block seen before) condemns the object: its blocks leave
// memory and the disk, the claim fails with kDataLoss (EIO), and nothing
// of it is filed from then on. Every claim ends completed or failed.
//
// Thread-safety: safe to share; each Load runs on its caller's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "vodfs/cache/block_cache.h"
#include "vodfs/cache/version_store.h"
#include "vodfs/fetch/fetcher.h"
#include "vodfs/read/assembler.h"
#include "vodfs/read/verifier.h"
#include "vodfs/resolve/media_ref.h"
#include "vodfs/util/mutex.h"
#include "vodfs/util/result.h"

namespace vodfs::read {

// One version of one media object, as its blocks are keyed.
struct ObjectVersion {
  resolve::MediaRef ref;
  fetch::Fingerprint fp;
  std::string object;  // the cache identity, "<ref key>#<fingerprint id>"
  // The verifier's failure count for the object when the file reading it
  // was pinned: a load for such a file whose object was condemned since
  // then keeps none of its bytes (they may come from the same faulty
  // path). Unset: counted when a load starts.
  std::optional<uint64_t> epoch;

  static ObjectVersion Of(const resolve::MediaRef& ref, const fetch::Fingerprint& fp) {
    return {ref, fp, ref.Key() + "#" + fp.Id(), std::nullopt};
  }
  // A playlist a signing CDN serves (auth_m3u8) is rewritten on the way,
  // so its bytes legitimately differ from the CRC-64 the origin stored:
  // playlists are not verified.
  ObjectId id() const {
    return {object, fp.size, ref.role == resolve::Role::kHlsPlaylist ? std::nullopt : fp.crc64, epoch};
  }
  uint64_t Blocks(uint64_t block_size) const { return (fp.size + block_size - 1) / block_size; }
};

struct LoaderStats {
  uint64_t local_blocks = 0;   // from the disk tier
  uint64_t origin_blocks = 0;  // from the origin
  uint64_t origin_runs = 0;    // requests
  uint64_t condemned = 0;      // objects dropped because they did not verify
};

class BlockLoader {
 public:
  using Claims = std::vector<cache::BlockCache::Claim>;

  // `local` and `store` may be null (no disk tier); they are usually the
  // same object.
  BlockLoader(fetch::RangeFetcher& fetcher, cache::BlockCache& cache, cache::SecondTier* local,
              cache::VersionStore* store, Verifier& verifier, uint64_t block_size);

  // Loads the claimed blocks (in ascending order) of `v`. Returns the
  // first failure (the claims it concerns are failed with it).
  Status Load(const ObjectVersion& v, Claims claims);

  // Files the blocks of one transfer: notes each with the verifier, then
  // completes the claim held for it (if any) and stores it in the local
  // tier. Blocks without a claim (someone else loads them) are noted only.
  class Filing final : public BlockSink {
   public:
    Filing(BlockLoader& loader, const ObjectVersion& v, uint64_t first, Claims claims);
    ~Filing() override;
    bool OnBlock(uint64_t index, cache::MutableBlock block) override;
    // Fails the claims not completed, with `why` (or with kDataLoss if the
    // object was condemned meanwhile).
    Status Finish(const Status& why);
    // Claims to add (a head part learns them once the version is known).
    void Adopt(Claims claims);

   private:
    BlockLoader& loader_;
    const ObjectVersion& v_;
    const uint64_t failures_at_start_;
    std::vector<std::optional<cache::BlockCache::Claim>> claims_;  // by index - first_
    uint64_t first_;
    bool condemned_ = false;
  };

  // Fetches blocks [first, first + claims.size()) of `v` from the origin
  // with one request (every index claimed, in order).
  Status FetchRun(const ObjectVersion& v, uint64_t first, Claims claims);

  // `v` did not verify: forget every block of it, say why.
  void Condemn(const ObjectVersion& v, const Verifier::Outcome& o);
  // Returns once `epoch` condemnations of `object` (the verifier's failure
  // count a read was pinned at) have dropped its blocks from memory and
  // disk: a read of the next round never finds a block of an earlier one.
  void AwaitSettled(const std::string& object, uint64_t epoch);

  cache::BlockCache& cache() { return cache_; }
  cache::VersionStore* store() { return store_; }
  Verifier& verifier() { return verifier_; }
  uint64_t block_size() const { return bs_; }
  LoaderStats Stats() const;

 private:
  // Orders a block's arrival in the memory tier against its object's
  // condemnation: a block checked as valid under it is in memory before
  // Condemn erases the object, or is checked after the verifier counted
  // the failure and kept out.
  Mutex arrival_mu_;
  CondVar settled_cv_;
  // Condemnations carried out, per object (only condemned objects appear).
  std::unordered_map<std::string, uint64_t> settled_ GUARDED_BY(arrival_mu_);
  fetch::RangeFetcher& fetcher_;
  cache::BlockCache& cache_;
  cache::SecondTier* local_;
  cache::VersionStore* store_;
  Verifier& verifier_;
  const uint64_t bs_;
  std::atomic<uint64_t> local_blocks_{0}, origin_blocks_{0}, origin_runs_{0}, condemned_{0};
};

}  // namespace vodfs::read
