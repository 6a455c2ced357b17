// Mount tests over synthetic libraries: scale, long reads across expiring
// URLs, objects that change, an origin that dies and comes back.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "emulator/library.h"
#include "support/mount_env.h"
#include "support/process.h"
#include "vodfs/auth/crypto.h"
#include "vodfs/http/http_client.h"
#include "vodfs/util/strings.h"

namespace vodfs::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

#define SKIP_WITHOUT_FUSE()                                                       \
  do {                                                                            \
    if (std::string why = MountUnavailableReason(); !why.empty()) GTEST_SKIP() << why; \
  } while (0)

// The source file of medium `id` on a mount.
std::string SourceOf(const std::string& mnt, const std::string& id) {
  for (const auto& e : fs::directory_iterator(mnt + "/videos")) {
    if (str::EndsWith(e.path().filename().string(), "[" + id + "]")) return e.path() / "source.mp4";
  }
  return "";
}

std::string Sha256Of(EmulatorProcess& emulator, const json& media) {
  return emulator.Control("GET", "/asset?sha256=1&key=" + str::PercentEncode(media["source_key"].get<std::string>()))
      ["sha256"];
}

// Reads a file through the mount at about `rate` bytes/s (pacing, not
// synchronisation), hashing what it gets. Stops at the first error.
struct PacedRead {
  std::string sha256;
  uint64_t bytes = 0;
  int error = 0;
  double seconds = 0;
};

PacedRead ReadPaced(const std::string& path, double rate, const std::function<void(uint64_t)>& at_bytes = {}) {
  PacedRead r;
  const auto t0 = Clock::now();
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    r.error = errno;
    return r;
  }
  auth::Sha256Hasher h;
  std::string buf(4 << 20, '\0');
  while (true) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0) {
      r.error = errno;
      break;
    }
    if (n == 0) break;
    h.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
    r.bytes += static_cast<uint64_t>(n);
    if (at_bytes) at_bytes(r.bytes);
    const double due = static_cast<double>(r.bytes) / rate;
    const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    if (due > elapsed) std::this_thread::sleep_for(std::chrono::duration<double>(due - elapsed));
  }
  close(fd);
  r.sha256 = h.FinalHex();
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

json StatsOf(const std::string& mnt) {
  return json::parse(ReadFile(mnt + "/.vodfs/stats"), nullptr, false);
}

TEST(SyntheticMountTest, MetricsEndpointAgreesWithTheStatsFile) {
  SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--synthetic", "1", "--synthetic-size", "8M", "--exact-sizes"});
  VodfsMount m(emulator.api(), {"--metrics_address", "127.0.0.1:0"});
  json media = emulator.Control("GET", "/media?index=0");
  const std::string src = SourceOf(m.path(), media["id"]);
  ASSERT_EQ(Sha256Sum(src), Sha256Of(emulator, media));
  const std::string url = StatsOf(m.path())["metrics_url"];
  ASSERT_TRUE(str::StartsWith(url, "http://127.0.0.1:")) << url;
  auto client = http::NewCurlHttpClient({});
  http::Request req;
  req.url = url;
  auto r = client->Send(req, 1 << 22);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_EQ(r->status, 200);
  // The stats file takes its snapshot when opened: after the metrics were
  // rendered, with no read in between.
  const json stats = StatsOf(m.path());
  std::map<std::string, double> metrics;
  for (const auto& line : str::Split(r->body, '\n', true)) {
    if (line[0] == '#') continue;
    metrics[line.substr(0, line.rfind(' '))] = std::stod(line.substr(line.rfind(' ') + 1));
  }
  EXPECT_GE(metrics["vodfs_served_bytes_total"], 8 << 20);
  EXPECT_EQ(metrics["vodfs_served_bytes_total"], stats["reads"]["bytes_served"].get<double>());
  EXPECT_EQ(metrics["vodfs_api_calls_total{operation=\"SearchMedia\"}"],
            stats["api"]["calls"]["SearchMedia"].get<double>());
  EXPECT_GT(metrics["vodfs_http_requests_total{client=\"media\",code=\"206\"}"], 0);
  EXPECT_GE(metrics["vodfs_origin_bytes_total"], 8 << 20);
  EXPECT_GT(metrics["vodfs_fuse_request_duration_seconds_count{op=\"read\"}"], 0);
  EXPECT_GT(metrics["vodfs_fuse_request_duration_seconds_count{op=\"lookup\"}"], 0);
  EXPECT_EQ(stats["fuse"]["read"]["count"].get<double>(),
            metrics["vodfs_fuse_request_duration_seconds_count{op=\"read\"}"]);
  // No secret in either.
  EXPECT_EQ(r->body.find("Signature"), std::string::npos);
  EXPECT_EQ(r->body.find("auth_key"), std::string::npos);
}

