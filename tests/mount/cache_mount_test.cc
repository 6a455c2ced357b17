// Mount tests of the persistent cache: across remounts, after a crash with
// damaged blocks, under a quota, on a full disk; and the cache and prefetch
// commands.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/mount_env.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "vodfs/util/strings.h"

namespace vodfs::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr uint64_t kFileSize = 16 << 20;

// A library of two 16 MiB videos whose bytes are known to the emulator.
std::vector<std::string> EmulatorArgs() { return {"--synthetic", "2", "--synthetic-size", "16M", "--exact-sizes"}; }

struct Source {
  std::string path;  // on the mount
  std::string sha256;
};

std::vector<Source> Sources(EmulatorProcess& emulator, const std::string& mnt) {
  std::vector<Source> out;
  for (int i = 0; i < 2; ++i) {
    json media = emulator.Control("GET", "/media?index=" + std::to_string(i));
    const std::string id = media["id"];
    for (const auto& e : fs::directory_iterator(mnt + "/videos")) {
      if (str::EndsWith(e.path().filename().string(), "[" + id + "]")) {
        const std::string key = media["source_key"];
        // Looking the file up lists its directory (which may probe images)
        // before any read is counted.
        EXPECT_EQ(fs::file_size(e.path() / "source.mp4"), kFileSize);
        out.push_back({e.path() / "source.mp4",
                       emulator.Control("GET", "/asset?sha256=1&key=" + str::PercentEncode(key))["sha256"]});
      }
    }
  }
  return out;
}

json MediaCounters(EmulatorProcess& emulator) { return emulator.Control("GET", "/counters")["media"]; }

json DiskStats(const std::string& mnt) {
  return json::parse(ReadFile(mnt + "/.vodfs/stats"), nullptr, false)["cache"]["disk"];
}

std::vector<std::string> ExtentFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.path().extension() == ".ext") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Vodfs() { return BuildPath("mount/vodfs"); }

TEST(CacheMountTest, ARemountReadsFromDiskAfterOneProbePerFile) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator(EmulatorArgs());
  TempDir cache;
  const std::vector<std::string> opts = {"--cache_dir", cache.path() + "/c"};
  std::vector<Source> files;
  {
    VodfsMount m(emulator.api(), opts);
    files = Sources(emulator, m.path());
    ASSERT_EQ(files.size(), 2u);
    for (const auto& f : files) EXPECT_EQ(Sha256Sum(f.path), f.sha256);
    EXPECT_EQ(m.Unmount(), 0);  // a clean unmount writes everything queued
  }
  VodfsMount m(emulator.api(), opts);
  files = Sources(emulator, m.path());
  const json before = MediaCounters(emulator);
  for (const auto& f : files) EXPECT_EQ(Sha256Sum(f.path), f.sha256);
  const json after = MediaCounters(emulator);
  // One one-byte probe per file confirms the stored version; no block is
  // fetched again.
  EXPECT_EQ(after["requests"].get<int>() - before["requests"].get<int>(), 2);
  EXPECT_EQ(after["bytes_served"].get<uint64_t>() - before["bytes_served"].get<uint64_t>(), 2u);
  EXPECT_GE(DiskStats(m.path())["hits"].get<uint64_t>(), 2 * kFileSize / (64 << 10));
}

TEST(CacheMountTest, AfterACrashDamagedBlocksAreRefetchedNeverServed) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator(EmulatorArgs());
  TempDir cache;
  const std::string dir = cache.path() + "/c";
  const std::vector<std::string> opts = {"--cache_dir", dir};
  {
    VodfsMount m(emulator.api(), opts);
    for (const auto& f : Sources(emulator, m.path())) EXPECT_EQ(Sha256Sum(f.path), f.sha256);
    m.process().Signal(SIGKILL);  // no orderly shutdown
    m.Unmount();
  }
  // What a crash in the middle of writes leaves: a block with wrong bytes,
  // an extent cut short in the middle of a block.
  std::vector<std::string> extents = ExtentFiles(dir);
  ASSERT_GE(extents.size(), 2u);
  {
    int fd = open(extents[0].c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    char c;
    ASSERT_EQ(pread(fd, &c, 1, 4096 + 1000), 1);
    c = static_cast<char>(~c);
    ASSERT_EQ(pwrite(fd, &c, 1, 4096 + 1000), 1);
    close(fd);
  }
  struct stat st {};
  ASSERT_EQ(stat(extents[1].c_str(), &st), 0);
  ASSERT_GT(st.st_size, 4096 + 3 * (64 << 10));
  ASSERT_EQ(truncate(extents[1].c_str(), 4096 + 2 * (64 << 10) + 777), 0);

  VodfsMount m(emulator.api(), opts);
  const std::vector<Source> files = Sources(emulator, m.path());
  const json before = MediaCounters(emulator);
  for (const auto& f : files) EXPECT_EQ(Sha256Sum(f.path), f.sha256);
  const json after = MediaCounters(emulator);
  const json disk = DiskStats(m.path());
  EXPECT_GE(disk["corrupt"].get<int>(), 2);
  EXPECT_GT(after["bytes_served"].get<uint64_t>() - before["bytes_served"].get<uint64_t>(), 64u << 10);
  EXPECT_NE(m.LogText().find("failed verification"), std::string::npos);
}

