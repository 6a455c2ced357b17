#include "vodfs/fetch/fetcher.h"

#include <algorithm>

#include "vodfs/util/log.h"
#include "vodfs/util/strings.h"

namespace vodfs::fetch {

bool Fingerprint::Matches(const Fingerprint& o) const {
  if (size != o.size) return false;
  if (crc64 && o.crc64 && *crc64 != *o.crc64) return false;
  if (!etag.empty() && !o.etag.empty()) return etag == o.etag;
  if (!last_modified.empty() && !o.last_modified.empty()) return last_modified == o.last_modified;
  return true;
}

std::string Fingerprint::Id() const {
  return std::to_string(size) + ":" + (!etag.empty() ? etag : last_modified);
}

ErrorCode ToErrorCode(FetchFailure f) {
  switch (f) {
    case FetchFailure::kStale:
      return ErrorCode::kStale;
    case FetchFailure::kRejected:
      return ErrorCode::kPermissionDenied;
    case FetchFailure::kRetryable:
      return ErrorCode::kUnavailable;
    case FetchFailure::kFatal:
      return ErrorCode::kBadResponse;
    case FetchFailure::kCancelled:
      return ErrorCode::kCancelled;
  }
  return ErrorCode::kInternal;
}

std::optional<FetchFailure> ClassifyStatus(int status) {
  if (status == 200 || status == 206) return std::nullopt;
  if (status == 401 || status == 403 || status == 410) return FetchFailure::kRejected;
  // 404: the object is gone; 416: it is smaller than the range asked.
  if (status == 404 || status == 416) return FetchFailure::kStale;
  if (status >= 500 || status == 429 || status == 408) return FetchFailure::kRetryable;
  return FetchFailure::kFatal;
}

bool ParseContentRange(std::string_view v, uint64_t* first, uint64_t* last,
                       std::optional<uint64_t>* total) {
  v = str::Trim(v);
  if (!str::StartsWith(v, "bytes ")) return false;
  v.remove_prefix(6);
  size_t dash = v.find('-'), slash = v.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash) return false;
  auto f = str::ParseUint64(v.substr(0, dash));
  auto l = str::ParseUint64(v.substr(dash + 1, slash - dash - 1));
  if (!f || !l || *l < *f) return false;
  *first = *f;
  *last = *l;
  std::string_view t = v.substr(slash + 1);
  if (t == "*") {
    total->reset();
  } else {
    auto n = str::ParseUint64(t);
    if (!n || *n <= *l) return false;
    *total = *n;
  }
  return true;
}

RangeFetcher::RangeFetcher(http::HttpClient& http, resolve::UrlBroker& broker, Clock& clock,
                           FetchOptions options)
    : http_(http), broker_(broker), clock_(clock), options_(std::move(options)), backoff_(options_.retry) {}

FetchStats RangeFetcher::Stats() const {
  MutexLock lock(&mu_);
  return stats_;
}

void RangeFetcher::Count(uint64_t FetchStats::*field, uint64_t n) {
  MutexLock lock(&mu_);
  stats_.*field += n;
}

Status RangeFetcher::RunAttempts(const resolve::MediaRef& ref, const std::atomic<bool>* cancel,
                                 const AttemptFn& attempt) {
  const std::string what = ref.Key();
  const Duration budget = options_.retry.budget;
  MonoTime last_progress = clock_.Now();
  int rejections = 0;
  int failures = 0;  // transient failures since the last progress
  for (int n = 1; n <= options_.retry.max_attempts; ++n) {
    auto lease = broker_.Get(ref);
    if (!lease.ok()) return lease.error();
    // The stall bound of this attempt: never past the budget's end.
    const Duration left = budget - (clock_.Now() - last_progress);
    const auto stall = std::clamp(std::chrono::duration_cast<std::chrono::seconds>(left), std::chrono::seconds(1),
                                  std::max(options_.stall_timeout, std::chrono::seconds(1)));
    Attempt a = attempt(lease->url, stall);
    if (!a.failure) return Status::Ok();
    if (a.progressed) {
      last_progress = clock_.Now();
      failures = 0;
    }
    switch (*a.failure) {
      case FetchFailure::kRejected:
        broker_.ReportRejected(ref, lease->generation);
        Count(&FetchStats::rejections);
        if (++rejections > options_.max_rejections) {
          return Status(ErrorCode::kPermissionDenied,
                        "the origin refuses " + what + " (" + a.why +
                            ") even with a fresh URL; a Referer allow-list? (see the referer option)");
        }
        VODFS_LOG(kDebug) << "URL of " << what << " refused (" << a.why << "); re-signing";
        continue;  // a refused URL is not a failure to back off from
      case FetchFailure::kCancelled:
        return Status(ErrorCode::kCancelled, "read of " + what + " stopped");
      case FetchFailure::kStale:
        Count(&FetchStats::stale);
        return Status(ErrorCode::kStale, what + ": " + a.why);
      case FetchFailure::kFatal:
        VODFS_LOG(kWarn) << "Cannot read " << what << ": " << a.why;
        return Status(ErrorCode::kBadResponse, what + ": " + a.why);
      case FetchFailure::kRetryable:
        break;
    }
    if (cancel && cancel->load()) return Status(ErrorCode::kCancelled, "read of " + what + " cancelled");
    const Duration delay = backoff_.DelayFor(++failures);
    if (clock_.Now() - last_progress + delay > budget) {
      VODFS_LOG(kWarn) << "Cannot read " << what << ": " << a.why << "; gave up after "
                       << std::chrono::duration_cast<std::chrono::seconds>(clock_.Now() - last_progress).count()
                       << " s without progress";
      return Status(ErrorCode::kUnavailable, what + ": " + a.why);
    }
    VODFS_LOG(kDebug) << "read of " << what << " failed (" << a.why << "), retry " << failures;
    Count(&FetchStats::retries);
    clock_.SleepFor(delay);
  }
  return Status(ErrorCode::kUnavailable, what + ": too many attempts");
}

