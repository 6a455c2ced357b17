#include "cli/sd_notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "support/notify_socket.h"
#include "support/temp_dir.h"

namespace vodfs::cli {
namespace {

using testing::NotifySocket;

TEST(SdNotifyTest, ReadyReachesAPathSocket) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/notify";
  NotifySocket listener(path, 5);
  ASSERT_TRUE(listener.bound());
  ASSERT_TRUE(NotifyTo(path, "READY=1\nSTATUS=mounted").ok());
  EXPECT_EQ(listener.Receive(), "READY=1\nSTATUS=mounted");
  // Through the environment, as systemd hands it over.
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  ASSERT_TRUE(Notify("STOPPING=1").ok());
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_EQ(listener.Receive(), "STOPPING=1");
}

TEST(SdNotifyTest, ReadyReachesAnAbstractSocket) {
  const std::string name = "@vodfs-sd-notify-test-" + std::to_string(::getpid());
  NotifySocket listener(name, 5);
  ASSERT_TRUE(listener.bound());
  ASSERT_TRUE(NotifyTo(name, "READY=1").ok());
  EXPECT_EQ(listener.Receive(), "READY=1");
}

TEST(SdNotifyTest, NoSocketIsNotAnError) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_TRUE(Notify("READY=1").ok());
  EXPECT_FALSE(NotifyTo("relative/path", "READY=1").ok());
  testing::TempDir dir;
  EXPECT_EQ(NotifyTo(dir.path() + "/nobody-listens", "READY=1").code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace vodfs::cli
