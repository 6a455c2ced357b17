#include "vodfs/cache/disk_tier.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include "cache/extent_header.h"
#include "support/temp_dir.h"

namespace vodfs::cache {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

constexpr uint64_t kBs = 4096;

DiskTierOptions Opts(const std::string& dir, uint64_t quota = 1 << 20) {
  DiskTierOptions o;
  o.dir = dir;
  o.quota = quota;
  o.block_size = kBs;
  o.blocks_per_extent = 8;
  return o;
}

Block Data(char c, size_t n = kBs) { return BlockData::CopyOf(std::string(n, c)); }
std::string Bytes(const Block& b) { return std::string(b->view()); }

std::vector<std::string> ExtentFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().extension() == ".ext") out.push_back(e.path());
  }
  return out;
}

TEST(DiskTierTest, BlocksAndVersionsSurviveAReopen) {
  TempDir d;
  {
    auto t = DiskTier::Open(Opts(d.path() + "/c"));
    ASSERT_TRUE(t.ok()) << t.error().ToString();
    (*t)->Describe("obj#1:e", "source/v1", {100000, "\"e\"", "lm", 0x1234});
    for (uint64_t i = 0; i < 20; ++i) (*t)->Put({"obj#1:e", i}, Data(static_cast<char>('a' + i)));
    (*t)->Put({"obj#1:e", 20}, Data('z', 100));  // a short last block
    auto b = (*t)->Get({"obj#1:e", 3});
    ASSERT_TRUE(b);
    EXPECT_EQ(Bytes(b), std::string(kBs, 'd'));
    EXPECT_EQ((*t)->Stats().extents, 3u);
  }
  auto t = DiskTier::Open(Opts(d.path() + "/c"));
  ASSERT_TRUE(t.ok());
  for (uint64_t i = 0; i < 20; ++i) {
    auto b = (*t)->Get({"obj#1:e", i});
    ASSERT_TRUE(b) << i;
    EXPECT_EQ(Bytes(b), std::string(kBs, static_cast<char>('a' + i)));
  }
  EXPECT_EQ(Bytes((*t)->Get({"obj#1:e", 20})), std::string(100, 'z'));
  EXPECT_FALSE((*t)->Get({"obj#1:e", 21}));
  EXPECT_FALSE((*t)->Get({"other", 0}));
  auto v = (*t)->Known("source/v1");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->size, 100000u);
  EXPECT_EQ(v->etag, "\"e\"");
  EXPECT_EQ((*t)->Stats().bytes, 3 * 4096 + 20 * kBs + 100);
}

