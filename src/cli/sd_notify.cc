#include "cli/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace vodfs::cli {

Status NotifyTo(const std::string& notify_socket, std::string_view state) {
  if (notify_socket.empty()) return Status::Ok();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (notify_socket.size() >= sizeof(addr.sun_path) || (notify_socket[0] != '/' && notify_socket[0] != '@')) {
    return Status(ErrorCode::kInvalidArgument, "NOTIFY_SOCKET is neither a path nor an abstract name: " + notify_socket);
  }
  std::memcpy(addr.sun_path, notify_socket.data(), notify_socket.size());
  // "@name": the abstract namespace, whose names start with a NUL byte and
  // are as long as the address length says (no terminating NUL).
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + notify_socket.size() +
                                               (notify_socket[0] == '/' ? 1 : 0));
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status(ErrorCode::kInternal, std::string("Cannot create a socket: ") + std::strerror(errno));
  const ssize_t sent =
      ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), len);
  const int err = errno;
  ::close(fd);
  if (sent != static_cast<ssize_t>(state.size())) {
    return Status(ErrorCode::kUnavailable, "Cannot notify systemd at " + notify_socket + ": " + std::strerror(err));
  }
  return Status::Ok();
}

Status Notify(std::string_view state) {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  return NotifyTo(socket ? socket : "", state);
}

}  // namespace vodfs::cli
