#include "vodfs/fetch/fetcher.h"

#include "vodfs/util/log.h"
#include "vodfs/util/strings.h"

namespace vodfs::fetch {

bool Fingerprint::Matches(const Fingerprint& o) const {
  if (size != o.size) return false;
  if (!etag.empty() && !o.etag.empty()) return etag == o.etag;
  if (!last_modified.empty() && !o.last_modified.empty()) return last_modified == o.last_modified;
  return true;
}

std::string Fingerprint::Id() const {
  return std::to_string(size) + ":" + (!etag.empty() ? etag : last_modified);
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
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

namespace {

// What one attempt ended with.
enum class Outcome { kDone, kRetry, kRejected, kFail };

}  // namespace

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
  const MonoTime start = clock_.Now();
  int rejections = 0;
  uint64_t done = 0;  // bytes delivered to the sink so far
  Error last(ErrorCode::kUnavailable, "no attempt made");
  for (int attempt = 1; attempt <= options_.retry.max_attempts; ++attempt) {
    auto lease = broker_.Get(ref);
    if (!lease.ok()) return lease.error();
    const uint64_t cur = offset + done;  // where this attempt starts
    uint64_t want = length - done;        // bytes still wanted

    http::Request req;
    req.url = lease->url;
    req.headers = options_.headers;
    req.range = std::make_pair(cur, cur + want - 1);
    req.timeout = options_.request_timeout;
    req.cancel = cancel;

    Fingerprint seen;
    Outcome outcome = Outcome::kDone;
    std::string why;
    int status = 0;
    uint64_t skip = 0;      // bytes of a 200 body before our range
    uint64_t got = 0;       // bytes of this attempt delivered
    bool stop_early = false;
    bool sink_stopped = false;

    http::StreamHandler h;
    h.on_head = [&](const http::ResponseHead& head) {
      status = head.status;
      seen.etag = head.Header("ETag").value_or("");
      seen.last_modified = head.Header("Last-Modified").value_or("");
      if (status == 206) {
        uint64_t first, last_byte;
        std::optional<uint64_t> total;
        auto cr = head.Header("Content-Range");
        if (!cr || !ParseContentRange(*cr, &first, &last_byte, &total) || !total) {
          why = "206 without a usable Content-Range";
          outcome = Outcome::kRetry;
          return false;
        }
        seen.size = *total;
        if (cur >= *total) {
          why = "the object is smaller than the range asked";
          outcome = Outcome::kFail;
          return false;
        }
        const uint64_t want_last = std::min(cur + want, *total) - 1;
        if (first != cur || last_byte != want_last) {
          why = "asked bytes " + std::to_string(cur) + "-" + std::to_string(cur + want - 1) + ", got " + *cr;
          std::lock_guard<std::mutex> lock(mu_);
          ++stats_.bad_ranges;
          outcome = Outcome::kRetry;
          return false;
        }
        want = last_byte - first + 1;
      } else if (status == 200) {
        if (!head.content_length) {
          why = "200 without Content-Length";
          outcome = Outcome::kRetry;
          return false;
        }
        {
          std::lock_guard<std::mutex> lock(mu_);
          ++stats_.ignored_ranges;
        }
        seen.size = *head.content_length;
        if (cur == 0 && seen.size == 0) {
          want = 0;  // an empty object: nothing to cut out
        } else if (cur >= seen.size) {
          // OSS answers an unsatisfiable range with the whole object: ours
          // is past its end, so the object is not what we think.
          why = "the object is smaller than the range asked";
          outcome = Outcome::kFail;
          return false;
        } else if (cur > options_.max_skip_on_200) {
          why = "the origin ignored the Range header";
          outcome = Outcome::kRetry;
          return false;
        } else {
          skip = cur;
          want = std::min(want, seen.size - cur);
        }
      } else if (status == 401 || status == 403 || status == 410) {
        outcome = Outcome::kRejected;
        why = "HTTP " + std::to_string(status);
        return false;
      } else if (status == 404 || status == 416) {
        outcome = Outcome::kFail;
        why = "HTTP " + std::to_string(status);
        return false;
      } else {
        outcome = status >= 500 || status == 429 || status == 408 ? Outcome::kRetry : Outcome::kFail;
        why = "HTTP " + std::to_string(status);
        return false;
      }
      if (pin && !seen.Matches(*pin)) {
        outcome = Outcome::kFail;
        why = "the object changed";
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.stale;
        return false;
      }
      // From here on this version is the one delivered: a resumed attempt
      // must find it again.
      if (!pin) {
        pin = seen;
        if (on_version && !on_version(seen)) {
          sink_stopped = true;
          return false;
        }
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
        if (status == 206) {
          why = "more bytes than the Content-Range announced";
          outcome = Outcome::kRetry;
          return false;
        }
        chunk = chunk.substr(0, room);
      }
      if (!chunk.empty()) {
        if (!sink(cur + got, chunk)) {
          sink_stopped = true;
          return false;
        }
        got += chunk.size();
        done += chunk.size();
      }
      if (status == 200 && got == want) {
        stop_early = true;  // the rest of the object is not needed
        return false;
      }
      return true;
    };

    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.requests;
    }
    const MonoTime sent = clock_.Now();
    auto r = http_.Stream(req, h);
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.bytes += got;
    }
    VODFS_LOG(kDebug) << "GET " << what << " bytes " << cur << "-" << (cur + want - 1) << ": " << status << ", "
                      << got << " bytes in "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now() - sent).count() << " ms";
    if (sink_stopped) return Error(ErrorCode::kCancelled, "read of " + what + " stopped");
    if (r.ok() || stop_early) {
      if (outcome == Outcome::kDone && got == want) return *pin;
      if (outcome == Outcome::kDone) {
        why = "short body: " + std::to_string(got) + " of " + std::to_string(want) + " bytes";
        outcome = Outcome::kRetry;
      }
    } else if (r.code() == ErrorCode::kCancelled && outcome == Outcome::kDone) {
      return Error(ErrorCode::kCancelled, "read of " + what + " cancelled");
    } else if (outcome == Outcome::kDone) {
      why = r.error().message;
      outcome = r.code() == ErrorCode::kUnavailable || r.code() == ErrorCode::kDeadlineExceeded
                    ? Outcome::kRetry
                    : Outcome::kFail;
    }
    if (pin && done == length) return *pin;  // everything arrived before the error

    switch (outcome) {
      case Outcome::kDone:
        break;
      case Outcome::kRejected:
        broker_.ReportRejected(ref, lease->generation);
        {
          std::lock_guard<std::mutex> lock(mu_);
          ++stats_.rejections;
        }
        if (++rejections > options_.max_rejections) {
          return Error(ErrorCode::kPermissionDenied,
                       "the origin refuses " + what + " (" + why +
                           ") even with a fresh URL; a Referer allow-list? (see the referer option)");
        }
        VODFS_LOG(kDebug) << "URL of " << what << " refused (" << why << "); re-signing";
        --attempt;  // a refused URL is not a failed attempt
        continue;
      case Outcome::kFail:
        if (why == "the object changed" || why.find("smaller than") != std::string::npos ||
            why == "HTTP 404" || why == "HTTP 416") {
          return Error(ErrorCode::kStale, what + ": " + why);
        }
        return Error(ErrorCode::kBadResponse, what + ": " + why);
      case Outcome::kRetry:
        last = Error(ErrorCode::kUnavailable, what + ": " + why);
        break;
    }
    if (cancel && cancel->load()) return Error(ErrorCode::kCancelled, "read of " + what + " cancelled");
    if (attempt == options_.retry.max_attempts) break;
    Duration delay = backoff_.DelayFor(attempt);
    if (clock_.Now() - start + delay > options_.retry.budget) break;
    VODFS_LOG(kDebug) << "read of " << what << " bytes " << cur << "+" << want << " failed (" << why
                      << "), retry " << attempt;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.retries;
    }
    clock_.SleepFor(delay);
  }
  VODFS_LOG(kWarn) << "Cannot read " << what << " bytes " << offset << "+" << length << ": " << last.message;
  return last;
}

