// A fleet mounted for real: several vodfs on this machine sharing one index
// on PostgreSQL (a throw-away cluster of this test), against the emulator.
// One syncs for all, every mount shows the same tree, a change reaches
// every mount, a medium's details are fetched once for the fleet, the
// syncing mount killed is replaced, and the database's password appears in
// no log and no stats.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/mount_env.h"
#include "support/process.h"
#include "support/services.h"
#include "support/temp_dir.h"
#include "vodfs/auth/crypto.h"
#include "vodfs/util/strings.h"

namespace vodfs::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Names, inode numbers and sizes of the entries of `dir`.
std::map<std::string, std::pair<ino_t, off_t>> Listing(const std::string& dir) {
  std::map<std::string, std::pair<ino_t, off_t>> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    struct stat st {};
    if (lstat(e.path().c_str(), &st) == 0) out[e.path().filename().string()] = {st.st_ino, st.st_size};
  }
  return out;
}

bool HasEntryStartingWith(const std::string& dir, const std::string& prefix) {
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (str::StartsWith(it->path().filename().string(), prefix)) return true;
  }
  return false;
}

bool IsLeader(const std::string& mnt) {
  const json s = MountStats(mnt);
  return s.is_object() && s["index"].value("leader", false);
}

std::vector<std::string> Vodfs(std::vector<std::string> args) {
  args.insert(args.begin(), BuildPath("mount/vodfs"));
  return args;
}

TEST(FleetMountTest, OneSyncForAllTheSameTreeEverywhereAndChangesReachEveryMount) {
  VODFS_SKIP_WITHOUT_FUSE();
  PostgresServer& pg = PostgresServer::Shared();
  const std::string url = pg.CreateDatabase();
  EmulatorProcess emulator({"--synthetic", "40", "--synthetic-size", "8K"});
  std::vector<std::unique_ptr<VodfsMount>> mounts;
  for (int i = 0; i < 3; ++i) {
    mounts.push_back(std::make_unique<VodfsMount>(emulator.api(), std::vector<std::string>{"--index", url}));
    ASSERT_TRUE(Eventually([&] { return EntryCount(*mounts.back() / "videos") == 40; }, 60))
        << mounts.back()->LogText();
  }
  int leaders = 0;
  for (auto& m : mounts) leaders += IsLeader(m->path()) ? 1 : 0;
  EXPECT_EQ(leaders, 1);
  for (auto& m : mounts) {
    if (IsLeader(m->path())) continue;
    EXPECT_EQ(MountStats(m->path())["index"].value("api_calls", -1), 0) << "a mount that does not sync lists nothing";
  }
  // The same tree on every mount (names, inode numbers, sizes).
  const auto first = Listing(*mounts[0] / "videos");
  for (auto& m : mounts) EXPECT_EQ(Listing(*m / "videos"), first);
  // A medium's details are fetched once for the fleet: one mount opens
  // every directory, the others then find them in the index.
  for (const auto& [name, meta] : first) EntryCount(*mounts[0] / ("videos/" + name));
  const int64_t details = ApiCalls(emulator, "GetPlayInfo") + ApiCalls(emulator, "GetMezzanineInfo");
  for (size_t i = 1; i < mounts.size(); ++i) {
    for (const auto& [name, meta] : first) {
      EXPECT_EQ(Listing(*mounts[i] / ("videos/" + name)), Listing(*mounts[0] / ("videos/" + name))) << name;
    }
  }
  EXPECT_EQ(ApiCalls(emulator, "GetPlayInfo") + ApiCalls(emulator, "GetMezzanineInfo"), details);
  // A change: `vodfs index sync` asks the syncing mount; every mount sees it.
  emulator.Control("POST", "/library/changes",
                   json::array({{{"op", "add"}, {"kind", "media"}, {"type", "video"}, {"title", "Fresh clip"}}}));
  auto sync = RunProcess(Vodfs({"index", "sync", emulator.api(), "--index", url}), DemoCredentials(), 60);
  ASSERT_EQ(sync.exit_code, 0) << sync.out << sync.err;
  for (auto& m : mounts) {
    EXPECT_TRUE(Eventually([&] { return HasEntryStartingWith(*m / "videos", "Fresh clip ["); }, 15))
        << m->LogText();
    EXPECT_EQ(EntryCount(*m / "videos"), 41u);
  }
  // The password: in no log, no stats, no output.
  EXPECT_EQ(sync.out.find(pg.password()), std::string::npos);
  EXPECT_EQ(sync.err.find(pg.password()), std::string::npos);
  for (auto& m : mounts) {
    const json s = MountStats(m->path());
    EXPECT_NE(s["index"].value("path", "").find("<redacted>"), std::string::npos) << s["index"].dump();
    EXPECT_EQ(s.dump().find(pg.password()), std::string::npos);
    EXPECT_EQ(m->LogText().find(pg.password()), std::string::npos);
  }
}

