// The library index, mounted for real: a warm remount served with the API
// down, a first mount that appears at once while its listing waits for the
// first sync, images past 5,000, by-id before the first sync, a killed sync,
// a remount that backs up with no per-video API call, SIGHUP.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "support/mount_env.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "vodfs/index/store.h"
#include "vodfs/util/strings.h"

namespace vodfs::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Meta {
  ino_t ino;
  off_t size;
  time_t mtime;
  bool operator==(const Meta& o) const { return ino == o.ino && size == o.size && mtime == o.mtime; }
};

// Every entry under `root` (not following links), but the live stats file.
std::map<std::string, Meta> Walk(const std::string& root) {
  std::map<std::string, Meta> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    struct stat st {};
    if (lstat(e.path().c_str(), &st) != 0) continue;
    const std::string rel = e.path().string().substr(root.size());
    if (rel == "/.vodfs/stats") continue;
    out[rel] = {st.st_ino, st.st_size, st.st_mtime};
  }
  return out;
}

std::vector<std::string> Vodfs(std::vector<std::string> args) {
  args.insert(args.begin(), BuildPath("mount/vodfs"));
  return args;
}

TEST(IndexMountTest, AWarmRemountServesTheTreeWithTheApiDown) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--synthetic", "120", "--synthetic-size", "16K", "--synthetic-hls"});
  TempDir cache;
  std::map<std::string, Meta> first;
  {
    VodfsMount m(emulator.api(), {"--cache_dir", cache.path()});
    ASSERT_EQ(EntryCount(m.path() + "/videos"), 120u);
    first = Walk(m.path());  // every medium's directory: details fetched and indexed
    EXPECT_GT(first.size(), 120u * 8);
  }
  // Every API call fails from now on.
  emulator.Control("POST", "/faults", {{"target", "api"}, {"match", "*"}, {"kind", "error"}, {"status", 503},
                                       {"code", "ServiceUnavailable"}, {"count", -1}});
  VodfsMount m(emulator.api(), {"--cache_dir", cache.path()});
  auto again = Walk(m.path());
  ASSERT_EQ(again.size(), first.size());
  for (const auto& [rel, meta] : first) EXPECT_EQ(again[rel], meta) << rel;
  // The background sync failed, and says since when the API is gone.
  ASSERT_TRUE(Eventually([&] { return MountStats(m.path())["index"]["offline_since"] != ""; }));
  json s = MountStats(m.path());
  EXPECT_TRUE(s["index"]["complete"].get<bool>());
  EXPECT_GE(s["index"]["failures"].get<int>(), 1);
  EXPECT_EQ(s["namespace"]["details_fetched"], 0);  // all from the index
}

TEST(IndexMountTest, AFirstMountAppearsAtOnceAndItsListingWaitsForTheFirstSync) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--synthetic", "1000", "--synthetic-size", "16K"});
  // Each SearchMedia takes a second: the first sync takes at least ten.
  emulator.Control("POST", "/faults", {{"target", "api"}, {"match", "SearchMedia"}, {"kind", "latency"},
                                       {"ms", 1000}, {"count", -1}});
  TempDir cache;
  const auto t0 = Clock::now();
  VodfsMount m(emulator.api(), {"--cache_dir", cache.path()});
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 8.0) << "the mount waited for the listing";
  // While the first sync runs, the stats say so and the index status too.
  json s = MountStats(m.path());
  ASSERT_FALSE(s.is_discarded());
  EXPECT_FALSE(s["index"]["complete"].get<bool>());
  EXPECT_TRUE(s["index"]["sync"]["running"].get<bool>());
  auto status = RunProcess(Vodfs({"index", "status", "--cache_dir", cache.path()}));
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("not listed completely yet"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("syncing    pid"), std::string::npos) << status.out;
  // The listing waits and is then complete: never a part of the library.
  auto ls = RunProcess({"/usr/bin/ls", "-1", m.path() + "/videos"}, {}, 120);
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(str::Split(ls.out, '\n', true).size(), 1000u);
  EXPECT_TRUE(MountStats(m.path())["index"]["complete"].get<bool>());
  status = RunProcess(Vodfs({"index", "status", "--cache_dir", cache.path()}));
  EXPECT_NE(status.out.find("complete (1 full listings)"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("1000 video"), std::string::npos) << status.out;
}

TEST(IndexMountTest, ImagesPastFiveThousandAreAllListed) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--synthetic", "3", "--synthetic-images", "6000", "--qps-scale", "0"});
  VodfsMount m(emulator.api(), {"--qps_scale", "0"});
  auto ls = RunProcess({"/usr/bin/ls", "-1", m.path() + "/images"}, {}, 300);
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  auto names = str::Split(ls.out, '\n', true);
  EXPECT_EQ(names.size(), 6000u);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), 6000u);
  // Sizes are the origin's.
  struct stat st {};
  ASSERT_EQ(stat((m.path() + "/images/" + names[5999]).c_str(), &st), 0);
  EXPECT_GT(st.st_size, 40 * 1024);
  EXPECT_EQ(ApiCalls(emulator, "GetImageInfos"), 300);  // 20 images per call, once each
}