Result<std::string> RangeFetcher::FetchWhole(const resolve::MediaRef& ref, uint64_t max_bytes) {
  const std::string what = ref.Key();
  int rejections = 0;
  Error last(ErrorCode::kUnavailable, "no attempt made");
  for (int attempt = 1; attempt <= options_.retry.max_attempts; ++attempt) {
    auto lease = broker_.Get(ref);
    if (!lease.ok()) return lease.error();
    http::Request req;
    req.url = lease->url;
    req.headers = options_.headers;
    req.timeout = std::chrono::seconds(30);
    auto r = http_.Send(req, max_bytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.requests;
    }
    if (r.ok() && r->status == 200) return std::move(r->body);
    if (r.ok() && (r->status == 401 || r->status == 403 || r->status == 410)) {
      broker_.ReportRejected(ref, lease->generation);
      if (++rejections > options_.max_rejections) {
        return Error(ErrorCode::kPermissionDenied, "the origin refuses " + what);
      }
      --attempt;
      continue;
    }
    if (r.ok() && r->status != 429 && r->status < 500) {
      return Error(ErrorCode::kBadResponse, what + ": HTTP " + std::to_string(r->status));
    }
    if (!r.ok() && r.code() != ErrorCode::kUnavailable && r.code() != ErrorCode::kDeadlineExceeded) {
      return r.error();
    }
    last = r.ok() ? Error(ErrorCode::kUnavailable, what + ": HTTP " + std::to_string(r->status)) : r.error();
    clock_.SleepFor(backoff_.DelayFor(attempt));
  }
  return last;
}

Result<Fingerprint> RangeFetcher::Probe(const resolve::MediaRef& ref) {
  auto r = Fetch(ref, 0, 1, std::nullopt);
  if (!r.ok()) return r.error();
  return r->fingerprint;
}

}  // namespace vodfs::fetch
