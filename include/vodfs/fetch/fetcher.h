// RangeFetcher: reads byte ranges of one media object from its origin.
//
// Every response is checked before its bytes are used:
//  - 206 must carry the Content-Range asked for and exactly that many bytes;
//  - a 200 to a range request (an origin that ignored Range) is read as the
//    whole object: the asked range is cut out of it, and the transfer is
//    stopped as soon as that range has arrived;
//  - the object's version (size, ETag, Last-Modified, the origin's CRC-64)
//    must match the one the caller expects; a different one is kStale,
//    never mixed in.
// What goes wrong is a FetchFailure, and one loop (RunAttempts) decides
// what to do about it: a refused URL is re-signed and the same range asked
// again, a transient failure is retried with backoff, a cut transfer
// resumes where it stopped, and the rest ends the fetch with the error
// code of its kind. A retry budget (about 45 s) counts from the last byte
// received, so a long transfer that keeps moving is never cut short, and
// an origin that accepts a request and then sends nothing costs at most
// that budget.
//
// Thread-safety: safe to share between threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "vodfs/http/http_client.h"
#include "vodfs/resolve/url_broker.h"
#include "vodfs/util/clock.h"
#include "vodfs/util/mutex.h"
#include "vodfs/util/retry.h"

namespace vodfs::fetch {

// The version of an object as its origin describes it.
struct Fingerprint {
  uint64_t size = 0;
  std::string etag;           // as sent (quotes kept), may be empty
  std::string last_modified;  // as sent, may be empty
  // x-oss-hash-crc64ecma: the CRC-64 of the whole object, when sent.
  std::optional<uint64_t> crc64;

  // Same object version? An empty ETag, Last-Modified or CRC-64 on either
  // side does not count as a difference (some CDNs drop them); the size
  // always does.
  bool Matches(const Fingerprint& o) const;
  // A compact identity for cache keys: "<size>:<etag or last-modified>".
  std::string Id() const;
};

// Why an attempt did not deliver what was asked: the type callers decide
// on (mapped to an ErrorCode, and from there to an errno, by kind).
enum class FetchFailure {
  kStale,      // not the version asked for: changed, gone (404), smaller
  kRejected,   // the origin refused the URL (401, 403, 410): re-sign, ask again
  kRetryable,  // 5xx, 429, resets, short or malformed answers, stalls
  kFatal,      // an answer that asking again will not change
  kCancelled,  // the caller stopped it
};
ErrorCode ToErrorCode(FetchFailure f);
// The failure an HTTP status means (nullopt for 200 and 206).
std::optional<FetchFailure> ClassifyStatus(int status);

struct FetchOptions {
  http::Headers headers;  // Referer, User-Agent for media requests
  // Backoff from 0.1 s doubling to 4 s: an origin back within a second
  // costs a fraction of one, and one gone for longer is asked every 4 s
  // until the budget (SEMANTICS.md: about 45 s without a byte) is spent.
  // max_attempts only guards against a budget of hours.
  RetryOptions retry{.max_attempts = 1000,
                     .initial_backoff = std::chrono::milliseconds(100),
                     .max_backoff = std::chrono::milliseconds(4000),
                     .multiplier = 2.0,
                     .budget = std::chrono::milliseconds(45000)};
  // A transfer that moves nothing for this long is abandoned and asked
  // again (within the budget). 15 s: longer than a CDN's fetch from its
  // origin on a miss, short enough for three tries within the budget.
  std::chrono::seconds stall_timeout{15};
  std::chrono::milliseconds request_timeout{0};  // 0: rely on stall detection
  int max_rejections = 2;  // 401/403/410 answers re-signed per fetch
  // A 200 answer to a range starting further than this is abandoned at
  // once rather than read up to the range (and the attempt retried).
  uint64_t max_skip_on_200 = 8 << 20;
};

struct FetchStats {
  uint64_t requests = 0;
  uint64_t bytes = 0;          // body bytes used
  uint64_t retries = 0;
  uint64_t rejections = 0;     // 401/403/410
  uint64_t ignored_ranges = 0;  // 200 answers to range requests
  uint64_t bad_ranges = 0;     // a 206 with the wrong Content-Range
  uint64_t stale = 0;          // version changes detected
  uint64_t stalls = 0;         // transfers abandoned for sending nothing
};

class RangeFetcher {
 public:
  RangeFetcher(http::HttpClient& http, resolve::UrlBroker& broker, Clock& clock, FetchOptions options = {});

  struct Result_ {
    std::string data;
    Fingerprint fingerprint;
  };

  // Receives the bytes of a range in order, as they arrive: `offset` is
  // the object offset of `chunk`. Returning false stops the transfer
  // (the fetch then ends with kCancelled).
  using Sink = std::function<bool(uint64_t offset, std::string_view chunk)>;

  // Streams [offset, offset+length) of `ref` into `sink`. `expected` pins
  // the version; without it the first answer's version is pinned for the
  // rest of the transfer. A transfer cut short resumes where it stopped.
  // A range reaching past the end is cut at the end of the object.
  // Returns the version of the bytes delivered.
  // `on_version`, if given, learns the version from the first valid answer
  // before any byte reaches the sink (returning false stops the transfer).
  using VersionCallback = std::function<bool(const Fingerprint&)>;
  Result<Fingerprint> FetchTo(const resolve::MediaRef& ref, uint64_t offset, uint64_t length,
                              const std::optional<Fingerprint>& expected, const Sink& sink,
                              const std::atomic<bool>* cancel = nullptr, const VersionCallback& on_version = {});

  // The same, collected in memory.
  Result<Result_> Fetch(const resolve::MediaRef& ref, uint64_t offset, uint64_t length,
                        const std::optional<Fingerprint>& expected,
                        const std::atomic<bool>* cancel = nullptr);

  // The object's version without its bytes (a one-byte range request).
  Result<Fingerprint> Probe(const resolve::MediaRef& ref);

  // A whole small object (a playlist), at most `max_bytes`.
  Result<std::string> FetchWhole(const resolve::MediaRef& ref, uint64_t max_bytes = 16 << 20);

  FetchStats Stats() const;
  const FetchOptions& options() const { return options_; }

 private:
  // What one attempt ended with.
  struct Attempt {
    std::optional<FetchFailure> failure;  // none: everything arrived
    std::string why;                      // for the log and the error
    bool progressed = false;              // bytes arrived before it ended
  };
  // Makes one request with `url` and a stall bound; says how it went.
  using AttemptFn = std::function<Attempt(const std::string& url, std::chrono::seconds stall)>;
  // The one retry loop: leases URLs, re-signs refused ones, backs off
  // between transient failures within the budget (counted from the last
  // progress), and maps the final failure to an Error.
  Status RunAttempts(const resolve::MediaRef& ref, const std::atomic<bool>* cancel, const AttemptFn& attempt);
  void Count(uint64_t FetchStats::*field, uint64_t n = 1);

  http::HttpClient& http_;
  resolve::UrlBroker& broker_;
  Clock& clock_;
  FetchOptions options_;
  Backoff backoff_;
  mutable Mutex mu_;
  FetchStats stats_ GUARDED_BY(mu_);
};

// Parses "bytes first-last/total" ("*" total allowed). Returns false if malformed.
bool ParseContentRange(std::string_view v, uint64_t* first, uint64_t* last,
                       std::optional<uint64_t>* total);

}  // namespace vodfs::fetch