TEST(IndexMountTest, ByIdResolvesAnyMediumBeforeTheFirstSyncEnds) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--synthetic", "1000", "--synthetic-size", "16K"});
  const std::string id = emulator.Control("GET", "/media?index=700")["id"];
  emulator.Control("POST", "/faults", {{"target", "api"}, {"match", "SearchMedia"}, {"kind", "latency"},
                                       {"ms", 1000}, {"count", -1}});
  VodfsMount m(emulator.api());
  const std::string link = m.path() + "/by-id/" + id;
  std::error_code ec;
  const fs::path target = fs::read_symlink(link, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(target.string().rfind("../videos/", 0), 0u) << target;
  EXPECT_TRUE(str::EndsWith(target.string(), "[" + id + "]")) << target;
  // Through the link, the medium's directory opens at once.
  std::ifstream info(link + "/info.json");
  std::stringstream ss;
  ss << info.rdbuf();
  EXPECT_NE(ss.str().find(id), std::string::npos);
  EXPECT_FALSE(MountStats(m.path())["index"]["complete"].get<bool>()) << "the first sync ended before the by-id test";
  EXPECT_EQ(ApiCalls(emulator, "GetVideoInfo"), 1);
  EXPECT_EQ(EntryCount(m.path() + "/by-id"), 0u);  // by-id/ resolves on lookup, and lists nothing
}

TEST(IndexMountTest, AKilledSyncLeavesAnIndexThatOpensAndResumes) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--synthetic", "4000", "--synthetic-size", "16K"});
  emulator.Control("POST", "/faults", {{"target", "api"}, {"match", "SearchMedia"}, {"kind", "latency"},
                                       {"ms", 60}, {"count", -1}});
  TempDir cache;
  const auto env = DemoCredentials();
  const std::string index_path = cache.path() + "/index.db";
  // How far the listing got, as the syncing process records it.
  auto staged = [&index_path]() -> int64_t {
    auto db = index::OpenSqlite({.path = index_path});
    if (!db.ok()) return 0;
    auto store = index::IndexStore::Open(std::move(db).value());
    if (!store.ok()) return 0;
    auto p = (*store)->GetMeta("sync.progress");
    if (!p.ok() || !*p) return 0;
    json j = json::parse(**p, nullptr, false);
    return j.is_object() ? j.value("done", int64_t{0}) : 0;
  };
  {
    TempDir logs;
    Child sync(Vodfs({"index", "sync", emulator.api(), "--cache_dir", cache.path()}), env, logs.path() + "/log");
    // Killed once it has staged part of the listing (its pages are
    // written in batches of 2,000), before it ends (40 pages, 2.4 s).
    ASSERT_TRUE(Eventually([&] { return staged() >= 2100; }, 60)) << ReadFile(logs.path() + "/log");
    sync.Signal(SIGKILL);
    sync.Wait(10);
  }
  auto status = RunProcess(Vodfs({"index", "status", "--cache_dir", cache.path()}));
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("not listed completely yet"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find(" 0 video"), std::string::npos) << "a part of a listing became visible: " << status.out;
  const int64_t before = ApiCalls(emulator, "SearchMedia");
  auto done = RunProcess(Vodfs({"index", "sync", emulator.api(), "--cache_dir", cache.path()}), env, 120);
  ASSERT_EQ(done.exit_code, 0) << done.err;
  // It resumed: fewer calls than the 42 of a whole listing.
  EXPECT_LT(ApiCalls(emulator, "SearchMedia") - before, 30);
  status = RunProcess(Vodfs({"index", "status", "--cache_dir", cache.path()}));
  EXPECT_NE(status.out.find("complete (1 full listings)"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("4000 video"), std::string::npos) << status.out;
  // A mount of it serves at once.
  VodfsMount m(emulator.api(), {"--cache_dir", cache.path()});
  EXPECT_EQ(EntryCount(m.path() + "/videos"), 4000u);
}

