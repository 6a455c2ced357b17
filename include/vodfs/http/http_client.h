// HttpClient: the network seam of vodfs. Everything above (API client,
// media fetcher) talks HTTP only through this interface; CurlHttpClient is
// the implementation and the only libcurl user. Tests use fakes or a
// loopback server.
//
// Thread-safety: implementations are safe to call from many threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vodfs/util/result.h"

namespace vodfs::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive header lookup (first match).
std::optional<std::string> FindHeader(const Headers& headers, std::string_view name);

struct Request {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
  // Adds "Range: bytes=first-last" (inclusive) when set.
  std::optional<std::pair<uint64_t, uint64_t>> range;
  // Whole-request deadline (0 = none beyond the client's stall detection).
  std::chrono::milliseconds timeout{0};
  // A transfer that moves (almost) nothing for this long is abandoned
  // (kDeadlineExceeded); 0 = the client's low_speed_time.
  std::chrono::seconds stall{0};
  // Set from another thread to abort the transfer (result: kCancelled).
  const std::atomic<bool>* cancel = nullptr;
};

struct ResponseHead {
  int status = 0;
  Headers headers;
  // From Content-Length, when the server sent one.
  std::optional<uint64_t> content_length;
  std::optional<std::string> Header(std::string_view name) const {
    return FindHeader(headers, name);
  }
};

struct Response : ResponseHead {
  std::string body;
};

// Streaming callbacks. on_head is called once when the head is complete;
// on_body with each chunk. Returning false from either aborts the transfer
// and Stream() returns kCancelled.
struct StreamHandler {
  std::function<bool(const ResponseHead&)> on_head;
  std::function<bool(std::string_view chunk)> on_body;
};

// Counters kept by a client (monotonic).
struct ClientStats {
  uint64_t requests = 0;
  uint64_t failures = 0;          // transport errors (no HTTP status)
  uint64_t bytes_received = 0;    // body bytes
  uint64_t connections_made = 0;  // new TCP connections
  std::vector<std::pair<int, uint64_t>> by_status;  // status -> count
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;

  // Sends a request and buffers the body (at most `max_body` bytes; a larger
  // body fails with kResourceExhausted).
  virtual Result<Response> Send(const Request& request, uint64_t max_body = 64 << 20) = 0;

  // Sends a request and hands the body to `handler` as it arrives.
  virtual Result<ResponseHead> Stream(const Request& request, StreamHandler& handler) = 0;

  virtual ClientStats Stats() const = 0;
};

struct CurlOptions {
  std::chrono::milliseconds connect_timeout{10000};
  // A transfer slower than low_speed_bytes per second for low_speed_time is
  // aborted (kDeadlineExceeded): a stalled origin never hangs a reader.
  uint32_t low_speed_bytes = 1024;
  std::chrono::seconds low_speed_time{20};
  std::string ca_file;  // CURLOPT_CAINFO; empty = system default
  std::string ca_path;  // CURLOPT_CAPATH
  bool verify_tls = true;
  std::string user_agent;  // default "vodfs/<version>"
  // Idle connections kept for reuse across requests and threads.
  size_t max_idle_connections = 64;
  // libcurl's receive buffer (CURLOPT_BUFFERSIZE): large bodies arrive in
  // fewer, larger pieces. 0 = libcurl's default (16 KiB).
  size_t receive_buffer = 0;
  // Proxies come from the usual environment variables (http_proxy,
  // https_proxy, no_proxy, all_proxy), which libcurl honours.
};

// Calls curl_global_init once. Safe to call more than once; call it from
// main() before starting threads.
void GlobalInit();

std::unique_ptr<HttpClient> NewCurlHttpClient(const CurlOptions& options = {});

}  // namespace vodfs::http
