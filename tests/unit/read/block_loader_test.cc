#include "vodfs/read/block_loader.h"

#include <gtest/gtest.h>

#include <thread>

#include "support/fakes.h"
#include "support/temp_dir.h"
#include "vodfs/cache/disk_tier.h"

namespace vodfs::read {
namespace {

using testing::FakeOrigin;

constexpr uint64_t kBs = 4096;

class OriginResolver final : public resolve::UrlResolver {
 public:
  explicit OriginResolver(FakeOrigin& o) : origin_(o) {}
  Result<std::vector<Resolved>> Resolve(const resolve::MediaRef& ref) override {
    return std::vector<Resolved>{{ref, origin_.Sign(ref.id)}};
  }

 private:
  FakeOrigin& origin_;
};

class BlockLoaderTest : public ::testing::Test {
 protected:
  BlockLoaderTest() : resolver_(origin_), broker_(resolver_, clock_, nullptr, {}), fetcher_(origin_, broker_, clock_) {
    data_.resize(20 * kBs + 300);
    for (size_t i = 0; i < data_.size(); ++i) data_[i] = static_cast<char>(i * 13 + (i >> 7));
    origin_.Put("obj", data_);
    ref_.id = "obj";
    OpenDisk();
  }
  void OpenDisk() {
    loader_.reset();
    verifier_.reset();
    disk_.reset();
    cache::DiskTierOptions o;
    o.dir = dir_.path() + "/cache";
    o.block_size = kBs;
    o.blocks_per_extent = 8;
    auto d = cache::DiskTier::Open(o);
    ASSERT_TRUE(d.ok()) << d.error().ToString();
    disk_ = std::move(d).value();
    verifier_ = std::make_unique<Verifier>(kBs, disk_.get());
    cache_ = std::make_unique<cache::BlockCache>(64 << 20, 1);
    loader_ = std::make_unique<BlockLoader>(fetcher_, *cache_, disk_.get(), disk_.get(), *verifier_, kBs);
  }
  ObjectVersion Version() {
    auto fp = fetcher_.Probe(ref_);
    EXPECT_TRUE(fp.ok());
    return ObjectVersion::Of(ref_, *fp);
  }
  BlockLoader::Claims Claim(const ObjectVersion& v, uint64_t first, uint64_t n) {
    BlockLoader::Claims c;
    for (uint64_t b = first; b < first + n; ++b) {
      auto claim = cache_->TryClaim({v.object, b});
      EXPECT_TRUE(claim) << b;
      if (claim) c.push_back(std::move(*claim));
    }
    return c;
  }
  std::string Read(const ObjectVersion& v, uint64_t b) {
    auto r = cache_->Await({v.object, b});
    if (!r.ok() || !*r) return "<missing>";
    return std::string((*r)->view());
  }
  std::string Want(uint64_t b) { return data_.substr(b * kBs, std::min<uint64_t>(kBs, data_.size() - b * kBs)); }