TEST(IndexMountTest, ARemountBacksUpWithNoPerVideoApiCall) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--synthetic", "150", "--synthetic-size", "8K", "--qps-scale", "0"});
  TempDir cache, backup;
  {
    VodfsMount m(emulator.api(), {"--cache_dir", cache.path(), "--qps_scale", "0"});
    auto r = RunProcess({"/usr/bin/rsync", "-a", m.path() + "/", backup.path() + "/"}, {}, 300);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  emulator.Control("POST", "/reset");
  VodfsMount m(emulator.api(), {"--cache_dir", cache.path(), "--qps_scale", "0"});
  auto find = RunProcess({"/usr/bin/find", m.path(), "-type", "f"}, {}, 300);
  ASSERT_EQ(find.exit_code, 0);
  auto r = RunProcess({"/usr/bin/rsync", "-a", "--stats", m.path() + "/", backup.path() + "/"}, {}, 300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Number of regular files transferred: 0\n"), std::string::npos) << r.out;
  for (const char* op : {"GetMezzanineInfo", "GetPlayInfo", "ListSnapshots", "GetVideoInfo"}) {
    EXPECT_EQ(ApiCalls(emulator, op), 0) << op;
  }
}

TEST(IndexMountTest, ChangesReachTheMountAndTheKernelForgetsWhatChanged) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--synthetic", "40", "--synthetic-size", "8K"});
  TempDir cache;
  VodfsMount m(emulator.api(), {"--cache_dir", cache.path()});
  ASSERT_EQ(EntryCount(m.path() + "/videos"), 40u);
  const json a = emulator.Control("GET", "/media?index=3");
  const json b = emulator.Control("GET", "/media?index=7");
  const std::string a_id = a["id"], b_id = b["id"];
  auto dir_of = [&m](const std::string& id) {
    for (const auto& e : fs::directory_iterator(m.path() + "/videos")) {
      if (str::EndsWith(e.path().filename().string(), "[" + id + "]")) return e.path().string();
    }
    return std::string();
  };
  const std::string a_old = dir_of(a_id), b_old = dir_of(b_id);
  ASSERT_FALSE(a_old.empty());
  ASSERT_FALSE(b_old.empty());
  // The kernel now holds these names and A's files (its info.json read).
  struct stat st {};
  ASSERT_EQ(stat(b_old.c_str(), &st), 0);
  std::ifstream(a_old + "/info.json").get();
  emulator.Control("POST", "/library/changes",
                   json::array({{{"op", "modify"}, {"kind", "media"}, {"ids", {a_id}}, {"title", "Renamed clip"}},
                                {{"op", "delete"}, {"kind", "media"}, {"ids", {b_id}}},
                                {{"op", "add"}, {"kind", "media"}, {"type", "video"}, {"title", "Fresh clip"}}}));
  // vodfs index sync asks the mount (which holds the index) to sync now.
  auto sync = RunProcess(Vodfs({"index", "sync", emulator.api(), "--cache_dir", cache.path()}), DemoCredentials(), 60);
  ASSERT_EQ(sync.exit_code, 0) << sync.out << sync.err << m.LogText();
  EXPECT_NE(sync.out.find("asked the process that syncs the index"), std::string::npos) << sync.out;
  EXPECT_EQ(EntryCount(m.path() + "/videos"), 40u);  // one gone, one new
  const std::string a_new = dir_of(a_id);
  EXPECT_EQ(fs::path(a_new).filename().string(), "Renamed clip [" + a_id + "]");
  // The kernel forgot the names it had cached (entries are cached 60 s).
  EXPECT_NE(stat(a_old.c_str(), &st), 0);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_NE(stat(b_old.c_str(), &st), 0);
  EXPECT_EQ(errno, ENOENT);
  // The renamed medium's details are read again: its info.json says so.
  std::ifstream info(a_new + "/info.json");
  std::stringstream ss;
  ss << info.rdbuf();
  EXPECT_NE(ss.str().find("Renamed clip"), std::string::npos) << ss.str();
  bool fresh = false;
  for (const auto& e : fs::directory_iterator(m.path() + "/videos")) fresh |= str::StartsWith(e.path().filename().string(), "Fresh clip [");
  EXPECT_TRUE(fresh);
}

TEST(IndexMountTest, SighupSyncsAndReopensTheLog) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--synthetic", "20", "--synthetic-size", "8K"});
  TempDir dir;
  const std::string log = dir.path() + "/vodfs.log";
  VodfsMount m(emulator.api(), {"--log_file", log});
  ASSERT_EQ(EntryCount(m.path() + "/videos"), 20u);
  ASSERT_TRUE(Eventually([&] { return MountStats(m.path())["index"]["syncs"].get<int>() >= 1; }));
  const int syncs = MountStats(m.path())["index"]["syncs"];
  // logrotate: the file is moved away, then vodfs is told.
  ASSERT_EQ(std::rename(log.c_str(), (log + ".1").c_str()), 0);
  m.process().Signal(SIGHUP);
  ASSERT_TRUE(Eventually([&] { return MountStats(m.path())["index"]["syncs"].get<int>() > syncs; }));
  EXPECT_TRUE(IsMounted(m.path())) << "SIGHUP unmounted";
  ASSERT_TRUE(Eventually([&] { return ReadFile(log).find("SIGHUP") != std::string::npos; }));
}

}  // namespace
}  // namespace vodfs::testing
