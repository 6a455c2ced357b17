// RangeFetcher: reads byte ranges of one media object from its origin.
//
// Every response is checked before its bytes are used:
//  - 206 must carry the Content-Range asked for and exactly that many bytes;
//  - a 200 to a range request (an origin that ignored Range) is read as the
//    whole object: the asked range is cut out of it, and the transfer is
//    stopped as soon as that range has arrived;
//  - the object's version (size, ETag, Last-Modified) must match the one the
//    caller expects; a different one is kStale, never mixed in;
//  - 401/403/410: the URL is reported to the broker and the same range is
//    asked again with a fresh URL;
//  - 5xx, 429, resets, short bodies and stalls: retried with backoff.
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
#include "vodfs/util/retry.h"

namespace vodfs::fetch {

// The version of an object as its origin describes it.
struct Fingerprint {
  uint64_t size = 0;
  std::string etag;           // as sent (quotes kept), may be empty
  std::string last_modified;  // as sent, may be empty

  // Same object version? An empty ETag or Last-Modified on either side does
  // not count as a difference (some CDNs drop them); the size always does.
  bool Matches(const Fingerprint& o) const;
  // A compact identity for cache keys: "<size>:<etag or last-modified>".
  std::string Id() const;
};

struct FetchOptions {
  http::Headers headers;  // Referer, User-Agent for media requests
  RetryOptions retry{.max_attempts = 6,
                     .initial_backoff = std::chrono::milliseconds(100),
                     .max_backoff = std::chrono::milliseconds(4000),
                     .multiplier = 2.0,
                     .budget = std::chrono::milliseconds(45000)};
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

 private:
  http::HttpClient& http_;
  resolve::UrlBroker& broker_;
  Clock& clock_;
  FetchOptions options_;
  Backoff backoff_;
  mutable std::mutex mu_;
  FetchStats stats_;
};

// Parses "bytes first-last/total" ("*" total allowed). Returns false if malformed.
bool ParseContentRange(std::string_view v, uint64_t* first, uint64_t* last,
                       std::optional<uint64_t>* total);

}  // namespace vodfs::fetch