TEST(SyntheticMountTest, SequentialReadsReachVodfsAsLargeRequests) {
  SKIP_WITHOUT_FUSE();
  if (geteuid() != 0) GTEST_SKIP() << "raising the kernel's read-ahead needs root";
  EmulatorProcess emulator({"--synthetic", "1", "--synthetic-size", "32M", "--exact-sizes"});
  VodfsMount m(emulator.api());
  json media = emulator.Control("GET", "/media?index=0");
  const std::string src = SourceOf(m.path(), media["id"]);
  ASSERT_EQ(Sha256Sum(src), Sha256Of(emulator, media));
  // 32 MiB in 1 MiB requests (the kernel's default would make 256 of
  // 128 KiB); a few more for the reads that end past EOF or restart.
  const json stats = StatsOf(m.path());
  const int large = stats["fuse"]["read"]["count"].get<int>();
  EXPECT_LE(large, 40);
  EXPECT_EQ(stats["reads"]["bytes_served"].get<uint64_t>(), 32u << 20);
  // With --kernel_readahead 0 the kernel's default (128 KiB, doubled for
  // a reader that says it is sequential) stays.
  VodfsMount small(emulator.api(), {"--kernel_readahead", "0"});
  ASSERT_EQ(Sha256Sum(SourceOf(small.path(), media["id"])), Sha256Of(emulator, media));
  EXPECT_GE(StatsOf(small.path())["fuse"]["read"]["count"].get<int>(), 3 * large);
}

TEST(SyntheticMountTest, TwentyThousandVideosListCompletely) {
  SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--synthetic", "20000", "--synthetic-size", "64K"});
  VodfsMount m(emulator.api());
  auto ls = RunProcess({"/usr/bin/ls", "-1", m.path() + "/videos"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  auto names = str::Split(ls.out, '\n', true);
  EXPECT_EQ(names.size(), 20000u);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), 20000u);
  json c = emulator.Control("GET", "/counters");
  // One SearchMedia per 100 videos (and the first, empty, page of audio and
  // of images), never throttled, no per-video calls.
  EXPECT_EQ(c["api"]["calls"]["SearchMedia"], 202);
  EXPECT_EQ(c["api"]["errors"].value("Throttling.User", 0), 0);
  EXPECT_EQ(c["api"]["calls"].value("GetPlayInfo", 0), 0);
  auto lsl = RunProcess({"/usr/bin/ls", "-l", m.path() + "/videos"});
  EXPECT_EQ(lsl.exit_code, 0);
  EXPECT_EQ(emulator.Control("GET", "/counters")["api"]["total"], c["api"]["total"]);  // ls -l: no more calls
}

TEST(SyntheticMountTest, HostileTitlesBecomeValidUniqueNames) {
  SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--synthetic", "300", "--synthetic-size", "16K", "--hostile-titles"});
  VodfsMount m(emulator.api());
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(m.path() + "/videos")) {
    const std::string n = e.path().filename();
    EXPECT_LE(n.size(), 255u);
    EXPECT_TRUE(str::IsValidUtf8(n)) << n;
    EXPECT_EQ(n.find('\n'), std::string::npos);
    EXPECT_TRUE(names.insert(n).second) << n;
    EXPECT_TRUE(fs::exists(e.path() / "info.json")) << n;  // every directory opens
  }
  EXPECT_EQ(names.size(), 300u);
}

