// A small HTTP/1.1 server: the emulator's API and origins, tests, and the
// opt-in metrics endpoint of a mount.
//
// Why not a library: the emulator must misbehave on purpose at the byte
// level (reset a connection after N body bytes, stall mid-body, send fewer
// bytes than Content-Length, answer a range with the wrong bytes) and must
// answer Range exactly as OSS does (an unsatisfiable range gets 200 and the
// whole object). cpp-httplib applies Range itself before the handler's bytes
// are written, so the handler could not control either.
//
// Model: one thread per connection, keep-alive, request bodies by
// Content-Length only. A handler gets the parsed request and a
// ResponseWriter; it sends the head once, then body bytes.
//
// Thread-safety: Start/Stop from one thread; handlers run concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "vodfs/util/result.h"
#include "vodfs/util/mutex.h"

namespace vodfs::http {

struct HttpRequest {
  std::string method;
  std::string target;  // as received
  std::string path;    // raw path (percent-encoded)
  std::string query;   // raw, without '?'
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_addr;
  bool remote_is_loopback = false;

  std::optional<std::string> Header(std::string_view name) const;
};

class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  // Sends status line and headers. Content-Length is added from
  // `content_length` unless it is negative (then the connection is closed
  // after the body). Returns false if the peer is gone.
  virtual bool SendHead(int status, const std::vector<std::pair<std::string, std::string>>& headers,
                        int64_t content_length) = 0;
  virtual bool Write(std::string_view data) = 0;
  // Aborts the connection with a TCP reset (SO_LINGER 0).
  virtual void Reset() = 0;
  // Closes the connection after this response even if keep-alive.
  virtual void CloseAfterResponse() = 0;
  // Sleeps up to `ms`, returning early (false) if the server is stopping.
  virtual bool Sleep(int64_t ms) = 0;

  // Convenience: a complete response with a body.
  bool Send(int status, std::string_view content_type, std::string_view body,
            std::vector<std::pair<std::string, std::string>> extra = {});
};

using HttpHandler = std::function<void(const HttpRequest&, ResponseWriter&)>;

class HttpServer {
 public:
  explicit HttpServer(HttpHandler handler, std::string name = "http");
  // Unix time for the Date header (default: the real clock).
  void SetDateSource(std::function<int64_t()> now) { date_source_ = std::move(now); }
  // At most `n` connections are served at once (0, the default: no cap);
  // one past the cap is answered 503 and closed at once, so that a client
  // opening connections in a loop costs no thread each. Call before Serve.
  void SetMaxConnections(size_t n) { max_connections_ = n; }
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting. `port` 0 picks a free port.
  Status Start(const std::string& bind_address, int port);
  // The two halves of Start: bind and listen (connections queue up), then
  // accept on a thread of its own (e.g. after a daemonising fork).
  Status Listen(const std::string& bind_address, int port);
  void Serve();
  void Stop();
  int port() const { return port_; }
  const std::string& bind_address() const { return bind_address_; }
  // http://address:port
  std::string BaseUrl() const;
  size_t open_connections() const;

 private:
  struct Conn;
  void AcceptLoop();
  void Serve(Conn* conn);

  HttpHandler handler_;
  std::function<int64_t()> date_source_;
  std::string name_;
  std::string bind_address_;
  int port_ = 0;
  int listen_fd_ = -1;
  size_t max_connections_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  mutable Mutex mu_;
  CondVar cv_;
  std::list<Conn*> conns_ GUARDED_BY(mu_);
  std::vector<std::thread> finished_ GUARDED_BY(mu_);
};

}  // namespace vodfs::http
