// The demo library mounted for real and read with real tools.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "support/mount_env.h"
#include "support/process.h"
#include "vodfs/util/strings.h"

namespace vodfs::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

json Manifest() {
  std::ifstream in(DemoLibraryDir() + "/manifest.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

std::string Pad4(size_t n) {
  char b[16];
  std::snprintf(b, sizeof(b), "%04zu", n);
  return b;
}

// The directory of medium `id` under videos/ or audio/ of a mount.
std::string MediaDir(const std::string& mnt, const std::string& type, const std::string& id) {
  for (const auto& e : fs::directory_iterator(mnt + "/" + (type == "audio" ? "audio" : "videos"))) {
    const std::string name = e.path().filename();
    if (str::EndsWith(name, "[" + id + "]")) return e.path();
  }
  return "";
}

class DemoMountTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!MountUnavailableReason().empty()) return;
    emulator_ = new EmulatorProcess({"--library", DemoLibraryDir()});
    mount_ = new VodfsMount(emulator_->api());
    // The tests look at a listed library: a first listing of videos/ waits
    // for the index's first sync (what a fresh mount does is tested in
    // index_mount_test.cc).
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(mount_->path() + "/videos", ec)) (void)e;
  }
  static void TearDownTestSuite() {
    delete mount_;
    delete emulator_;
    mount_ = nullptr;
    emulator_ = nullptr;
  }
  void SetUp() override {
    VODFS_SKIP_WITHOUT_FUSE();
  }
  static EmulatorProcess* emulator_;
  static VodfsMount* mount_;
};
EmulatorProcess* DemoMountTest::emulator_ = nullptr;
VodfsMount* DemoMountTest::mount_ = nullptr;

// Every file the mount must show, with the library file it must equal
// ("" for files vodfs generates).
std::map<std::string, std::string> ExpectedFiles(const std::string& mnt) {
  std::map<std::string, std::string> out;
  const json m = Manifest();
  const std::string lib = DemoLibraryDir() + "/";
  for (const auto& media : m["media"]) {
    const std::string id = media["id"];
    const std::string dir = MediaDir(mnt, media.value("type", "video"), id);
    EXPECT_FALSE(dir.empty()) << "no directory for " << id;
    if (dir.empty()) continue;
    const std::string rel = dir.substr(mnt.size() + 1) + "/";
    out[rel + "info.json"] = "";
    if (media.contains("source")) {
      std::string fname = media["source"]["file_name"];
      out[rel + "source." + fname.substr(fname.rfind('.') + 1)] = lib + media["source"]["file"].get<std::string>();
    }
    for (const auto& s : media.value("streams", json::array())) {
      if (s.value("status", "Normal") != "Normal" || !s.value("encrypt_type", "").empty()) continue;
      const std::string def = s["definition"], fmt = s["format"];
      if (fmt == "m3u8") {
        std::string pl = s["playlist"];
        std::string base = pl.substr(0, pl.rfind('/') + 1);
        out[rel + def + ".hls/index.m3u8"] = "";
        for (const auto& seg : s["segments"]) out[rel + def + ".hls/" + seg.get<std::string>()] = lib + base + seg.get<std::string>();
      } else {
        out[rel + def + "." + fmt] = lib + s["file"].get<std::string>();
      }
    }
    if (media.contains("cover")) out[rel + "cover.jpg"] = lib + media["cover"].get<std::string>();
    size_t i = 0;
    for (const auto& f : media.value("snapshots", json::array())) out[rel + "snapshots/" + Pad4(++i) + ".jpg"] = lib + f.get<std::string>();
    i = 0;
    for (const auto& f : media.value("sprites", json::array())) out[rel + "sprites/" + Pad4(++i) + ".jpg"] = lib + f.get<std::string>();
    i = 0;
    for (const auto& f : media.value("sprite_originals", json::array())) {
      out[rel + "sprites/originals/" + Pad4(++i) + ".jpg"] = lib + f.get<std::string>();
    }
  }
  for (const auto& img : m["images"]) {
    const std::string file = img["file"];
    const std::string ext = file.substr(file.rfind('.') + 1);
    std::string title = img["title"];
    for (size_t p; (p = title.find('/')) != std::string::npos;) title.replace(p, 1, "\xEF\xBC\x8F");
    out["images/" + title + " [" + img["id"].get<std::string>() + "]." + ext] = lib + file;
  }
  out[".vodfs/stats"] = "";
  out[".vodfs/version"] = "";
  return out;
}

