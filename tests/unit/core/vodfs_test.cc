#include "vodfs/core/vodfs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <random>

#include "support/fs_harness.h"
#include "support/temp_dir.h"

namespace vodfs::core {
namespace {

using testing::Bytes;
using testing::FsHarness;

TEST(VodFsTest, RandomReadsMatchTheOrigin) {
  FsHarness h;
  h.AddVideo("v1", "A", 5'000'000);
  const std::string want = Bytes("src/v1", 5'000'000);
  auto ino = h.Resolve("videos/A [v1]/source.mp4");
  ASSERT_TRUE(ino.ok()) << ino.error().ToString();
  auto o = h.fs->Open(*ino, O_RDONLY);
  ASSERT_TRUE(o.ok());
  std::mt19937_64 rng(7);
  std::string buf(300000, '\0');
  for (int i = 0; i < 300; ++i) {
    uint64_t off = rng() % 5'100'000;
    size_t len = 1 + rng() % 300000;
    auto n = h.fs->Read(o->fh, off, len, buf.data());
    ASSERT_TRUE(n.ok()) << n.error().ToString();
    const size_t expect = off >= want.size() ? 0 : std::min<size_t>(len, want.size() - off);
    ASSERT_EQ(*n, expect) << off << "+" << len;
    ASSERT_EQ(std::string_view(buf.data(), *n), std::string_view(want).substr(std::min<uint64_t>(off, want.size()), *n))
        << off << "+" << len;
  }
  h.fs->Release(o->fh);
  EXPECT_EQ(h.ReadAll("videos/A [v1]/LD.mp4").value(), Bytes("ld/v1", 2'500'000));
}

TEST(VodFsTest, RandomSmallReadsFetchOnlyWhatIsAsked) {
  FsHarness h;
  h.AddVideo("v1", "A", 64 << 20);
  auto ino = h.Resolve("videos/A [v1]/source.mp4");
  auto o = h.fs->Open(*ino, O_RDONLY);
  std::mt19937_64 rng(3);
  std::string buf(64 << 10, '\0');
  const uint64_t before = h.origin.bytes_sent();
  const int reads = 100;
  for (int i = 0; i < reads; ++i) {
    uint64_t off = (rng() % 1024) * (64 << 10);  // 64 KiB-aligned, like fio
    ASSERT_TRUE(h.fs->Read(o->fh, off, buf.size(), buf.data()).ok());
  }
  EXPECT_LE(h.origin.bytes_sent() - before, 2ULL * reads * (64 << 10));
  h.fs->Release(o->fh);
}

TEST(VodFsTest, SequentialReadsReadAheadInFewLargeRequests) {
  // The head in one request and no early tail: this counts read-ahead's
  // requests (the head's parts have their own test).
  read::ReaderOptions ro;
  ro.head.parts = 1;
  ro.head.tail = 0;
  FsHarness h({}, {}, /*threads=*/true, nullptr, "", ro);
  h.AddVideo("v1", "A", 32 << 20);
  auto data = h.ReadAll("videos/A [v1]/source.mp4");
  ASSERT_TRUE(data.ok()) << data.error().ToString();
  EXPECT_EQ(*data, Bytes("src/v1", 32 << 20));
  // 256 kernel-sized reads became far fewer range requests, and nothing
  // was fetched twice.
  EXPECT_LT(h.origin.ranges().size(), 60u);
  EXPECT_LE(h.origin.bytes_sent(), (32ULL << 20) + (1 << 20));
  EXPECT_GT(h.fs->Stats().readahead_blocks, 0u);
}

TEST(VodFsTest, ReadAheadOfLargeReadsIsFewRequests) {
  // 1 MiB reads (a kernel with a large read-ahead) consume each read-ahead
  // span about as it lands; every read that has to wait for its bytes
  // doubles the window (PlanReadAheadTest has the rule itself).
  FsHarness h({}, {}, /*threads=*/true);
  h.AddVideo("v1", "A", 32 << 20);
  auto data = h.ReadAll("videos/A [v1]/source.mp4", 1 << 20);
  ASSERT_TRUE(data.ok()) << data.error().ToString();
  EXPECT_EQ(*data, Bytes("src/v1", 32 << 20));
  // A window stuck at 1 MiB would take 4 parts per MiB: 128 requests.
  std::string seen;
  for (const auto& r : h.origin.ranges()) seen += r + " ";
  EXPECT_LT(h.origin.ranges().size(), 64u) << seen;
  EXPECT_LE(h.origin.bytes_sent(), (32ULL << 20) + (1 << 20)) << seen;
}

TEST(VodFsTest, TheHeadGoesOutInPartsWithTheTailOfAnMp4) {
  FsHarness h({}, {}, /*threads=*/true);
  const uint64_t size = 32 << 20;
  h.AddVideo("v1", "A", size);
  const std::string want = Bytes("src/v1", size);
  auto ino = h.Resolve("videos/A [v1]/source.mp4");
  ASSERT_TRUE(ino.ok());
  const size_t probes = h.origin.ranges().size();  // the sizes of the directory's files
  const uint64_t probed = h.origin.bytes_sent();
  // The open asks for the head (its first block and the prefetch after
  // it); the first read, of that block, finds it on the way.
  auto o = h.fs->Open(*ino, O_RDONLY);
  ASSERT_TRUE(o.ok());
  std::string buf(64 << 10, '\0');
  ASSERT_EQ(h.fs->Read(o->fh, 0, buf.size(), buf.data()).value(), buf.size());
  EXPECT_EQ(buf, want.substr(0, buf.size()));
  // What a demuxer reads next: the rest of the head and the end. Every
  // block was claimed by a part when the first answer arrived, so these
  // reads wait for the parts and fetch nothing themselves.
  const read::HeadOptions defaults;
  const uint64_t head_end = buf.size() + defaults.prefetch;
  const uint64_t tail_from = size - defaults.tail;
  std::string rest(head_end - buf.size(), '\0');
  ASSERT_EQ(h.fs->Read(o->fh, buf.size(), rest.size(), rest.data()).value(), rest.size());
  EXPECT_EQ(rest, want.substr(buf.size(), rest.size()));
  std::string end(size - tail_from, '\0');
  ASSERT_EQ(h.fs->Read(o->fh, tail_from, end.size(), end.data()).value(), end.size());
  EXPECT_EQ(end, want.substr(tail_from));
  h.fs->Release(o->fh);
  auto ranges = h.origin.ranges();
  ranges.erase(ranges.begin(), ranges.begin() + static_cast<std::ptrdiff_t>(probes));
  std::sort(ranges.begin(), ranges.end(), [](const std::string& a, const std::string& b) {
    return std::stoull(a) < std::stoull(b);
  });
  // 25 blocks (the first and 1.5 MiB) in parts of at least 192 KiB, at
  // most 8: 4 blocks each, the last one short.
  std::vector<std::string> expect;
  for (uint64_t from = 0; from < head_end; from += 256 << 10) {
    expect.push_back(std::to_string(from) + "-" + std::to_string(std::min<uint64_t>(from + (256 << 10), head_end) - 1));
  }
  expect.push_back(std::to_string(tail_from) + "-" + std::to_string(size - 1));
  ASSERT_EQ(expect.size(), 8u);
  EXPECT_EQ(expect[6], "1572864-1638399");
  EXPECT_EQ(ranges, expect);
  EXPECT_EQ(h.origin.bytes_sent() - probed, head_end + (size - tail_from));
}

TEST(VodFsTest, AHeadPartAnsweredByAnotherVersionFailsNeverMixes) {
  FsHarness h({}, {}, /*threads=*/true);
  h.AddVideo("v1", "A", 32 << 20);
  const std::string want = Bytes("src/v1", 32 << 20);
  // Requests from the second part's offset (256 KiB with the default
  // parts) on are answered by a new version of the object: the part's, and
  // the read's own should it find the part's blocks already failed.
  constexpr uint64_t kSecond = 256 << 10;
  h.origin.AddFault({.key = "src/v1", .other_data = Bytes("new", 32 << 20), .range_from = kSecond, .times = 100});
  auto ino = h.Resolve("videos/A [v1]/source.mp4");
  auto o = h.fs->Open(*ino, O_RDONLY);
  ASSERT_TRUE(o.ok());
  std::string buf(64 << 10, '\0');
  ASSERT_TRUE(h.fs->Read(o->fh, 0, buf.size(), buf.data()).ok());
  EXPECT_EQ(buf, want.substr(0, buf.size()));
  auto r = h.fs->Read(o->fh, kSecond, buf.size(), buf.data());
  ASSERT_FALSE(r.ok()) << "served " << (buf == want.substr(kSecond, buf.size()) ? "the first" : "another")
                       << " version's bytes; origin ranges: " << ::testing::PrintToString(h.origin.ranges());
  EXPECT_EQ(r.code(), ErrorCode::kStale) << r.error().ToString();
  h.fs->Release(o->fh);
}

TEST(VodFsTest, AVersionChangeFailsTheReadNeverMixes) {
  FsHarness h;
  h.AddVideo("v1", "A", 4 << 20);
  auto ino = h.Resolve("videos/A [v1]/source.mp4");
  auto o = h.fs->Open(*ino, O_RDONLY);
  std::string buf(65536, '\0');
  ASSERT_TRUE(h.fs->Read(o->fh, 0, buf.size(), buf.data()).ok());
  EXPECT_EQ(buf, Bytes("src/v1", 65536));
  h.origin.Put("src/v1", Bytes("new", 4 << 20));  // replaced: same size, new ETag
  auto r = h.fs->Read(o->fh, 3 << 20, buf.size(), buf.data());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), ErrorCode::kStale);
  EXPECT_FALSE(h.fs->Read(o->fh, 0, 10, buf.data()).ok());  // the handle stays failed
  EXPECT_FALSE(h.notifier.inodes.empty());                 // the kernel drops its pages
  h.fs->Release(o->fh);
  auto fresh = h.ReadAll("videos/A [v1]/source.mp4");
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(*fresh, Bytes("new", 4 << 20));
}

