#include <curl/curl.h>

#include <algorithm>
#include <map>
#include <vector>

#include "vodfs/http/http_client.h"
#include "vodfs/util/log.h"
#include "vodfs/util/mutex.h"
#include "vodfs/util/strings.h"
#include "vodfs/version.h"

namespace vodfs::http {

std::optional<std::string> FindHeader(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (str::EqualsIgnoreCase(k, name)) return v;
  }
  return std::nullopt;
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

namespace {

// RAII for curl_slist.
struct SlistDeleter {
  void operator()(curl_slist* s) const { curl_slist_free_all(s); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;

// One transfer's state, reachable from the C callbacks.
struct Transfer {
  ResponseHead head;
  bool head_done = false;
  bool aborted_by_handler = false;
  bool too_large = false;
  uint64_t received = 0;
  StreamHandler* handler = nullptr;
  const std::atomic<bool>* cancel = nullptr;

  // Headers of the final response only (a 100-continue or redirect resets).
  static size_t OnHeader(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::string_view line(data, size * n);
    if (str::StartsWith(line, "HTTP/")) {
      t->head = ResponseHead();
      t->head_done = false;
      return size * n;
    }
    std::string_view trimmed = str::Trim(line);
    if (trimmed.empty()) return size * n;
    size_t colon = trimmed.find(':');
    if (colon != std::string_view::npos) {
      t->head.headers.emplace_back(std::string(str::Trim(trimmed.substr(0, colon))),
                                   std::string(str::Trim(trimmed.substr(colon + 1))));
    }
    return size * n;
  }

  bool FinishHead(CURL* curl) {
    if (head_done) return true;
    head_done = true;
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    head.status = static_cast<int>(code);
    if (auto cl = head.Header("Content-Length")) {
      if (auto v = str::ParseUint64(*cl)) head.content_length = *v;
    }
    if (handler && handler->on_head && !handler->on_head(head)) {
      aborted_by_handler = true;
      return false;
    }
    return true;
  }

  CURL* curl = nullptr;

  static size_t OnBody(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t len = size * n;
    if (!t->FinishHead(t->curl)) return 0;
    t->received += len;
    if (t->handler && t->handler->on_body && !t->handler->on_body(std::string_view(data, len))) {
      t->aborted_by_handler = true;
      return 0;
    }
    return len;
  }

  static int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* t = static_cast<Transfer*>(user);
    return (t->cancel && t->cancel->load(std::memory_order_relaxed)) ? 1 : 0;
  }
};

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(const CurlOptions& options) : options_(options) {
    GlobalInit();
    if (options_.user_agent.empty()) options_.user_agent = std::string("vodfs/") + kVersion;
    share_ = curl_share_init();
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &CurlHttpClient::Lock);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &CurlHttpClient::Unlock);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  }

  ~CurlHttpClient() override {
    {
      MutexLock lock(&pool_mu_);
      pool_.clear();
    }
    curl_share_cleanup(share_);
  }

  Result<Response> Send(const Request& request, uint64_t max_body) override {
    Response out;
    StreamHandler h;
    bool too_large = false;
    h.on_head = [&](const ResponseHead& head) {
      if (head.content_length && *head.content_length > max_body) {
        too_large = true;
        return false;
      }
      if (head.content_length) out.body.reserve(static_cast<size_t>(*head.content_length));
      return true;
    };
    h.on_body = [&](std::string_view chunk) {
      if (out.body.size() + chunk.size() > max_body) {
        too_large = true;
        return false;
      }
      out.body.append(chunk);
      return true;
    };
    auto head = Stream(request, h);
    if (too_large) {
      return Error(ErrorCode::kResourceExhausted,
                   "response body larger than " + std::to_string(max_body) + " bytes");
    }
    if (!head.ok()) return head.error();
    static_cast<ResponseHead&>(out) = std::move(head).value();
    return out;
  }