TEST(ExtentHeaderTest, WrittenHeadersParseWithTheirIdentityAndRecords) {
  TempDir d;
  {
    auto t = DiskTier::Open(Opts(d.path() + "/c"));
    ASSERT_TRUE(t.ok()) << t.error().ToString();
    (*t)->Describe("obj#1:e", "source/v1", {100000, "\"e\"", "lm", 0x1234});
    (*t)->Put({"obj#1:e", 9}, Data('a'));
    (*t)->Put({"obj#1:e", 10}, Data('b', 100));
  }
  auto files = ExtentFiles(d.path());
  ASSERT_EQ(files.size(), 1u);
  std::string bytes(kExtentHeaderSize, '\0');
  int fd = ::open(files[0].c_str(), O_RDONLY);
  ASSERT_EQ(::pread(fd, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
  ::close(fd);
  ExtentHeader h;
  ASSERT_TRUE(ParseExtentHeader(bytes, &h));
  EXPECT_EQ(h.block_size, kBs);
  EXPECT_EQ(h.bpe, 8u);
  EXPECT_EQ(h.index, 1u);
  EXPECT_EQ(h.object, "obj#1:e");
  EXPECT_EQ(h.ref, "source/v1");
  EXPECT_EQ(h.version.size, 100000u);
  EXPECT_EQ(h.version.etag, "\"e\"");
  EXPECT_EQ(h.version.last_modified, "lm");
  EXPECT_EQ(h.version.crc64, 0x1234u);
  EXPECT_FALSE(h.verified);
  EXPECT_EQ(h.len, (std::vector<uint32_t>{0, kBs, 100, 0, 0, 0, 0, 0}));
  EXPECT_EQ(h.crc64[1], Data('a')->crc64());
  EXPECT_EQ(h.crc64[2], Data('b', 100)->crc64());
  // Encoding what was parsed gives the same header back.
  ExtentHeader again;
  ASSERT_TRUE(ParseExtentHeader(EncodeExtentHeader(h), &again));
  EXPECT_EQ(again.object, h.object);
  EXPECT_EQ(again.len, h.len);
  EXPECT_EQ(again.crc, h.crc);
  EXPECT_EQ(again.crc64, h.crc64);
  EXPECT_EQ(again.version.crc64, h.version.crc64);
}

TEST(ExtentHeaderTest, RejectsWhatIsNotAHeaderAndDropsRecordsThatFailTheirCheck) {
  ExtentHeader h;
  h.block_size = 1024;
  h.bpe = 4;
  h.index = 3;
  h.object = "o";
  h.len = {0, 512, 1024, 0};
  h.crc = {0, 7, 8, 0};
  h.crc64 = {0, 70, 80, 0};
  std::string bytes = EncodeExtentHeader(h);
  ExtentHeader out;
  EXPECT_FALSE(ParseExtentHeader(bytes.substr(0, 4095), &out));
  std::string other = bytes;
  other[7] = '1';  // the first format
  EXPECT_FALSE(ParseExtentHeader(other, &out));
  std::string too_many = bytes;
  too_many[12] = static_cast<char>(129);
  EXPECT_FALSE(ParseExtentHeader(too_many, &out));
  std::string overrun = bytes;
  overrun[48] = static_cast<char>(0xff);
  overrun[49] = static_cast<char>(0x03);  // 1023 bytes of object from offset 56
  EXPECT_FALSE(ParseExtentHeader(overrun, &out));
  std::string torn = bytes;
  torn[kExtentRecordsOffset + kExtentRecordSize + 4] ^= 1;  // block 1's CRC no longer matches its check
  ASSERT_TRUE(ParseExtentHeader(torn, &out));
  EXPECT_EQ(out.len, (std::vector<uint32_t>{0, 0, 1024, 0}));
}

TEST(DiskTierTest, CorruptedAndTornBlocksAreDetectedNeverServed) {
  TempDir d;
  auto t = DiskTier::Open(Opts(d.path() + "/c"));
  ASSERT_TRUE(t.ok());
  for (uint64_t i = 0; i < 8; ++i) (*t)->Put({"o", i}, Data('x'));
  t->reset();
  auto files = ExtentFiles(d.path() + "/c");
  ASSERT_EQ(files.size(), 1u);
  int fd = open(files[0].c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  // Flip a byte of block 2's data, and tear block 5's record.
  ASSERT_EQ(pwrite(fd, "y", 1, 4096 + 2 * kBs + 100), 1);
  ASSERT_EQ(pwrite(fd, "\x01\x02", 2, kExtentRecordsOffset + 5 * kExtentRecordSize + 9), 2);
  close(fd);
  auto again = DiskTier::Open(Opts(d.path() + "/c"));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE((*again)->Get({"o", 2}));  // bad checksum
  EXPECT_FALSE((*again)->Get({"o", 5}));  // bad record
  EXPECT_TRUE((*again)->Get({"o", 1}));
  EXPECT_EQ((*again)->Stats().corrupt, 1u);
  EXPECT_FALSE((*again)->Get({"o", 2}));  // dropped for good
  // A truncated file (a crash mid-write) loses only what is gone.
  again->reset();
  fs::resize_file(files[0], 4096 + 3 * kBs + 10);
  auto third = DiskTier::Open(Opts(d.path() + "/c"));
  EXPECT_TRUE((*third)->Get({"o", 0}));
  EXPECT_FALSE((*third)->Get({"o", 3}));
  EXPECT_FALSE((*third)->Get({"o", 6}));
}

TEST(DiskTierTest, QuotaEvictsLeastRecentlyUsedExtents) {
  TempDir d;
  // Room for about 3 extents of 8 blocks.
  auto t = DiskTier::Open(Opts(d.path() + "/c", 3 * (4096 + 8 * kBs)));
  ASSERT_TRUE(t.ok());
  for (int obj = 0; obj < 3; ++obj) {
    for (uint64_t i = 0; i < 8; ++i) (*t)->Put({"o" + std::to_string(obj), i}, Data('a'));
  }
  ASSERT_TRUE((*t)->Get({"o0", 0}));  // o0 is now the most recent
  for (uint64_t i = 0; i < 8; ++i) (*t)->Put({"o3", i}, Data('b'));
  EXPECT_LE((*t)->Stats().bytes, 3 * (4096 + 8 * kBs));
  EXPECT_TRUE((*t)->Get({"o0", 0}));
  EXPECT_FALSE((*t)->Get({"o1", 0}));  // the least recent went
  EXPECT_TRUE((*t)->Get({"o3", 7}));
  EXPECT_GE((*t)->Stats().evictions, 1u);
  EXPECT_EQ(ExtentFiles(d.path() + "/c").size(), (*t)->Stats().extents);
}

TEST(DiskTierTest, TheDirectoryIsPrivateAndUsedByOneVodfsAtATime) {
  TempDir d;
  const std::string dir = d.path() + "/c";
  fs::create_directory(dir);
  chmod(dir.c_str(), 0755);
  auto t = DiskTier::Open(Opts(dir));
  ASSERT_TRUE(t.ok());
  struct stat st {};
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto second = DiskTier::Open(Opts(dir));
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("in use"), std::string::npos);
  EXPECT_FALSE(DiskTier::Clear(dir).ok());  // not while in use
  (*t)->Put({"o", 0}, Data('q'));
  t->reset();
  auto info = DiskTier::Inspect(dir);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->extents, 1u);
  EXPECT_TRUE(DiskTier::Clear(dir).ok());
  EXPECT_EQ(DiskTier::Inspect(dir)->extents, 0u);
}

TEST(DiskTierTest, WriteBehindThreadDrainsOnStop) {
  TempDir d;
  auto t = DiskTier::Open(Opts(d.path() + "/c"));
  (*t)->Start();
  for (uint64_t i = 0; i < 64; ++i) (*t)->Put({"o", i}, Data('w'));
  (*t)->Stop();
  EXPECT_EQ((*t)->Stats().writes, 64u);
  EXPECT_TRUE((*t)->Get({"o", 63}));
}

TEST(DiskTierTest, AFullWriteQueueMakesWritersWaitInsteadOfDroppingBlocks) {
  // Four writers put faster than a queue of two blocks drains: every block
  // still reaches the disk (readers slow down; the cache does not skip).
  TempDir d;
  DiskTierOptions o = Opts(d.path() + "/c", 64 << 20);
  o.max_pending_bytes = 2 * kBs;
  constexpr uint64_t kPerThread = 200;
  {
    auto t = DiskTier::Open(o);
    ASSERT_TRUE(t.ok());
    (*t)->Start();
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
      writers.emplace_back([&, w] {
        const std::string obj = "w" + std::to_string(w) + "#1";
        for (uint64_t i = 0; i < kPerThread; ++i) (*t)->Put({obj, i}, Data(static_cast<char>('a' + (i + w) % 26)));
      });
    }
    for (auto& th : writers) th.join();
    (*t)->Stop();
    const DiskStats s = (*t)->Stats();
    EXPECT_EQ(s.dropped_writes, 0u);
    EXPECT_EQ(s.writes, 4 * kPerThread);
  }
  auto t = DiskTier::Open(o);
  ASSERT_TRUE(t.ok());
  for (int w = 0; w < 4; ++w) {
    for (uint64_t i = 0; i < kPerThread; ++i) {
      auto b = (*t)->Get({"w" + std::to_string(w) + "#1", i});
      ASSERT_TRUE(b) << w << " " << i;
      EXPECT_EQ(Bytes(b), std::string(kBs, static_cast<char>('a' + (i + w) % 26)));
    }
  }
}