TEST(VodFsTest, AnObjectDamagedOnTheWayFailsItsReadAndTheKernelForgetsItsPages) {
  FsHarness h;
  h.AddVideo("v1", "A", 1 << 20);
  const std::string path = "videos/A [v1]/source.mp4";
  // One bit flipped in transit; the origin's CRC-64 header is the true one.
  h.origin.AddFault({.key = "src/v1", .range_from = 262144, .flip_at = 300000, .times = 1});
  auto ino = *h.Resolve(path);
  auto o = h.fs->Open(ino, O_RDONLY);
  ASSERT_TRUE(o.ok());
  std::string buf(128 << 10, '\0');
  Status last;
  for (uint64_t off = 0; off < (1 << 20) && last.ok(); off += buf.size()) {
    auto n = h.fs->Read(o->fh, off, buf.size(), buf.data());
    if (!n.ok()) last = n.status();
  }
  ASSERT_FALSE(last.ok()) << "a damaged object was read to its end";
  EXPECT_EQ(last.code(), ErrorCode::kDataLoss);
  EXPECT_NE(std::find(h.notifier.inodes.begin(), h.notifier.inodes.end(), ino), h.notifier.inodes.end());
  EXPECT_FALSE(h.fs->Read(o->fh, 0, 10, buf.data()).ok());  // the open file stays failed
  h.fs->Release(o->fh);
  EXPECT_EQ(h.fs->Stats().corrupt_reads, 2u);
  // A new open drops the kernel's pages and reads the true bytes.
  auto again = h.fs->Open(ino, O_RDONLY);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->keep_cache);
  h.fs->Release(again->fh);
  EXPECT_EQ(h.ReadAll(path).value(), Bytes("src/v1", 1 << 20));
}

