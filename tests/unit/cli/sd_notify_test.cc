#include "cli/sd_notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "support/temp_dir.h"

namespace vodfs::cli {
namespace {

// A datagram socket as systemd opens one for a Type=notify service, bound
// to `name` (a path, or "@name" for the abstract namespace).
class NotifyListener {
 public:
  explicit NotifyListener(const std::string& name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, name.data(), name.size());
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    if (name[0] == '@') {
      a.sun_path[0] = '\0';
    } else {
      ++len;
    }
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) == 0;
    timeval tv{5, 0};  // a datagram that never comes fails the test, not hangs it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~NotifyListener() { ::close(fd_); }
  bool bound() const { return bound_; }
  std::string Receive() {
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    return n < 0 ? std::string("<nothing>") : std::string(buf, static_cast<size_t>(n));
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

TEST(SdNotifyTest, ReadyReachesAPathSocket) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/notify";
  NotifyListener listener(path);
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
  NotifyListener listener(name);
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