TEST(CacheMountTest, TheQuotaHoldsWhileReadsStillSucceed) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator(EmulatorArgs());
  TempDir cache;
  const std::string dir = cache.path() + "/c";
  const uint64_t quota = 6 << 20;
  VodfsMount m(emulator.api(), {"--cache_dir", dir, "--disk_cache_size", "6M"});
  for (const auto& f : Sources(emulator, m.path())) EXPECT_EQ(Sha256Sum(f.path), f.sha256);
  EXPECT_EQ(m.Unmount(), 0);
  uint64_t on_disk = 0;
  for (const auto& e : ExtentFiles(dir)) {
    struct stat st {};
    ASSERT_EQ(stat(e.c_str(), &st), 0);
    on_disk += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  EXPECT_GT(on_disk, 0u);
  EXPECT_LE(on_disk, quota);
  struct stat st {};
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(CacheMountTest, AFullDiskEvictsInsteadOfFailing) {
  VODFS_SKIP_WITHOUT_FUSE();
  VODFS_SKIP_UNLESS_ROOT("mounting a small tmpfs");
  EmulatorProcess emulator(EmulatorArgs());
  TempDir cache;
  const std::string small = cache.path() + "/small";
  ASSERT_EQ(mkdir(small.c_str(), 0700), 0);
  ASSERT_EQ(mount("tmpfs", small.c_str(), "tmpfs", 0, "size=5m"), 0) << strerror(errno);
  struct Unmounter {
    std::string path;
    ~Unmounter() { umount2(path.c_str(), MNT_DETACH); }
  } unmounter{small};
  {
    // The quota says 1 GiB; the file system holds 5 MiB.
    VodfsMount m(emulator.api(), {"--cache_dir", small + "/c", "--disk_cache_size", "1G"});
    for (const auto& f : Sources(emulator, m.path())) EXPECT_EQ(Sha256Sum(f.path), f.sha256);
    const json disk = DiskStats(m.path());
    EXPECT_GT(disk["evictions"].get<int>(), 0);
    EXPECT_GT(disk["writes"].get<int>(), 0);
    EXPECT_EQ(m.Unmount(), 0);
  }
}

TEST(CacheMountTest, CacheInfoAndClear) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator(EmulatorArgs());
  TempDir cache;
  const std::string dir = cache.path() + "/c";
  {
    VodfsMount m(emulator.api(), {"--cache_dir", dir});
    for (const auto& f : Sources(emulator, m.path())) EXPECT_EQ(Sha256Sum(f.path), f.sha256);
    auto busy = RunProcess({Vodfs(), "cache", "clear", "--cache_dir", dir});
    EXPECT_EQ(busy.exit_code, 1);
    EXPECT_NE(busy.err.find("in use"), std::string::npos) << busy.err;
    EXPECT_EQ(m.Unmount(), 0);
  }
  auto info = RunProcess({Vodfs(), "cache", "info", "--cache_dir", dir});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("32.0 MiB"), std::string::npos) << info.out;  // both sources
  auto clear = RunProcess({Vodfs(), "cache", "clear", "--cache_dir", dir});
  ASSERT_EQ(clear.exit_code, 0) << clear.err;
  EXPECT_TRUE(ExtentFiles(dir).empty());
  info = RunProcess({Vodfs(), "cache", "info", "--cache_dir", dir});
  EXPECT_NE(info.out.find("used       0 B in 0 extents"), std::string::npos) << info.out;
}

TEST(CacheMountTest, PrefetchWarmsTheCacheWithinItsQuota) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator(EmulatorArgs());
  TempDir cache;
  VodfsMount m(emulator.api(), {"--cache_dir", cache.path() + "/c"});
  const std::vector<Source> files = Sources(emulator, m.path());
  auto p = RunProcess({Vodfs(), "prefetch", m.path() + "/videos"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_NE(p.out.find("prefetched "), std::string::npos) << p.out;
  EXPECT_NE(p.err.find("ETA"), std::string::npos) << p.err;  // the progress line
  const json before = MediaCounters(emulator);
  for (const auto& f : files) EXPECT_EQ(Sha256Sum(f.path), f.sha256);
  EXPECT_EQ(MediaCounters(emulator)["requests"], before["requests"]);  // all cached

  // Asked for more than the quota: only what fits.
  TempDir cache2;
  VodfsMount small(emulator.api(), {"--cache_dir", cache2.path() + "/c", "--disk_cache_size", "20M"});
  p = RunProcess({Vodfs(), "prefetch", small.path() + "/videos"});
  EXPECT_EQ(p.exit_code, 0) << p.err;
  EXPECT_NE(p.err.find("prefetching the first"), std::string::npos) << p.err;
  EXPECT_LE(DiskStats(small.path())["bytes"].get<uint64_t>(), 20u << 20);
}

}  // namespace
}  // namespace vodfs::testing