TEST(VodFsTest, TheOriginWinsOverTheApiSize) {
  FsHarness h;
  h.AddVideo("v1", "A", 100000);
  h.origin.Put("src/v1", Bytes("src/v1", 120000));  // the API is behind
  auto data = h.ReadAll("videos/A [v1]/source.mp4");
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->size(), 120000u);
  auto attr = h.fs->GetAttr(*h.Resolve("videos/A [v1]/source.mp4"));
  EXPECT_EQ(attr->size, 120000u);
  EXPECT_FALSE(h.notifier.inodes.empty());
}

TEST(VodFsTest, AFirstReadInTheApiLastBlockGetsTheOriginsWholeBlock) {
  // The API is behind: its size ends inside block 1, the origin's does not.
  FsHarness h;
  h.AddVideo("v1", "A", 100000);
  const std::string want = Bytes("src/v1", 150000);
  h.origin.Put("src/v1", want);
  auto ino = h.Resolve("videos/A [v1]/source.mp4");
  auto o = h.fs->Open(*ino, O_RDONLY);
  std::string buf(80000, '\0');
  auto n = h.fs->Read(o->fh, 70000, buf.size(), buf.data());
  ASSERT_TRUE(n.ok()) << n.error().ToString();
  ASSERT_EQ(*n, 80000u);
  EXPECT_EQ(buf, want.substr(70000, 80000));
  h.fs->Release(o->fh);
}