  Result<ResponseHead> Stream(const Request& request, StreamHandler& handler) override {
    Easy easy = Acquire();
    CURL* c = easy.get();
    Transfer t;
    t.handler = &handler;
    t.cancel = request.cancel;
    t.curl = c;

    curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
    // Handles are pooled: reset everything a previous request may have set.
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, nullptr);
    curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, nullptr);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(-1));
    if (request.method == "GET") {
      curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (request.method == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (request.method == "POST") {
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    } else {
      curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      if (!request.body.empty()) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      }
    }
    Slist headers;
    auto add = [&headers](const std::string& h) {
      curl_slist* n = curl_slist_append(headers.get(), h.c_str());
      if (n) {
        (void)headers.release();
        headers.reset(n);
      }
    };
    for (const auto& [k, v] : request.headers) add(k + ": " + v);
    // No "Expect: 100-continue" round trip for small POST bodies.
    add("Expect:");
    if (request.range) {
      add("Range: bytes=" + std::to_string(request.range->first) + "-" +
          std::to_string(request.range->second));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Transfer::OnBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &Transfer::OnProgress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, request.cancel ? 0L : 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    const auto stall = request.stall.count() > 0 ? request.stall : options_.low_speed_time;
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(std::max<int64_t>(1, stall.count())));

    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(c);
    // A HEAD or an empty body never triggers the write callback.
    if (rc == CURLE_OK && !t.FinishHead(c)) rc = CURLE_WRITE_ERROR;

    long new_conns = 0;
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &new_conns);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
    Record(rc == CURLE_OK ? t.head.status : 0, t.received, new_conns);
    Release(std::move(easy));

    if (rc == CURLE_OK) return t.head;
    if (t.aborted_by_handler) return Error(ErrorCode::kCancelled, "transfer stopped by the reader");
    return Classify(rc, errbuf, request.url);
  }

  ClientStats Stats() const override {
    MutexLock lock(&stats_mu_);
    ClientStats s = stats_;
    s.by_status.assign(by_status_.begin(), by_status_.end());
    return s;
  }

 private:
  // libcurl takes and releases the share's locks through these two, in
  // separate calls: beyond what the analysis can follow.
  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) NO_THREAD_SAFETY_ANALYSIS {
    static_cast<CurlHttpClient*>(user)->share_locks_[data % kLocks].Lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) NO_THREAD_SAFETY_ANALYSIS {
    static_cast<CurlHttpClient*>(user)->share_locks_[data % kLocks].Unlock();
  }

  Easy Acquire() {
    {
      MutexLock lock(&pool_mu_);
      if (!pool_.empty()) {
        Easy e = std::move(pool_.back());
        pool_.pop_back();
        return e;
      }
    }
    Easy e(curl_easy_init());
    CURL* c = e.get();
    curl_easy_setopt(c, CURLOPT_SHARE, share_);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(options_.low_speed_bytes));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.low_speed_time.count()));
    curl_easy_setopt(c, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    // Signed URLs come from a remote service: never let one reach anything
    // but HTTP(S) (no file://, ftp://, gopher://...).
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
    if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (!options_.ca_path.empty()) curl_easy_setopt(c, CURLOPT_CAPATH, options_.ca_path.c_str());
    curl_easy_setopt(c, CURLOPT_MAXCONNECTS, static_cast<long>(options_.max_idle_connections));
    if (options_.receive_buffer) curl_easy_setopt(c, CURLOPT_BUFFERSIZE, static_cast<long>(options_.receive_buffer));
    // Content is compared byte for byte with the origin: no transparent
    // decoding of compressed bodies.
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, nullptr);
    return e;
  }

  void Release(Easy e) {
    MutexLock lock(&pool_mu_);
    if (pool_.size() < options_.max_idle_connections) pool_.push_back(std::move(e));
  }

  void Record(int status, uint64_t bytes, long new_conns) {
    MutexLock lock(&stats_mu_);
    ++stats_.requests;
    stats_.bytes_received += bytes;
    stats_.connections_made += static_cast<uint64_t>(new_conns);
    if (status == 0) {
      ++stats_.failures;
    } else {
      ++by_status_[status];
    }
  }

  static Error Classify(CURLcode rc, const char* errbuf, const std::string& url) {
    std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    // The URL may carry a signature: log::Redact strips its query.
    std::string msg = "HTTP request to " + log::Redact(url) + " failed: " + log::Redact(detail);
    switch (rc) {
      case CURLE_OPERATION_TIMEDOUT:
        return Error(ErrorCode::kDeadlineExceeded, msg);
      case CURLE_ABORTED_BY_CALLBACK:
        return Error(ErrorCode::kCancelled, msg);
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
        return Error(ErrorCode::kInvalidArgument, msg);
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM:
        return Error(ErrorCode::kFailedPrecondition, msg);
      default:
        // Connection refused/reset, DNS, short bodies, TLS handshakes: the
        // network, worth a retry.
        return Error(ErrorCode::kUnavailable, msg);
    }
  }

  static constexpr int kLocks = 8;
  CurlOptions options_;
  CURLSH* share_ = nullptr;
  Mutex share_locks_[kLocks];  // what libcurl's share (DNS, connections) locks
  Mutex pool_mu_;
  std::vector<Easy> pool_ GUARDED_BY(pool_mu_);
  mutable Mutex stats_mu_;
  ClientStats stats_ GUARDED_BY(stats_mu_);
  std::map<int, uint64_t> by_status_ GUARDED_BY(stats_mu_);
};

}  // namespace

std::unique_ptr<HttpClient> NewCurlHttpClient(const CurlOptions& options) {
  return std::make_unique<CurlHttpClient>(options);
}

}  // namespace vodfs::http
