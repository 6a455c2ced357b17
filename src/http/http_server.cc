#include "vodfs/http/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "vodfs/util/log.h"
#include "vodfs/util/mutex.h"
#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"

namespace vodfs::http {
namespace {

constexpr size_t kMaxHeaderBytes = 64 * 1024;
constexpr size_t kMaxBodyBytes = 4 * 1024 * 1024;
constexpr int kIdleTimeoutMs = 60000;

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 410: return "Gone";
    case 413: return "Payload Too Large";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

}  // namespace

std::optional<std::string> HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (str::EqualsIgnoreCase(k, name)) return v;
  }
  return std::nullopt;
}

bool ResponseWriter::Send(int status, std::string_view content_type, std::string_view body,
                          std::vector<std::pair<std::string, std::string>> extra) {
  if (!content_type.empty()) extra.emplace_back("Content-Type", std::string(content_type));
  if (!SendHead(status, extra, static_cast<int64_t>(body.size()))) return false;
  return body.empty() || Write(body);
}

struct HttpServer::Conn final : public ResponseWriter {
  HttpServer* server = nullptr;
  int fd = -1;
  std::string remote;
  bool loopback = false;
  std::thread thread;
  bool head_sent = false;
  bool close_after = false;
  bool broken = false;
  bool is_head_request = false;
  int64_t declared_length = -1;
  int64_t written = 0;
  std::string buffer;  // bytes read but not consumed

  bool WriteAll(const char* data, size_t n) {
    while (n > 0) {
      ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
          pollfd p{fd, POLLOUT, 0};
          if (::poll(&p, 1, 1000) < 0 && errno != EINTR) return false;
          if (server->stopping_) return false;
          continue;
        }
        broken = true;
        return false;
      }
      data += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }

  bool SendHead(int status, const std::vector<std::pair<std::string, std::string>>& headers,
                int64_t content_length) override {
    if (head_sent || broken) return false;
    head_sent = true;
    declared_length = content_length;
    std::string head = "HTTP/1.1 " + std::to_string(status) + " " + Reason(status) + "\r\n";
    const int64_t now = server->date_source_ ? server->date_source_()
                                             : static_cast<int64_t>(::time(nullptr));
    head += "Date: " + timefmt::FormatHttpDate(now) + "\r\n";
    for (const auto& [k, v] : headers) head += k + ": " + v + "\r\n";
    if (content_length >= 0) {
      head += "Content-Length: " + std::to_string(content_length) + "\r\n";
    } else {
      close_after = true;
    }
    if (close_after) head += "Connection: close\r\n";
    head += "\r\n";
    return WriteAll(head.data(), head.size());
  }

  bool Write(std::string_view data) override {
    if (!head_sent || broken) return false;
    if (is_head_request) return true;
    written += static_cast<int64_t>(data.size());
    return WriteAll(data.data(), data.size());
  }

  void Reset() override {
    linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    ::shutdown(fd, SHUT_RDWR);
    broken = true;
  }

  void CloseAfterResponse() override { close_after = true; }

  bool Sleep(int64_t ms) override {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    MutexLock lock(&server->mu_);
    while (!server->stopping_.load()) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return true;
      server->cv_.WaitFor(&server->mu_, deadline - now);
    }
    return false;
  }

  // Reads until "\r\n\r\n" is in the buffer. Returns false on EOF/error/idle.
  bool ReadMore(int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    int elapsed = 0;
    while (true) {
      int r = ::poll(&p, 1, 500);
      if (server->stopping_) return false;
      if (r < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      if (r == 0) {
        elapsed += 500;
        if (elapsed >= timeout_ms) return false;
        continue;
      }
      char tmp[16384];
      ssize_t n = ::recv(fd, tmp, sizeof(tmp), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buffer.append(tmp, static_cast<size_t>(n));
      return true;
    }
  }
};

HttpServer::HttpServer(HttpHandler handler, std::string name)
    : handler_(std::move(handler)), name_(std::move(name)) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start(const std::string& bind_address, int port) {
  VODFS_RETURN_IF_ERROR(Listen(bind_address, port));
  Serve();
  return Status::Ok();
}

void HttpServer::Serve() {
  if (listen_fd_ < 0 || accept_thread_.joinable()) return;
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

Status HttpServer::Listen(const std::string& bind_address, int port) {
  if (listen_fd_ >= 0) return Status(ErrorCode::kFailedPrecondition, "already listening");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
  addrinfo* res = nullptr;
  std::string port_str = std::to_string(port);
  if (int rc = ::getaddrinfo(bind_address.c_str(), port_str.c_str(), &hints, &res); rc != 0) {
    return Status(ErrorCode::kInvalidArgument,
                  "Cannot resolve bind address " + bind_address + ": " + gai_strerror(rc));
  }
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ::freeaddrinfo(res);
    return Status(ErrorCode::kUnavailable, std::string("socket: ") + std::strerror(errno));
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, 512) != 0) {
    int err = errno;
    ::freeaddrinfo(res);
    ::close(fd);
    return Status(ErrorCode::kUnavailable, "Cannot listen on " + bind_address + ":" + port_str +
                                               ": " + std::strerror(err));
  }
  ::freeaddrinfo(res);
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  port_ = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                         : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  bind_address_ = bind_address;
  listen_fd_ = fd;
  stopping_ = false;
  return Status::Ok();
}