Result<RangeFetcher::Result_> RangeFetcher::Fetch(const resolve::MediaRef& ref, uint64_t offset,
                                                 uint64_t length, const std::optional<Fingerprint>& expected,
                                                 const std::atomic<bool>* cancel) {
  Result_ out;
  auto fp = FetchTo(
      ref, offset, length, expected,
      [&out](uint64_t, std::string_view chunk) {
        out.data.append(chunk);
        return true;
      },
      cancel);
  if (!fp.ok()) return fp.error();
  out.fingerprint = *fp;
  return out;
}

namespace {

std::optional<uint64_t> Crc64Header(const http::ResponseHead& head) {
  auto v = head.Header("x-oss-hash-crc64ecma");
  if (!v) return std::nullopt;
  return str::ParseUint64(str::Trim(*v));
}

}  // namespace

Result<Fingerprint> RangeFetcher::FetchTo(const resolve::MediaRef& ref, uint64_t offset, uint64_t length,
                                          const std::optional<Fingerprint>& expected, const Sink& sink,
                                          const std::atomic<bool>* cancel, const VersionCallback& on_version) {
  if (length == 0) return Error(ErrorCode::kInvalidArgument, "empty range");
  std::optional<Fingerprint> pin = expected;
  if (pin) {
    if (offset >= pin->size) return *pin;
    length = std::min(length, pin->size - offset);
  }
  const std::string what = ref.Key();
  uint64_t done = 0;  // bytes delivered to the sink so far

  auto attempt = [&](const std::string& url, std::chrono::seconds stall) -> Attempt {
    const uint64_t cur = offset + done;  // where this attempt starts
    uint64_t want = length - done;        // bytes still wanted
    http::Request req;
    req.url = url;
    req.headers = options_.headers;
    req.range = std::make_pair(cur, cur + want - 1);
    req.timeout = options_.request_timeout;
    req.stall = stall;
    req.cancel = cancel;

    Attempt a;
    auto fail = [&a](FetchFailure f, std::string why) {
      a.failure = f;
      a.why = std::move(why);
      return false;
    };
    int status = 0;
    uint64_t skip = 0;  // bytes of a 200 body before our range
    uint64_t got = 0;   // bytes of this attempt delivered
    bool stop_early = false;

    http::StreamHandler h;
    h.on_head = [&](const http::ResponseHead& head) {
      status = head.status;
      if (auto f = ClassifyStatus(status)) return fail(*f, "HTTP " + std::to_string(status));
      Fingerprint seen;
      seen.etag = head.Header("ETag").value_or("");
      seen.last_modified = head.Header("Last-Modified").value_or("");
      seen.crc64 = Crc64Header(head);
      if (status == 206) {
        uint64_t first, last_byte;
        std::optional<uint64_t> total;
        auto cr = head.Header("Content-Range");
        if (!cr || !ParseContentRange(*cr, &first, &last_byte, &total) || !total) {
          return fail(FetchFailure::kRetryable, "206 without a usable Content-Range");
        }
        seen.size = *total;
        if (cur >= *total) return fail(FetchFailure::kStale, "the object is smaller than the range asked");
        const uint64_t want_last = std::min(cur + want, *total) - 1;
        if (first != cur || last_byte != want_last) {
          Count(&FetchStats::bad_ranges);
          return fail(FetchFailure::kRetryable,
                      "asked bytes " + std::to_string(cur) + "-" + std::to_string(cur + want - 1) + ", got " + *cr);
        }
        want = last_byte - first + 1;
      } else {  // 200: the origin ignored the Range header
        if (!head.content_length) return fail(FetchFailure::kRetryable, "200 without Content-Length");
        Count(&FetchStats::ignored_ranges);
        seen.size = *head.content_length;
        if (cur == 0 && seen.size == 0) {
          want = 0;  // an empty object: nothing to cut out
        } else if (cur >= seen.size) {
          // OSS answers an unsatisfiable range with the whole object: ours
          // is past its end, so the object is not what we think.
          return fail(FetchFailure::kStale, "the object is smaller than the range asked");
        } else if (cur > options_.max_skip_on_200) {
          return fail(FetchFailure::kRetryable, "the origin ignored the Range header");
        } else {
          skip = cur;
          want = std::min(want, seen.size - cur);
        }
      }
      if (pin && !seen.Matches(*pin)) return fail(FetchFailure::kStale, "the object changed");
      // From here on this version is the one delivered: a resumed attempt
      // must find it again.
      if (!pin) {
        pin = seen;
        if (on_version && !on_version(seen)) return fail(FetchFailure::kCancelled, "stopped");
      } else if (!pin->crc64 && seen.crc64) {
        pin->crc64 = seen.crc64;  // learnt from a later answer (one without it came first)
      }
      return true;
    };
    h.on_body = [&](std::string_view chunk) {
      if (skip > 0) {
        const uint64_t n = std::min<uint64_t>(skip, chunk.size());
        chunk.remove_prefix(n);
        skip -= n;
      }
      const uint64_t room = want - got;
      if (chunk.size() > room) {
        if (status == 206) return fail(FetchFailure::kRetryable, "more bytes than the Content-Range announced");
        chunk = chunk.substr(0, room);
      }
      if (!chunk.empty()) {
        if (!sink(cur + got, chunk)) return fail(FetchFailure::kCancelled, "stopped");
        got += chunk.size();
        done += chunk.size();
        a.progressed = true;
      }
      if (status == 200 && got == want) {
        stop_early = true;  // the rest of the object is not needed
        return false;
      }
      return true;
    };

    Count(&FetchStats::requests);
    const MonoTime sent = clock_.Now();
    auto r = http_.Stream(req, h);
    Count(&FetchStats::bytes, got);
    VODFS_LOG(kDebug) << "GET " << what << " bytes " << cur << "-" << (cur + want - 1) << ": " << status << ", "
                      << got << " bytes in "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now() - sent).count() << " ms";
    if (a.failure) {
      if (*a.failure != FetchFailure::kCancelled && pin && done == length) a.failure.reset();  // all there
      return a;
    }
    if (!r.ok() && !stop_early) {
      if (r.code() == ErrorCode::kCancelled) {
        a.failure = FetchFailure::kCancelled;
      } else if (r.code() == ErrorCode::kUnavailable || r.code() == ErrorCode::kDeadlineExceeded) {
        if (r.code() == ErrorCode::kDeadlineExceeded) Count(&FetchStats::stalls);
        a.failure = FetchFailure::kRetryable;
      } else {
        a.failure = FetchFailure::kFatal;
      }
      a.why = r.error().message;
    } else if (got != want) {
      a.failure = FetchFailure::kRetryable;
      a.why = "short body: " + std::to_string(got) + " of " + std::to_string(want) + " bytes";
    }
    if (a.failure && *a.failure != FetchFailure::kCancelled && pin && done == length) a.failure.reset();
    return a;
  };

  Status s = RunAttempts(ref, cancel, attempt);
  if (!s.ok()) return s.error();
  return *pin;
}