TEST(VodFsTest, KernelCacheIsKeptOnlyForTheSameVersion) {
  FsHarness h;
  h.AddVideo("v1", "A", 100000);
  auto ino = *h.Resolve("videos/A [v1]/source.mp4");
  auto first = h.fs->Open(ino, O_RDONLY);
  char c;
  ASSERT_TRUE(h.fs->Read(first->fh, 0, 1, &c).ok());
  h.fs->Release(first->fh);
  auto second = h.fs->Open(ino, O_RDONLY);
  EXPECT_TRUE(second->keep_cache);
  h.fs->Release(second->fh);
}

std::unique_ptr<cache::DiskTier> OpenDisk(const std::string& dir) {
  cache::DiskTierOptions o;
  o.dir = dir;
  o.quota = 64 << 20;
  o.block_size = core::CoreOptions{}.block_size;
  auto d = cache::DiskTier::Open(o);
  EXPECT_TRUE(d.ok()) << d.error().ToString();
  return d.ok() ? std::move(*d) : nullptr;
}

TEST(VodFsTest, AfterARemountTheDiskServesOnceTheOriginConfirmsTheVersion) {
  testing::TempDir d;
  const std::string path = "videos/A [v1]/source.mp4";
  {
    auto disk = OpenDisk(d.path() + "/cache");
    FsHarness h({}, {}, false, disk.get());
    h.AddVideo("v1", "A", 3 << 20);
    ASSERT_EQ(h.ReadAll(path).value(), Bytes("src/v1", 3 << 20));
    disk->Stop();
  }
  auto disk = OpenDisk(d.path() + "/cache");
  FsHarness h({}, {}, false, disk.get());
  h.AddVideo("v1", "A", 3 << 20);
  ASSERT_TRUE(h.Resolve(path).ok());  // listing the directory may probe images
  const int before = h.origin.requests();
  ASSERT_EQ(h.ReadAll(path).value(), Bytes("src/v1", 3 << 20));
  // One probe of one byte confirmed the version; every block came from disk.
  EXPECT_EQ(h.origin.requests() - before, 1);
  EXPECT_EQ(disk->Stats().hits, (3u << 20) / core::CoreOptions{}.block_size);
}