TEST(DiskTierTest, InterleavedBlocksAreWrittenInRunsAndReadBackExactly) {
  // Parallel fetches complete blocks out of order and interleaved between
  // objects; the writer sorts them into runs, and the last, short block of
  // an object is padded on disk but read back at its own length.
  TempDir d;
  std::vector<std::pair<BlockKey, std::string>> blocks;
  for (uint64_t i = 0; i < 30; ++i) blocks.push_back({{"a#1", i}, std::string(kBs, static_cast<char>('A' + i % 26))});
  blocks.push_back({{"a#1", 30}, std::string(1234, 'T')});
  for (uint64_t i = 0; i < 9; ++i) blocks.push_back({{"b#1", i}, std::string(kBs, static_cast<char>('a' + i))});
  std::mt19937 rng(5);
  std::shuffle(blocks.begin(), blocks.end(), rng);
  {
    auto t = DiskTier::Open(Opts(d.path() + "/c"));
    ASSERT_TRUE(t.ok());
    (*t)->Describe("a#1", "source/a", {30 * kBs + 1234, "\"a\"", "", std::nullopt});
    (*t)->Describe("b#1", "source/b", {9 * kBs, "\"b\"", "", std::nullopt});
    (*t)->Start();
    for (const auto& [k, v] : blocks) (*t)->Put(k, Data(v[0], v.size()));
    (*t)->Stop();
    EXPECT_EQ((*t)->Stats().writes, blocks.size());
    EXPECT_EQ((*t)->Stats().dropped_writes, 0u);
  }
  auto t = DiskTier::Open(Opts(d.path() + "/c"));
  ASSERT_TRUE(t.ok());
  for (const auto& [k, v] : blocks) {
    auto b = (*t)->Get(k);
    ASSERT_TRUE(b) << k.object << " " << k.index;
    EXPECT_EQ(Bytes(b), v) << k.object << " " << k.index;
  }
  EXPECT_EQ((*t)->Stats().corrupt, 0u);
}