Result<std::string> RangeFetcher::FetchWhole(const resolve::MediaRef& ref, uint64_t max_bytes) {
  std::string body;
  auto attempt = [&](const std::string& url, std::chrono::seconds stall) -> Attempt {
    http::Request req;
    req.url = url;
    req.headers = options_.headers;
    req.timeout = std::chrono::seconds(30);
    req.stall = stall;
    Count(&FetchStats::requests);
    auto r = http_.Send(req, max_bytes);
    Attempt a;
    if (!r.ok()) {
      const bool transient = r.code() == ErrorCode::kUnavailable || r.code() == ErrorCode::kDeadlineExceeded;
      a.failure = transient ? FetchFailure::kRetryable : FetchFailure::kFatal;
      a.why = r.error().message;
      return a;
    }
    if (r->status != 200) {
      a.failure = ClassifyStatus(r->status).value_or(FetchFailure::kFatal);
      a.why = "HTTP " + std::to_string(r->status);
      return a;
    }
    body = std::move(r->body);
    Count(&FetchStats::bytes, body.size());
    return a;
  };
  Status s = RunAttempts(ref, nullptr, attempt);
  if (!s.ok()) return s.error();
  return body;
}

Result<Fingerprint> RangeFetcher::Probe(const resolve::MediaRef& ref) {
  auto r = Fetch(ref, 0, 1, std::nullopt);
  if (!r.ok()) return r.error();
  return r->fingerprint;
}

}  // namespace vodfs::fetch