TEST(SyntheticMountTest, LongReadAcrossManyUrlLifetimesIsByteIdentical) {
  SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--synthetic", "2", "--synthetic-size", "1G", "--exact-sizes"});
  emulator.Control("POST", "/url-lifetime", {{"seconds", 2}});
  VodfsMount m(emulator.api());
  json media = emulator.Control("GET", "/media?index=0");
  const std::string src = SourceOf(m.path(), media["id"]);
  ASSERT_FALSE(src.empty());
  const std::string expected = Sha256Of(emulator, media);
  // 1 GiB at ~120 MiB/s: about 9 s, four or five URL lifetimes.
  PacedRead r = ReadPaced(src, 120.0 * (1 << 20));
  EXPECT_EQ(r.error, 0) << strerror(r.error) << "\n" << m.LogText();
  EXPECT_EQ(r.bytes, 1ULL << 30);
  EXPECT_EQ(r.sha256, expected);
  EXPECT_GT(r.seconds, 6.0);  // the read did span several lifetimes
  json s = StatsOf(m.path());
  EXPECT_GE(s["urls"]["api_refreshes"].get<int>(), 3) << s.dump();
  EXPECT_EQ(s["reads"]["errors"], 0);
}

TEST(SyntheticMountTest, AnAssetReplacedDuringAReadFailsItNeverMixesVersions) {
  SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--synthetic", "1", "--synthetic-size", "256M", "--exact-sizes"});
  VodfsMount m(emulator.api(), {"--readahead_max", "8M"});
  json media = emulator.Control("GET", "/media?index=0");
  const std::string src = SourceOf(m.path(), media["id"]);
  ASSERT_FALSE(src.empty());
  const std::string key = media["source_key"];
  const uint64_t seed = str::StableHash64(key, 1);
  bool replaced = false;
  int fd = open(src.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  std::string buf(1 << 20, '\0'), expect(1 << 20, '\0');
  uint64_t off = 0;
  int error = 0;
  while (true) {
    ssize_t n = pread(fd, buf.data(), buf.size(), static_cast<off_t>(off));
    if (n < 0) {
      error = errno;
      break;
    }
    if (n == 0) break;
    // Every byte handed out is the old version's.
    emu::FillSynthetic(seed, off, expect.data(), static_cast<size_t>(n));
    ASSERT_EQ(std::memcmp(buf.data(), expect.data(), static_cast<size_t>(n)), 0) << "mixed bytes at " << off;
    off += static_cast<uint64_t>(n);
    if (!replaced && off >= (32u << 20)) {
      emulator.Control("POST", "/replace", {{"key", key}, {"seed", 4242}, {"size", 256 << 20}});
      replaced = true;
    }
  }
  close(fd);
  EXPECT_TRUE(replaced);
  EXPECT_TRUE(error == ESTALE || error == EIO) << "read ended with " << strerror(error) << " after " << off;
  EXPECT_LT(off, 256ULL << 20);
  // A new open sees the new version whole.
  int fd2 = open(src.c_str(), O_RDONLY);
  ASSERT_GE(fd2, 0);
  ssize_t n = pread(fd2, buf.data(), 4096, 0);
  ASSERT_EQ(n, 4096);
  emu::FillSynthetic(4242, 0, expect.data(), 4096);
  EXPECT_EQ(std::memcmp(buf.data(), expect.data(), 4096), 0);
  close(fd2);
}

TEST(SyntheticMountTest, OriginKilledAndRestartedDuringARead) {
  SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--synthetic", "1", "--synthetic-size", "256M", "--exact-sizes"});
  VodfsMount m(emulator.api(), {"--readahead_max", "4M"});
  json media = emulator.Control("GET", "/media?index=0");
  const std::string src = SourceOf(m.path(), media["id"]);
  ASSERT_FALSE(src.empty());
  const std::string expected = Sha256Of(emulator, media);
  bool killed = false;
  std::thread restarter;
  PacedRead r = ReadPaced(src, 40.0 * (1 << 20), [&](uint64_t bytes) {
    if (!killed && bytes >= (64u << 20)) {
      killed = true;
      emulator.Kill();
      restarter = std::thread([&] {
        std::this_thread::sleep_for(std::chrono::seconds(2));  // the origin is down this long
        emulator.Restart();
      });
    }
  });
  if (restarter.joinable()) restarter.join();
  EXPECT_TRUE(killed);
  // Either the read rode out the outage, or it failed cleanly and in bounded time.
  if (r.error == 0) {
    EXPECT_EQ(r.bytes, 256ULL << 20);
    EXPECT_EQ(r.sha256, expected);
  } else {
    EXPECT_EQ(r.error, EIO);
  }
  EXPECT_LT(r.seconds, 90.0);
}

}  // namespace
}  // namespace vodfs::testing
