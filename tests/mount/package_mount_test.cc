// The Debian packages, built by CPack from this build tree, hold what
// DEPLOYMENT.md says, and the installed files mount: `mount -t vodfs` and
// an fstab line, as mount(8) runs them, with the package's /sbin/mount.vodfs
// and /usr/bin/vodfs.
//
// The package is extracted into a throw-away root rather than installed on
// the host; mount(8) looks for helpers only in /sbin, so the mounts run in
// a private mount namespace where the root's sbin is bound over /usr/sbin
// (/sbin is a link to it on Debian). Everything mounted there is unmounted
// by the script, and lazily by its exit trap should a step fail.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "support/mount_env.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "vodfs/util/strings.h"

namespace vodfs::testing {
namespace {

namespace fs = std::filesystem;

std::string FindDeb(const std::string& dir, const std::string& package) {
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (str::StartsWith(name, package + "_") && str::EndsWith(name, ".deb")) return e.path().string();
  }
  return "";
}

// Runs in the private mount namespace: $1 root, $2 mount point, $3 config
// file, $4 fstab. The root's sbin is bound over /usr/sbin (/sbin links to
// it on Debian) and its usr/bin over /usr/local/bin (and /usr/bin/vodfs, if
// the host has one), so that the package's mount.vodfs and vodfs are the
// ones mount(8) runs.
constexpr const char* kMountScript = R"sh(set -eu
root=$1 mnt=$2 conf=$3 fstab=$4
mount --bind "$root/sbin" /usr/sbin
# mount(8) runs helpers with a PATH of its own: mount.vodfs then finds
# vodfs where it looks without one, which here is the package's.
mount --bind "$root/usr/bin" /usr/local/bin
if [ -e /usr/bin/vodfs ]; then mount --bind "$root/usr/bin/vodfs" /usr/bin/vodfs; fi
trap 'umount -l "$mnt" 2>/dev/null || true' EXIT
echo "vodfs=$(/sbin/mount.vodfs 2>&1 | head -1)"
mount -t vodfs vod:cn-shanghai "$mnt" -o "config=$conf,nodev,nosuid"
echo "type=$(awk -v m="$mnt" '$2 == m { print $3 }' /proc/self/mounts)"
echo "typed=$(ls "$mnt/videos" | wc -l)"
umount "$mnt"
echo "after_typed=$(awk -v m="$mnt" '$2 == m' /proc/self/mounts | wc -l)"
mount -T "$fstab" "$mnt"
echo "fstab=$(ls "$mnt/videos" | wc -l)"
umount "$mnt"
echo "after_fstab=$(awk -v m="$mnt" '$2 == m' /proc/self/mounts | wc -l)"
)sh";