TEST(DiskTierTest, ARunOfBlocksIsReadInOneGoWithHolesLeftEmpty) {
  TempDir d;
  auto t = DiskTier::Open(Opts(d.path() + "/c"));
  ASSERT_TRUE(t.ok());
  for (uint64_t i = 0; i < 12; ++i) {
    if (i != 5) (*t)->Put({"r#1", i}, Data(static_cast<char>('a' + i)));
  }
  // Blocks 2..13 cross an extent boundary (8 per extent); 5 was never
  // stored and 12, 13 are past what was.
  auto run = (*t)->GetRun("r#1", 2, 12);
  ASSERT_EQ(run.size(), 12u);
  for (uint64_t i = 2; i < 14; ++i) {
    const Block& b = run[i - 2];
    if (i == 5 || i >= 12) {
      EXPECT_FALSE(b) << i;
      continue;
    }
    ASSERT_TRUE(b) << i;
    EXPECT_EQ(Bytes(b), std::string(kBs, static_cast<char>('a' + i)));
    EXPECT_EQ(b->crc64(), Data(static_cast<char>('a' + i))->crc64()) << i;
  }
}

TEST(DiskTierTest, VerificationAndBlockCrcsSurviveAReopenAndADropForgetsAll) {
  TempDir d;
  {
    auto t = DiskTier::Open(Opts(d.path() + "/c"));
    ASSERT_TRUE(t.ok());
    (*t)->Describe("v#1", "source/v", {10 * kBs, "\"v\"", "", 99});
    (*t)->Describe("w#1", "source/w", {3 * kBs, "\"w\"", "", 98});
    for (uint64_t i = 0; i < 10; ++i) (*t)->Put({"v#1", i}, Data(static_cast<char>('0' + i)));
    for (uint64_t i = 0; i < 3; ++i) (*t)->Put({"w#1", i}, Data('w'));
    EXPECT_FALSE((*t)->Verified("v#1"));
    (*t)->MarkVerified("v#1", 10);
    EXPECT_TRUE((*t)->Verified("v#1"));
  }
  auto t = DiskTier::Open(Opts(d.path() + "/c"));
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE((*t)->Verified("v#1"));
  EXPECT_FALSE((*t)->Verified("w#1"));
  auto known = (*t)->Known("source/v");
  ASSERT_TRUE(known);
  EXPECT_EQ(known->crc64, 99u);
  auto crcs = (*t)->BlockCrcs("w#1", 3);
  ASSERT_EQ(crcs.size(), 3u);
  for (uint64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(crcs[i].first, i);
    EXPECT_EQ(crcs[i].second, Data('w')->crc64());
  }
  (*t)->DropObject("w#1", 3);
  EXPECT_FALSE((*t)->Get({"w#1", 0}));
  EXPECT_TRUE((*t)->BlockCrcs("w#1", 3).empty());
  EXPECT_TRUE((*t)->Get({"v#1", 9}));
  EXPECT_EQ((*t)->Stats().dropped_objects, 1u);
}

TEST(DiskTierTest, ADroppedObjectsQueuedWritesNeverLand) {
  TempDir d;
  auto t = DiskTier::Open(Opts(d.path() + "/c"));
  ASSERT_TRUE(t.ok());
  // Whether the writer took them yet or not, none survive the drop.
  (*t)->Start();
  for (uint64_t i = 0; i < 4; ++i) (*t)->Put({"q#1", i}, Data('q'));
  (*t)->DropObject("q#1", 4);
  (*t)->Stop();
  for (uint64_t i = 0; i < 4; ++i) EXPECT_FALSE((*t)->Get({"q#1", i})) << i;
}

TEST(DiskTierTest, AnOldFormatCacheIsRemovedNotRead) {
  TempDir d;
  const std::string dir = d.path() + "/c";
  fs::create_directories(dir + "/v1/ab");
  { std::ofstream(dir + "/v1/ab/0000-0.ext") << "an extent of the first format"; }
  auto t = DiskTier::Open(Opts(dir));
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(fs::exists(dir + "/v1"));
  EXPECT_EQ((*t)->Stats().extents, 0u);
}

}  // namespace
}  // namespace vodfs::cache
