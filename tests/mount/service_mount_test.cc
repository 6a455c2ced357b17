// vodfs as a system service: what systemd sees of it (the notification
// protocol over $NOTIFY_SOCKET, SIGINT like SIGTERM), and the unit,
// config and completion files the package installs.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "cli/options.h"
#include "support/mount_env.h"
#include "support/notify_socket.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace vodfs::testing {
namespace {


TEST(ServiceMountTest, ReadyOnceMountedAndStoppingWhenUnmounted) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--synthetic", "2", "--synthetic-size", "8K"});
  TempDir dir;
  const std::string socket = dir.path() + "/notify";
  NotifySocket notify(socket);
  ASSERT_TRUE(notify.bound());
  VodfsMount m(emulator.api(), {}, {{"NOTIFY_SOCKET", socket}});
  const std::string ready = notify.Receive();
  EXPECT_EQ(ready, "READY=1\nSTATUS=mounted on " + m.path()) << m.LogText();
  EXPECT_TRUE(IsMounted(m.path())) << "READY=1 came before the mount was usable";
  EXPECT_EQ(m.Unmount(), 0) << m.LogText();
  EXPECT_EQ(notify.Receive(), "STOPPING=1");
}

TEST(ServiceMountTest, TheUnitsCommandLineMounts) {
  VODFS_SKIP_WITHOUT_FUSE();
  // vodfs@.service runs: vodfs --foreground --config /etc/vodfs/%i.conf vod: %f
  // The SOURCE "vod:" leaves the library to the config file.
  EmulatorProcess emulator({"--synthetic", "2", "--synthetic-size", "8K"});
  TempDir dir;
  dir.Write("instance.conf", "endpoint = " + emulator.api() + "\n");
  VodfsMount m("vod:", {"--config", dir.path() + "/instance.conf"});
  size_t n = 0;
  for (auto it = std::filesystem::directory_iterator(m.path() + "/videos"); it != std::filesystem::directory_iterator();
       ++it) {
    ++n;
  }
  EXPECT_EQ(n, 2u) << m.LogText();
}

TEST(ServiceMountTest, SigintUnmountsLikeSigterm) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--synthetic", "1", "--synthetic-size", "8K"});
  VodfsMount m(emulator.api());
  m.process().Signal(SIGINT);
  EXPECT_EQ(m.process().Wait(20), 0) << m.LogText();
  EXPECT_FALSE(IsMounted(m.path()));
}

TEST(ServiceMountTest, AutoUnmountCleansUpAfterAKill) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--synthetic", "1", "--synthetic-size", "8K"});
  VodfsMount m(emulator.api(), {"-o", "auto_unmount"});
  m.process().Signal(SIGKILL);  // no chance to unmount itself
  m.process().Wait(10);
  // fusermount3, left behind by the mount, unmounts once /dev/fuse closes.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (IsMounted(m.path()) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling for the unmount
  }
  EXPECT_FALSE(IsMounted(m.path())) << "a killed vodfs left its mount behind despite auto_unmount";
}

TEST(ServiceFilesTest, UnitIsTypeNotifyAndUnmountsOnStop) {
  const std::string unit = ReadFile(SourcePath("mount/vodfs@.service"));
  ASSERT_FALSE(unit.empty());
  EXPECT_NE(unit.find("\nType=notify\n"), std::string::npos);
  // In the foreground, so that the main PID is the one that notifies.
  EXPECT_NE(unit.find("\nExecStart=/usr/bin/vodfs --foreground --config /etc/vodfs/%i.conf vod: %f\n"),
            std::string::npos);
  EXPECT_NE(unit.find("\nExecStop=/bin/fusermount3 -u -z %f\n"), std::string::npos);
  EXPECT_NE(unit.find("\nExecReload=/bin/kill -HUP $MAINPID\n"), std::string::npos);
  EXPECT_NE(unit.find("After=network-online.target"), std::string::npos);
}

TEST(ServiceFilesTest, ExampleConfigIsValidAndCompletionLoads) {
  // The example /etc/vodfs.conf is read as vodfs reads a --config file.
  auto o = cli::ParseArgs({"--config", SourcePath("mount/vodfs.conf")});
  ASSERT_TRUE(o.ok()) << o.error().ToString();
  EXPECT_EQ(o->region, "cn-shanghai");
  // The completion script defines its function and registers it.
  auto r = RunProcess({"/bin/bash", "-c", "source \"$0\" && complete -p vodfs", SourcePath("mount/vodfs.bash-completion")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("complete -F _vodfs vodfs"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace vodfs::testing
