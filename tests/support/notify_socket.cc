#include "support/notify_socket.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

namespace vodfs::testing {

NotifySocket::NotifySocket(const std::string& name, int timeout_seconds) {
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (fd_ < 0 || name.empty() || name.size() >= sizeof(a.sun_path)) return;
  std::memcpy(a.sun_path, name.data(), name.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
  if (name[0] == '@') {
    a.sun_path[0] = '\0';
  } else {
    ++len;
  }
  bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) == 0;
  timeval tv{timeout_seconds, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

NotifySocket::~NotifySocket() {
  if (fd_ >= 0) ::close(fd_);
}

std::string NotifySocket::Receive() {
  char buf[4096];
  const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
  return n < 0 ? std::string("<nothing>") : std::string(buf, static_cast<size_t>(n));
}

}  // namespace vodfs::testing