TEST(PackageTest, DebPackagesInstallAndMountWithMountAndFstab) {
  VODFS_SKIP_WITHOUT_FUSE();
  TempDir dir;
  const std::string pkgs = dir.path() + "/pkgs";
  auto cpack = RunProcess({VODFS_TEST_CPACK, "-G", "DEB", "--config", BuildPath("CPackConfig.cmake"), "-B", pkgs}, {}, 600);
  ASSERT_EQ(cpack.exit_code, 0) << cpack.out << cpack.err;
  const std::string vodfs_deb = FindDeb(pkgs, "vodfs");
  const std::string emulator_deb = FindDeb(pkgs, "vodfs-emulator");
  ASSERT_FALSE(vodfs_deb.empty()) << cpack.out;
  ASSERT_FALSE(emulator_deb.empty()) << cpack.out;

  // Declared dependencies, with the versions the build asks for.
  auto depends = RunProcess({"/usr/bin/dpkg-deb", "-f", vodfs_deb, "Depends"});
  EXPECT_NE(depends.out.find("fuse3"), std::string::npos) << depends.out;
  EXPECT_NE(depends.out.find("libfuse3-3 (>= 3.12)"), std::string::npos) << depends.out;
  EXPECT_NE(depends.out.find("libcurl4 (>= 7.85)"), std::string::npos) << depends.out;
  EXPECT_NE(RunProcess({"/usr/bin/dpkg-deb", "-f", emulator_deb, "Depends"}).out.find("libcurl4"), std::string::npos);

  // The files, and the emulator kept apart.
  auto listing = RunProcess({"/usr/bin/dpkg-deb", "-c", vodfs_deb});
  for (const char* f : {"./usr/bin/vodfs", "./sbin/mount.vodfs", "./etc/vodfs.conf", "./lib/systemd/system/vodfs@.service",
                        "./usr/share/man/man1/vodfs.1", "./usr/share/man/man8/mount.vodfs.8",
                        "./usr/share/bash-completion/completions/vodfs", "./usr/share/doc/vodfs/README.md",
                        "./usr/share/doc/vodfs/CONFIGURATION.md", "./usr/share/doc/vodfs/DEPLOYMENT.md"}) {
    EXPECT_NE(listing.out.find(std::string(f) + "\n"), std::string::npos) << f << " is not in the package:\n" << listing.out;
  }
  EXPECT_EQ(listing.out.find("vodfs-emulator"), std::string::npos) << listing.out;
  EXPECT_NE(RunProcess({"/usr/bin/dpkg-deb", "-c", emulator_deb}).out.find("./usr/bin/vodfs-emulator\n"), std::string::npos);
  auto control = RunProcess({"/usr/bin/dpkg-deb", "-I", vodfs_deb, "conffiles"});
  EXPECT_NE(control.out.find("/etc/vodfs.conf"), std::string::npos) << control.out << control.err;

  const std::string root = dir.path() + "/root";
  ASSERT_EQ(RunProcess({"/usr/bin/dpkg-deb", "-x", vodfs_deb, root}).exit_code, 0);
  struct stat st {};
  ASSERT_EQ(::stat((root + "/etc/vodfs.conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u) << "the example config holds a secret once edited";
  // Stripped: neither debug information nor a symbol table.
  auto sections = RunProcess({"/usr/bin/readelf", "-S", "-W", root + "/usr/bin/vodfs"});
  ASSERT_EQ(sections.exit_code, 0) << sections.err;
  EXPECT_EQ(sections.out.find(".debug_info"), std::string::npos);
  EXPECT_EQ(sections.out.find(".symtab"), std::string::npos);
  // The installed binary runs and its man page is installed beside it.
  auto version = RunProcess({root + "/usr/bin/vodfs", "--version"});
  EXPECT_EQ(version.exit_code, 0) << version.err;

  // Mount the emulator's library with the installed files.
  EmulatorProcess emulator({"--synthetic", "6", "--synthetic-size", "8K"});
  const std::string mnt = dir.path() + "/mnt";
  fs::create_directory(mnt);
  const std::string conf = dir.path() + "/vodfs.conf";
  dir.Write("vodfs.conf", "endpoint = " + emulator.api() +
                              "\naccess-key-id = LTAI5tEmulatorDemoKey\n"
                              "access-key-secret = EmulatorDemoSecret0123456789abcd\n"
                              "log-file = " + dir.path() + "/vodfs.log\ncache-dir = " + dir.path() + "/cache\n");
  ASSERT_EQ(::chmod(conf.c_str(), 0600), 0);
  const std::string fstab = dir.path() + "/fstab";
  dir.Write("fstab", "vod:cn-shanghai " + mnt + " vodfs config=" + conf + ",_netdev,noauto 0 0\n");
  auto r = RunProcess({"/usr/bin/unshare", "--mount", "--propagation", "private", "sh", "-c", kMountScript, "sh", root, mnt,
                       conf, fstab},
                      {{"ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true"}}, 300);
  const std::string log = ReadFile(dir.path() + "/vodfs.log");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << log;
  EXPECT_NE(r.out.find("vodfs=usage: mount.vodfs"), std::string::npos) << "the package's helper runs: " << r.out;
  EXPECT_NE(r.out.find("type=fuse.vodfs\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("typed=6\n"), std::string::npos) << r.out << log;
  EXPECT_NE(r.out.find("after_typed=0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fstab=6\n"), std::string::npos) << r.out << log;
  EXPECT_NE(r.out.find("after_fstab=0\n"), std::string::npos) << r.out;
  EXPECT_FALSE(IsMounted(mnt)) << "a mount escaped the private namespace";
}

}  // namespace
}  // namespace vodfs::testing