TEST(FleetMountTest, WhenTheSyncingMountIsKilledAnotherSyncsWithin30Seconds) {
  VODFS_SKIP_WITHOUT_FUSE();
  const std::string url = PostgresServer::Shared().CreateDatabase();
  EmulatorProcess emulator({"--synthetic", "30", "--synthetic-size", "8K"});
  auto a = std::make_unique<VodfsMount>(emulator.api(), std::vector<std::string>{"--index", url});
  ASSERT_TRUE(Eventually([&] { return EntryCount(*a / "videos") == 30; }, 60)) << a->LogText();
  auto b = std::make_unique<VodfsMount>(emulator.api(), std::vector<std::string>{"--index", url});
  ASSERT_TRUE(Eventually([&] { return EntryCount(*b / "videos") == 30; }, 60)) << b->LogText();
  VodfsMount* leader = IsLeader(a->path()) ? a.get() : b.get();
  VodfsMount* survivor = leader == a.get() ? b.get() : a.get();
  ASSERT_TRUE(IsLeader(leader->path()));
  ASSERT_FALSE(IsLeader(survivor->path()));
  leader->process().Signal(SIGKILL);
  // The survivor serves throughout and takes over.
  const auto t0 = Clock::now();
  int errors = 0;
  ASSERT_TRUE(Eventually(
      [&] {
        if (EntryCount(*survivor / "videos") != 30) ++errors;
        return IsLeader(survivor->path());
      },
      35))
      << survivor->LogText();
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(30));
  EXPECT_EQ(errors, 0);
  emulator.Control("POST", "/library/changes",
                   json::array({{{"op", "add"}, {"kind", "media"}, {"type", "video"}, {"title", "After failover"}}}));
  auto sync = RunProcess(Vodfs({"index", "sync", emulator.api(), "--index", url}), DemoCredentials(), 60);
  ASSERT_EQ(sync.exit_code, 0) << sync.out << sync.err << survivor->LogText();
  EXPECT_TRUE(Eventually([&] { return HasEntryStartingWith(*survivor / "videos", "After failover ["); }, 15));
}

// The database stops under a mount and starts again: the mount stays up, a
// file opened before keeps reading right, and once the database is back
// the mount lists and follows changes again, with no remount.
TEST(FleetMountTest, APostgresRestartIsRiddenOut) {
  VODFS_SKIP_WITHOUT_FUSE();
  PostgresServer pg;  // its own cluster: this test stops it
  const std::string url = pg.CreateDatabase();
  EmulatorProcess emulator({"--synthetic", "20", "--synthetic-size", "64K"});
  VodfsMount m(emulator.api(), {"--index", url});
  ASSERT_TRUE(Eventually([&] { return EntryCount(m / "videos") == 20; }, 60)) << m.LogText();
  std::string file;
  for (const auto& e : fs::recursive_directory_iterator(m / "videos")) {
    if (e.is_regular_file() && e.path().filename().string().rfind("source.", 0) == 0) {
      file = e.path().string();
      break;
    }
  }
  ASSERT_FALSE(file.empty());
  const std::string before = Sha256Sum(file);
  std::ifstream open_file(file, std::ios::binary);
  ASSERT_TRUE(open_file.good());
  pg.Stop();
  std::stringstream bytes;
  bytes << open_file.rdbuf();
  EXPECT_EQ(bytes.str().size(), static_cast<size_t>(fs::file_size(file)));
  EXPECT_TRUE(m.process().Running());
  // It says so: in its stats (the follow loop notices within its 5 s).
  EXPECT_TRUE(Eventually([&] { return !MountStats(m.path())["index"].value("unreachable_since", "").empty(); }, 15))
      << MountStats(m.path()).dump();
  pg.Start();
  emulator.Control("POST", "/library/changes",
                   json::array({{{"op", "add"}, {"kind", "media"}, {"type", "video"}, {"title", "Back again"}}}));
  auto sync = RunProcess(Vodfs({"index", "sync", emulator.api(), "--index", url}), DemoCredentials(), 60);
  ASSERT_EQ(sync.exit_code, 0) << sync.out << sync.err;
  EXPECT_TRUE(Eventually([&] { return HasEntryStartingWith(m / "videos", "Back again ["); }, 30)) << m.LogText();
  EXPECT_EQ(Sha256Sum(file), before);
  EXPECT_TRUE(Eventually([&] { return MountStats(m.path())["index"].value("unreachable_since", "x").empty(); }, 15));
  EXPECT_EQ(m.LogText().find(pg.password()), std::string::npos);
}