TEST_F(DemoMountTest, FindListsTheWholeLibraryAndEveryByteMatchesTheOrigin) {
  const std::string mnt = mount_->path();
  auto found = RunProcess({"/usr/bin/find", mnt, "-type", "f"});
  ASSERT_EQ(found.exit_code, 0) << found.err;
  std::set<std::string> files;
  for (const auto& line : str::Split(found.out, '\n', true)) files.insert(line.substr(mnt.size() + 1));
  const auto expected = ExpectedFiles(mnt);
  std::set<std::string> want;
  for (const auto& [rel, src] : expected) want.insert(rel);
  EXPECT_EQ(files, want);
  size_t compared = 0;
  for (const auto& [rel, src] : expected) {
    if (src.empty()) continue;
    EXPECT_EQ(Sha256Sum(mnt + "/" + rel), Sha256OfFile(src)) << rel;
    ++compared;
  }
  EXPECT_GT(compared, 60u);
  // Symlinks: every category link resolves into videos/ or audio/.
  auto links = RunProcess({"/usr/bin/find", mnt + "/categories", "-type", "l"});
  size_t n = 0;
  for (const auto& l : str::Split(links.out, '\n', true)) {
    std::error_code ec;
    auto target = fs::canonical(l, ec);
    ASSERT_FALSE(ec) << l;
    EXPECT_TRUE(str::StartsWith(target.string(), mnt + "/videos/") || str::StartsWith(target.string(), mnt + "/audio/"))
        << l << " -> " << target;
    ++n;
  }
  size_t categorised = 0;
  const json manifest = Manifest();
  for (const auto& media : manifest["media"]) categorised += media.value("cate_id", -1) >= 0;
  EXPECT_EQ(n, categorised);
}

TEST_F(DemoMountTest, FfprobeAndFfmpegReadTheMountDirectly) {
  const json m = Manifest();
  const std::string dir = MediaDir(mount_->path(), "video", m["media"][0]["id"]);
  ASSERT_FALSE(dir.empty());
  auto probe = RunProcess({"/usr/bin/ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_type",
                           "-of", "compact", dir + "/source.mp4"});
  ASSERT_EQ(probe.exit_code, 0) << probe.err;
  EXPECT_NE(probe.out.find("duration=10.0"), std::string::npos) << probe.out;
  EXPECT_NE(probe.out.find("codec_type=video"), std::string::npos);
  EXPECT_NE(probe.out.find("codec_type=audio"), std::string::npos);
  auto hls = RunProcess({"/usr/bin/ffprobe", "-v", "error", "-show_entries", "format=duration,format_name", "-of",
                         "compact", dir + "/SD.hls/index.m3u8"});
  ASSERT_EQ(hls.exit_code, 0) << hls.err;
  EXPECT_NE(hls.out.find("format_name=hls"), std::string::npos) << hls.out;
  EXPECT_NE(hls.out.find("duration=10.0"), std::string::npos) << hls.out;
  TempDir out;
  auto remux = RunProcess({"/usr/bin/ffmpeg", "-nostdin", "-v", "error", "-i", dir + "/source.mp4", "-c", "copy",
                           out.path() + "/copy.mp4"});
  ASSERT_EQ(remux.exit_code, 0) << remux.err;
  auto check = RunProcess({"/usr/bin/ffprobe", "-v", "error", "-count_packets", "-show_entries",
                           "stream=nb_read_packets", "-of", "csv=p=0", out.path() + "/copy.mp4"});
  auto orig = RunProcess({"/usr/bin/ffprobe", "-v", "error", "-count_packets", "-show_entries",
                          "stream=nb_read_packets", "-of", "csv=p=0",
                          DemoLibraryDir() + "/" + m["media"][0]["source"]["file"].get<std::string>()});
  EXPECT_EQ(check.out, orig.out);
  // The HLS rendition remuxes too, from the rewritten local playlist.
  auto hls_remux = RunProcess({"/usr/bin/ffmpeg", "-nostdin", "-v", "error", "-i", dir + "/SD.hls/index.m3u8",
                               "-c", "copy", out.path() + "/hls.mp4"});
  EXPECT_EQ(hls_remux.exit_code, 0) << hls_remux.err;
}