  testing::TempDir dir_;
  FakeOrigin origin_;
  FakeClock clock_;
  OriginResolver resolver_;
  resolve::UrlBroker broker_;
  fetch::RangeFetcher fetcher_;
  resolve::MediaRef ref_;
  std::string data_;
  std::unique_ptr<cache::DiskTier> disk_;
  std::unique_ptr<Verifier> verifier_;
  std::unique_ptr<cache::BlockCache> cache_;
  std::unique_ptr<BlockLoader> loader_;
};

TEST_F(BlockLoaderTest, ARunIsOneRequestAndItsBlocksAreExactAndStored) {
  const ObjectVersion v = Version();
  ASSERT_TRUE(v.fp.crc64);
  const int before = origin_.requests();
  ASSERT_TRUE(loader_->Load(v, Claim(v, 2, 6)).ok());
  EXPECT_EQ(origin_.requests() - before, 1);
  for (uint64_t b = 2; b < 8; ++b) EXPECT_EQ(Read(v, b), Want(b)) << b;
  for (uint64_t b = 2; b < 8; ++b) EXPECT_TRUE(disk_->Has({v.object, b})) << b;
  EXPECT_EQ(loader_->Stats().origin_runs, 1u);
  // Evicted from memory, the same blocks come from the disk, in one read.
  cache_->EraseObject(v.object);
  ASSERT_TRUE(loader_->Load(v, Claim(v, 2, 6)).ok());
  EXPECT_EQ(origin_.requests() - before, 1);
  EXPECT_EQ(loader_->Stats().local_blocks, 6u);
  for (uint64_t b = 2; b < 8; ++b) EXPECT_EQ(Read(v, b), Want(b)) << b;
}

TEST_F(BlockLoaderTest, AByteDamagedOnTheWayFailsTheReadThatCompletesTheObjectAndIsForgotten) {
  const ObjectVersion v = Version();
  const uint64_t n = v.Blocks(kBs);
  origin_.AddFault({.key = "obj", .flip_at = static_cast<int64_t>(7 * kBs + 5)});
  // Every block but the last: nothing can tell yet.
  ASSERT_TRUE(loader_->Load(v, Claim(v, 0, n - 1)).ok());
  EXPECT_NE(Read(v, 7), Want(7));  // (a partial read cannot be verified)
  // The last one completes the object: its CRC-64 is not the origin's.
  Status s = loader_->Load(v, Claim(v, n - 1, 1));
  EXPECT_EQ(s.code(), ErrorCode::kDataLoss);
  auto last = cache_->Await({v.object, n - 1});
  EXPECT_FALSE(last.ok() && *last);  // failed, not served
  EXPECT_EQ(verifier_->Failures(v.object), 1u);
  EXPECT_EQ(loader_->Stats().condemned, 1u);
  // Nothing of it is left, in memory or on disk.
  for (uint64_t b = 0; b < n; ++b) {
    EXPECT_FALSE(cache_->Lookup({v.object, b})) << b;
    EXPECT_FALSE(disk_->Has({v.object, b})) << b;
  }
  // The fault gone, the object is read again, right, and verified.
  ASSERT_TRUE(loader_->Load(v, Claim(v, 0, n)).ok());
  for (uint64_t b = 0; b < n; ++b) EXPECT_EQ(Read(v, b), Want(b)) << b;
  EXPECT_TRUE(disk_->Verified(v.object));
}

TEST_F(BlockLoaderTest, AWrongBlockLeftOnDiskByAnEarlierMountIsCaughtWhenTheObjectCompletes) {
  ObjectVersion v = Version();
  const uint64_t n = v.Blocks(kBs);
  disk_->Describe(v.object, ref_.Key(), {v.fp.size, v.fp.etag, v.fp.last_modified, v.fp.crc64});
  origin_.AddFault({.key = "obj", .flip_at = static_cast<int64_t>(3 * kBs)});
  ASSERT_TRUE(loader_->Load(v, Claim(v, 0, 6)).ok());  // a partial read, damaged
  OpenDisk();  // a remount on the same cache
  v = Version();
  // The rest from the origin (right), the first six from the disk (one
  // wrong): the object does not verify, and the wrong block is gone.
  Status s = loader_->Load(v, Claim(v, 6, n - 6));
  EXPECT_EQ(s.code(), ErrorCode::kDataLoss);
  for (uint64_t b = 0; b < n; ++b) EXPECT_FALSE(disk_->Has({v.object, b})) << b;
  ASSERT_TRUE(loader_->Load(v, Claim(v, 0, n)).ok());
  EXPECT_EQ(Read(v, 3), Want(3));
  EXPECT_TRUE(disk_->Verified(v.object));
}

TEST_F(BlockLoaderTest, AFailedFetchFailsItsClaimsAndWaitersHearIt) {
  const ObjectVersion v = Version();
  origin_.AddFault({.key = "obj", .status = 404});
  Status s = loader_->Load(v, Claim(v, 0, 3));
  EXPECT_EQ(s.code(), ErrorCode::kStale);
  for (uint64_t b = 0; b < 3; ++b) {
    auto r = cache_->Await({v.object, b});
    // Failed claims leave nothing behind: a later read tries again.
    EXPECT_TRUE(r.ok() && !*r) << b;
  }
}

}  // namespace
}  // namespace vodfs::read