TEST(VodFsTest, AnObjectReplacedBetweenMountsIsNeverServedFromTheOldBlocks) {
  testing::TempDir d;
  const std::string path = "videos/A [v1]/source.mp4";
  {
    auto disk = OpenDisk(d.path() + "/cache");
    FsHarness h({}, {}, false, disk.get());
    h.AddVideo("v1", "A", 1 << 20);
    ASSERT_EQ(h.ReadAll(path).value(), Bytes("src/v1", 1 << 20));
    disk->Stop();
  }
  auto disk = OpenDisk(d.path() + "/cache");
  FsHarness h({}, {}, false, disk.get());
  h.AddVideo("v1", "A", 1 << 20);
  h.origin.Put("src/v1", Bytes("replaced", 1 << 20));  // same size, new ETag
  EXPECT_EQ(h.ReadAll(path).value(), Bytes("replaced", 1 << 20));
  EXPECT_EQ(disk->Stats().hits, 0u);
}

TEST(VodFsTest, WritesDirectoriesLinksAndXattrs) {
  FsHarness h;
  h.AddVideo("v1", "A", 1000);
  auto ino = *h.Resolve("videos/A [v1]/source.mp4");
  EXPECT_EQ(h.fs->Open(ino, O_WRONLY).code(), ErrorCode::kReadOnly);
  EXPECT_EQ(h.fs->Open(ino, O_RDWR).code(), ErrorCode::kReadOnly);
  EXPECT_EQ(h.fs->Open(ino, O_RDONLY | O_TRUNC).code(), ErrorCode::kReadOnly);
  auto dir = *h.Resolve("videos/A [v1]");
  EXPECT_EQ(h.fs->Open(dir, O_RDONLY).code(), ErrorCode::kIsADirectory);
  auto attr = *h.fs->GetAttr(ino);
  EXPECT_EQ(attr.mode, static_cast<uint32_t>(S_IFREG | 0444));
  EXPECT_EQ(h.fs->GetAttr(dir)->mode, static_cast<uint32_t>(S_IFDIR | 0555));
  EXPECT_EQ(h.fs->GetXattr(ino, "user.vod.video_id").value(), "v1");
  EXPECT_EQ(h.fs->GetXattr(ino, "user.vod.missing").code(), ErrorCode::kNotFound);
  EXPECT_EQ(h.fs->GetXattr(ino, "trusted.vod.video_id").code(), ErrorCode::kNotFound);
  auto names = h.fs->ListXattr(ino);
  ASSERT_TRUE(names.ok());
  EXPECT_NE(std::find(names->begin(), names->end(), "user.vod.role"), names->end());
  EXPECT_EQ(h.fs->Lookup(dir, "nope").code(), ErrorCode::kNotFound);
  auto stats = *h.Resolve(".vodfs/stats");
  auto so = h.fs->Open(stats, O_RDONLY);
  EXPECT_TRUE(so->direct_io);
  h.fs->Release(so->fh);
}

TEST(VodFsTest, ReadDirOffsetsAreStable) {
  FsHarness h;
  for (int i = 0; i < 30; ++i) h.AddVideo("v" + std::to_string(i), "T" + std::to_string(i), 100, 0);
  auto videos = *h.Resolve("videos");
  auto fh = h.fs->OpenDir(videos);
  ASSERT_TRUE(fh.ok());
  auto all = h.fs->ReadDir(*fh, 0);
  ASSERT_EQ(all->size(), 32u);  // . .. and 30
  EXPECT_EQ((*all)[0].name, ".");
  EXPECT_EQ((*all)[1].name, "..");
  auto tail = h.fs->ReadDir(*fh, 20);
  auto some = h.fs->ReadDir(*fh, 5, 3);
  ASSERT_EQ(some->size(), 3u);
  EXPECT_EQ((*some)[2].name, (*all)[7].name);
  ASSERT_EQ(tail->size(), 12u);
  EXPECT_EQ((*tail)[0].name, (*all)[20].name);
  h.fs->ReleaseDir(*fh);
}

}  // namespace
}  // namespace vodfs::core