// The SHA-256 the emulator computes of medium `media`'s source.
std::string SourceSha256(EmulatorProcess& emulator, const json& media) {
  return emulator.Control("GET", "/asset?sha256=1&key=" + str::PercentEncode(media["source_key"].get<std::string>()))
      ["sha256"];
}

// The first source file under a mount's videos/.
std::string SourceOf(const VodfsMount& m) {
  for (const auto& e : fs::recursive_directory_iterator(m.path() + "/videos")) {
    if (e.path().filename() == "source.mp4") return e.path().string();
  }
  return "";
}

// Two mounts of one library share a memcached: what one fetched from the
// origin the other reads from memcached, byte for byte.
TEST(FleetMountTest, ASecondMountReadsWhatTheFirstFetchedFromTheSharedCache) {
  VODFS_SKIP_WITHOUT_FUSE();
  MemcachedServer mc;
  EmulatorProcess emulator({"--synthetic", "1", "--synthetic-size", "16M", "--exact-sizes"});
  const json media = emulator.Control("GET", "/media?index=0");
  const std::string expected = SourceSha256(emulator, media);
  const std::string shared = "memcached://" + mc.Address();
  TempDir cache_a, cache_b;
  VodfsMount a(emulator.api(), {"--cache-dir", cache_a.path(), "--shared-cache", shared});
  VodfsMount b(emulator.api(), {"--cache-dir", cache_b.path(), "--shared-cache", shared});
  const std::string src_a = SourceOf(a), src_b = SourceOf(b);
  ASSERT_FALSE(src_a.empty());
  ASSERT_FALSE(src_b.empty());
  ASSERT_EQ(Sha256Sum(src_a), expected);
  const json sent_before = emulator.Control("GET", "/counters")["media"];
  ASSERT_EQ(Sha256Sum(src_b), expected);
  const json sent_after = emulator.Control("GET", "/counters")["media"];
  const json stats_b = MountStats(b.path());
  // B fetched the head itself (its first answer names the version it
  // pins: 1.7 MiB with the MP4 tail) and read most of the rest of the
  // 16 MiB from memcached. Every memcached request is bounded (20 ms): on
  // a busy 2-core machine a few miss and go to the origin instead, so the
  // bound is a quarter of the file, against all of it without the tier.
  EXPECT_GE(stats_b["cache"]["shared"]["hits"].get<uint64_t>(), 150u) << stats_b["cache"]["shared"].dump();
  EXPECT_LT(sent_after["bytes_served"].get<uint64_t>() - sent_before["bytes_served"].get<uint64_t>(), 4u << 20)
      << sent_before.dump() << " -> " << sent_after.dump();
}

// memcached dies in the middle of a read and comes back empty: every byte
// read is still the origin's, and the read never fails.
TEST(FleetMountTest, MemcachedKilledDuringAReadCostsOnlyMisses) {
  VODFS_SKIP_WITHOUT_FUSE();
  MemcachedServer mc;
  EmulatorProcess emulator({"--synthetic", "1", "--synthetic-size", "32M", "--exact-sizes"});
  const json media = emulator.Control("GET", "/media?index=0");
  const std::string expected = SourceSha256(emulator, media);
  TempDir cache_a, cache_b;
  const std::vector<std::string> shared = {"--shared-cache", "memcached://" + mc.Address()};
  auto with = [&shared](std::vector<std::string> v) {
    v.insert(v.end(), shared.begin(), shared.end());
    return v;
  };
  // A fills memcached; B reads from it, and memcached dies under B's read.
  VodfsMount a(emulator.api(), with({"--cache-dir", cache_a.path()}));
  ASSERT_EQ(Sha256Sum(SourceOf(a)), expected);
  VodfsMount b(emulator.api(), with({"--cache-dir", cache_b.path(), "--disk-cache=false"}));
  const std::string src = SourceOf(b);
  ASSERT_FALSE(src.empty());
  std::ifstream in(src, std::ios::binary);
  ASSERT_TRUE(in.good());
  auth::Sha256Hasher h;
  std::string buf(1 << 20, '\0');
  uint64_t got = 0;
  bool killed = false;
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
    h.Update(std::string_view(buf.data(), static_cast<size_t>(in.gcount())));
    got += static_cast<uint64_t>(in.gcount());
    if (!killed && got >= (8u << 20)) {
      mc.Kill();
      killed = true;
    }
    if (got == (20u << 20)) mc.Start();
  }
  EXPECT_TRUE(killed);
  EXPECT_EQ(got, 32u << 20);
  EXPECT_EQ(h.FinalHex(), expected);
  const json shared_stats = MountStats(b.path())["cache"]["shared"];
  EXPECT_GT(shared_stats["hits"].get<uint64_t>(), 0u) << shared_stats.dump();
  EXPECT_GT(shared_stats["errors"].get<uint64_t>(), 0u) << shared_stats.dump();
}

}  // namespace
}  // namespace vodfs::testing