std::string HttpServer::BaseUrl() const {
  std::string host = bind_address_;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(port_);
}

size_t HttpServer::open_connections() const {
  MutexLock lock(&mu_);
  return conns_.size();
}

void HttpServer::Stop() {
  if (listen_fd_ < 0) return;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    for (Conn* c : conns_) ::shutdown(c->fd, SHUT_RDWR);
  }
  cv_.SignalAll();
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (accept_thread_.joinable()) accept_thread_.join();
  ::close(listen_fd_);
  listen_fd_ = -1;
  std::vector<std::thread> done;
  {
    MutexLock lock(&mu_);
    while (!conns_.empty()) cv_.Wait(&mu_);
    done.swap(finished_);
  }
  for (auto& t : done) t.join();
}

void HttpServer::AcceptLoop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    int r = ::poll(&p, 1, 200);
    if (r <= 0) continue;
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto* conn = new Conn();
    conn->server = this;
    conn->fd = fd;
    char host[INET6_ADDRSTRLEN] = "?";
    if (ss.ss_family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
      conn->loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    } else if (ss.ss_family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
      conn->loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) ||
                       (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127);
    }
    conn->remote = host;
    MutexLock lock(&mu_);
    // Reap threads of connections that already ended.
    for (auto& t : finished_) t.join();
    finished_.clear();
    if (max_connections_ != 0 && conns_.size() >= max_connections_) {
      static constexpr std::string_view kBusy =
          "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\nRetry-After: 1\r\n\r\n";
      (void)!::send(fd, kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      delete conn;
      continue;
    }
    conns_.push_back(conn);
    conn->thread = std::thread([this, conn] { Serve(conn); });
  }
}

void HttpServer::Serve(Conn* conn) {
  while (!stopping_ && !conn->broken) {
    // Read the head.
    size_t head_end;
    while ((head_end = conn->buffer.find("\r\n\r\n")) == std::string::npos) {
      if (conn->buffer.size() > kMaxHeaderBytes || !conn->ReadMore(kIdleTimeoutMs)) {
        head_end = std::string::npos;
        break;
      }
    }
    if (head_end == std::string::npos) break;
    std::string head = conn->buffer.substr(0, head_end);
    conn->buffer.erase(0, head_end + 4);

    HttpRequest req;
    req.remote_addr = conn->remote;
    req.remote_is_loopback = conn->loopback;
    auto lines = str::Split(head, '\n');
    bool bad = lines.empty();
    if (!bad) {
      std::string first(str::Trim(lines[0]));
      auto parts = str::Split(first, ' ', true);
      if (parts.size() != 3 || !str::StartsWith(parts[2], "HTTP/1.")) {
        bad = true;
      } else {
        req.method = parts[0];
        req.target = parts[1];
        size_t q = req.target.find('?');
        req.path = req.target.substr(0, q);
        if (q != std::string::npos) req.query = req.target.substr(q + 1);
        if (parts[2] == "HTTP/1.0") conn->close_after = true;
      }
      for (size_t i = 1; i < lines.size() && !bad; ++i) {
        std::string_view line = str::Trim(lines[i]);
        if (line.empty()) continue;
        size_t colon = line.find(':');
        if (colon == std::string_view::npos) {
          bad = true;
          break;
        }
        req.headers.emplace_back(std::string(str::Trim(line.substr(0, colon))),
                                 std::string(str::Trim(line.substr(colon + 1))));
      }
    }
    int64_t body_len = 0;
    if (!bad) {
      if (auto cl = req.Header("Content-Length")) {
        auto v = str::ParseInt64(*cl);
        if (!v || *v < 0) bad = true;
        else body_len = *v;
      }
      if (req.Header("Transfer-Encoding")) bad = true;  // not supported
    }
    if (bad || static_cast<size_t>(body_len) > kMaxBodyBytes) {
      conn->close_after = true;
      conn->head_sent = false;
      conn->Send(bad ? 400 : 413, "text/plain", bad ? "bad request\n" : "too large\n");
      break;
    }
    while (conn->buffer.size() < static_cast<size_t>(body_len)) {
      if (!conn->ReadMore(kIdleTimeoutMs)) {
        conn->broken = true;
        break;
      }
    }
    if (conn->broken) break;
    req.body = conn->buffer.substr(0, static_cast<size_t>(body_len));
    conn->buffer.erase(0, static_cast<size_t>(body_len));
    if (auto c = req.Header("Connection"); c && str::EqualsIgnoreCase(*c, "close")) {
      conn->close_after = true;
    }

    conn->head_sent = false;
    conn->written = 0;
    conn->declared_length = -1;
    conn->is_head_request = req.method == "HEAD";
    handler_(req, *conn);
    if (!conn->head_sent) {
      conn->Send(500, "text/plain", "handler sent no response\n");
    }
    if (conn->broken) break;
    // A body shorter than declared leaves the stream unusable: close it.
    if (!conn->is_head_request && conn->declared_length >= 0 &&
        conn->written != conn->declared_length) {
      break;
    }
    if (conn->close_after) break;
  }
  ::shutdown(conn->fd, SHUT_WR);
  ::close(conn->fd);
  MutexLock lock(&mu_);
  conns_.remove(conn);
  finished_.push_back(std::move(conn->thread));
  delete conn;
  cv_.SignalAll();
}

}  // namespace vodfs::http