TEST_F(DemoMountTest, RsyncTwiceSecondRunCopiesNothing) {
  TempDir dst;
  auto first = RunProcess({"/usr/bin/rsync", "-a", "--stats", mount_->path() + "/", dst.path() + "/"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("Number of regular files transferred: "), std::string::npos);
  auto second = RunProcess({"/usr/bin/rsync", "-a", "--stats", mount_->path() + "/", dst.path() + "/"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("Number of regular files transferred: 0\n"), std::string::npos) << second.out;
  auto diff = RunProcess({"/usr/bin/diff", "-r", "--no-dereference", mount_->path() + "/videos", dst.path() + "/videos"});
  EXPECT_EQ(diff.exit_code, 0) << diff.out;
}

TEST_F(DemoMountTest, HostileTitlesBecomeValidUniqueNames) {
  std::set<std::string> names;
  const json m = Manifest();
  size_t videos = 0;
  for (const auto& e : fs::directory_iterator(mount_->path() + "/videos")) {
    const std::string name = e.path().filename();
    EXPECT_LE(name.size(), 255u) << name;
    EXPECT_TRUE(str::IsValidUtf8(name)) << name;
    EXPECT_EQ(name.find('/'), std::string::npos);
    EXPECT_NE(name, ".");
    EXPECT_NE(name, "..");
    EXPECT_TRUE(names.insert(name).second);
    EXPECT_TRUE(e.is_directory()) << name;
    ++videos;
  }
  size_t expect = 0;
  for (const auto& media : m["media"]) expect += media.value("type", "video") == "video";
  EXPECT_EQ(videos, expect);
  // The ones the demo was made to test.
  auto has = [&](const std::string& prefix) {
    for (const auto& n : names) {
      if (str::StartsWith(n, prefix)) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("Ocean\xEF\xBC\x8FWaves: part 1\xEF\xBC\x8F" "2 ["));
  EXPECT_TRUE(has(".. ["));
  EXPECT_TRUE(has("Launch day 🚀🎬 ["));
  EXPECT_TRUE(has("Très longue vidéo"));
  size_t dups = 0;
  for (const auto& n : names) dups += str::StartsWith(n, "Duplicate title [");
  EXPECT_EQ(dups, 2u);
}

TEST_F(DemoMountTest, MediaThatAreNotPlayableShowWhatExists) {
  const json m = Manifest();
  for (const auto& media : m["media"]) {
    const std::string status = media.value("status", "Normal");
    if (status == "Normal") continue;
    const std::string dir = MediaDir(mount_->path(), "video", media["id"]);
    std::set<std::string> entries;
    for (const auto& e : fs::directory_iterator(dir)) entries.insert(e.path().filename());
    if (status == "Transcoding") {
      EXPECT_EQ(entries, (std::set<std::string>{"info.json", "source.mp4"}));
    } else {
      EXPECT_EQ(entries, std::set<std::string>{"info.json"}) << status;
    }
    std::ifstream in(dir + "/info.json");
    std::stringstream ss;
    ss << in.rdbuf();
    json info = json::parse(ss.str());
    EXPECT_EQ(info["Status"], status);
    EXPECT_EQ(ss.str().find("http"), std::string::npos) << "info.json must not carry URLs";
  }
}

TEST_F(DemoMountTest, EveryWriteIsRefusedWithErofs) {
  const json m = Manifest();
  const std::string dir = MediaDir(mount_->path(), "video", m["media"][0]["id"]);
  const std::string file = dir + "/source.mp4";
  errno = 0;
  EXPECT_EQ(open(file.c_str(), O_WRONLY), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(open(file.c_str(), O_RDWR), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(open((dir + "/new").c_str(), O_CREAT | O_WRONLY, 0644), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(mkdir((dir + "/d").c_str(), 0755), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(unlink(file.c_str()), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(rmdir((dir + "/snapshots").c_str()), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(rename(file.c_str(), (dir + "/x.mp4").c_str()), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(truncate(file.c_str(), 0), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(chmod(file.c_str(), 0600), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(symlink("x", (dir + "/l").c_str()), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(link(file.c_str(), (dir + "/h").c_str()), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(setxattr(file.c_str(), "user.x", "1", 1, 0), -1);
  EXPECT_EQ(errno, EROFS);
  // The tools agree.
  EXPECT_NE(RunProcess({"/usr/bin/touch", file}).exit_code, 0);
  EXPECT_NE(RunProcess({"/usr/bin/setfattr", "-n", "user.x", "-v", "1", file}).exit_code, 0);
}

TEST_F(DemoMountTest, XattrsDescribeTheMedia) {
  const json m = Manifest();
  const std::string id = m["media"][0]["id"];
  const std::string dir = MediaDir(mount_->path(), "video", id);
  auto r = RunProcess({"/usr/bin/getfattr", "-d", dir + "/HD.mp4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("user.vod.video_id=\"" + id + "\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("user.vod.definition=\"HD\""), std::string::npos);
  EXPECT_NE(r.out.find("user.vod.format=\"mp4\""), std::string::npos);
  EXPECT_NE(r.out.find("user.vod.width=\"1280\""), std::string::npos);
  EXPECT_NE(r.out.find("user.vod.height=\"720\""), std::string::npos);
  EXPECT_NE(r.out.find("user.vod.job_id="), std::string::npos);
  EXPECT_NE(r.out.find("user.vod.bitrate="), std::string::npos);
  EXPECT_NE(r.out.find("user.vod.duration="), std::string::npos);
  auto d = RunProcess({"/usr/bin/getfattr", "-n", "user.vod.title", "--only-values", dir});
  EXPECT_EQ(d.out, m["media"][0]["title"].get<std::string>());
  auto missing = RunProcess({"/usr/bin/getfattr", "-n", "user.vod.nothing", dir + "/HD.mp4"});
  EXPECT_NE(missing.exit_code, 0);
}

struct Meta {
  ino_t ino;
  off_t size;
  time_t mtime;
};

std::map<std::string, Meta> Stats(const std::string& root) {
  std::map<std::string, Meta> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    struct stat st {};
    if (lstat(e.path().c_str(), &st) != 0) continue;
    const std::string rel = e.path().string().substr(root.size());
    if (rel.find(".vodfs/stats") != std::string::npos) continue;
    out[rel] = {st.st_ino, st.st_size, st.st_mtime};
  }
  return out;
}

TEST_F(DemoMountTest, MetadataIsStableAcrossReadsAndRemounts) {
  auto before = Stats(mount_->path());
  ASSERT_GT(before.size(), 100u);
  // Reading changes nothing.
  RunProcess({"/usr/bin/find", mount_->path() + "/videos", "-type", "f", "-exec", "cat", "{}", "+"});
  auto after = Stats(mount_->path());
  ASSERT_EQ(before.size(), after.size());
  for (const auto& [rel, m] : before) {
    EXPECT_EQ(after[rel].ino, m.ino) << rel;
    EXPECT_EQ(after[rel].size, m.size) << rel;
    EXPECT_EQ(after[rel].mtime, m.mtime) << rel;
    EXPECT_GT(m.mtime, 1700000000) << rel << ": times come from the library, never 1970";
    EXPECT_LT(m.mtime, 1800000000) << rel << ": ... and never now";
  }
  // A second mount of the same library shows the same inode numbers.
  VodfsMount again(emulator_->api());
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(again.path() + "/videos", ec)) (void)e;  // its first listing
  auto remounted = Stats(again.path());
  ASSERT_EQ(remounted.size(), before.size());
  for (const auto& [rel, m] : before) {
    EXPECT_EQ(remounted[rel].ino, m.ino) << rel;
    EXPECT_EQ(remounted[rel].mtime, m.mtime) << rel;
    EXPECT_EQ(remounted[rel].size, m.size) << rel;
  }
}

TEST_F(DemoMountTest, StatsFileIsJsonAndCounts) {
  std::ifstream in(mount_->path() + "/.vodfs/stats");
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << ss.str();
  EXPECT_GT(j["api"]["calls"]["SearchMedia"].get<int>(), 0);
  EXPECT_TRUE(j["reads"]["bytes_served"].is_number());
  EXPECT_TRUE(j["cache"]["memory"]["hits"].is_number());
  EXPECT_EQ(ss.str().find("Secret"), std::string::npos);
}

TEST(UnmountTest, SigtermAndLazyUnmountWorkWithOpenFiles) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--library", DemoLibraryDir()});
  auto open_source = [](const std::string& mnt, std::string* path) {
    for (const auto& e : fs::recursive_directory_iterator(mnt + "/videos")) {
      if (e.path().filename() == "source.mp4") {
        *path = e.path();
        break;
      }
    }
    return open(path->c_str(), O_RDONLY);
  };
  char buf[4096];
  {
    // SIGTERM: vodfs unmounts and exits even though a file is open.
    VodfsMount m(emulator.api());
    std::string file;
    int fd = open_source(m.path(), &file);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(read(fd, buf, sizeof(buf)), 4096);
    m.process().Signal(SIGTERM);
    EXPECT_EQ(m.process().Wait(20), 0) << m.LogText();
    EXPECT_FALSE(IsMounted(m.path()));
    close(fd);
  }
  {
    // fusermount3 -u -z: the name goes at once; the open file keeps working
    // until it is closed, then vodfs exits.
    VodfsMount m(emulator.api());
    std::string file;
    int fd = open_source(m.path(), &file);
    ASSERT_GE(fd, 0);
    auto u = RunProcess({"/usr/bin/fusermount3", "-u", "-z", m.path()});
    EXPECT_EQ(u.exit_code, 0) << u.err;
    EXPECT_FALSE(IsMounted(m.path()));
    EXPECT_EQ(pread(fd, buf, sizeof(buf), 0), 4096);  // still served after the unmount
    EXPECT_TRUE(m.process().Running());
    close(fd);
    EXPECT_EQ(m.process().Wait(20), 0) << m.LogText();
  }
}

TEST(FstabTest, FstabLineAndMountHelper) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--library", DemoLibraryDir()});
  TempDir dir;
  const std::string mnt = dir.path() + "/mnt";
  fs::create_directory(mnt);
  // What an fstab line carries: credentials in a private config file.
  dir.Write("vodfs.conf", "endpoint = " + emulator.api() +
                              "\naccess_key_id = LTAI5tEmulatorDemoKey\n"
                              "access_key_secret = EmulatorDemoSecret0123456789abcd\n"
                              "log_file = " + dir.path() + "/vodfs.log\ncache_dir = " + dir.path() + "/cache\n");
  chmod((dir.path() + "/vodfs.conf").c_str(), 0600);
  const std::map<std::string, std::string> env = {{"ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true"}};
  // 1. "mount MOUNTPOINT" with an fstab line; mount(8) hands it to
  // mount.fuse3, which runs vodfs. (Installed, the line reads
  // "vod:cn-shanghai /mnt/vod fuse.vodfs config=... 0 0".)
  dir.Write("fstab", BuildPath("mount/vodfs") + "#vod:cn-shanghai " + mnt + " fuse config=" + dir.path() +
                         "/vodfs.conf,nodev,nosuid,_netdev,noauto 0 0\n");
  auto r = RunProcess({"/usr/bin/mount", "--fstab", dir.path() + "/fstab", mnt}, env);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << ReadFile(dir.path() + "/vodfs.log");
  EXPECT_TRUE(IsMounted(mnt));
  EXPECT_TRUE(fs::exists(mnt + "/videos"));
  EXPECT_EQ(RunProcess({"/usr/bin/umount", mnt}).exit_code, 0);
  EXPECT_FALSE(IsMounted(mnt));
  // 2. The mount.vodfs helper, as mount(8) calls it for the type "vodfs".
  std::map<std::string, std::string> henv = env;
  henv["PATH"] = BuildPath("mount") + ":/usr/sbin:/usr/bin:/sbin:/bin";
  auto h = RunProcess({SourcePath("mount/mount.vodfs"), "vod:cn-shanghai", mnt, "-o",
                       "config=" + dir.path() + "/vodfs.conf,rw,noauto", "-n"},
                      henv);
  ASSERT_EQ(h.exit_code, 0) << h.out << h.err << ReadFile(dir.path() + "/vodfs.log");
  EXPECT_TRUE(IsMounted(mnt));
  auto ls = RunProcess({"/usr/bin/ls", mnt + "/videos"});
  EXPECT_EQ(ls.exit_code, 0) << ls.err << ReadFile(dir.path() + "/vodfs.log");
  EXPECT_NE(ls.out.find("Duplicate title"), std::string::npos);
  EXPECT_EQ(RunProcess({"/usr/bin/umount", mnt}).exit_code, 0);
  EXPECT_FALSE(IsMounted(mnt));
}

}  // namespace
}  // namespace vodfs::testing
