// A datagram socket as systemd opens one for a Type=notify service
// ($NOTIFY_SOCKET), for tests of what vodfs tells it.
#pragma once

#include <string>

namespace vodfs::testing {

class NotifySocket {
 public:
  // Bound to `name`: a path, or "@name" in the abstract namespace. A
  // Receive that waits longer than `timeout_seconds` returns "<nothing>"
  // (a message that never comes fails the test instead of hanging it).
  explicit NotifySocket(const std::string& name, int timeout_seconds = 30);
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  bool bound() const { return bound_; }
  std::string Receive();

 private:
  int fd_ = -1;
  bool bound_ = false;
};

}  // namespace vodfs::testing
