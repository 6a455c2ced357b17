#include "vodfs/resolve/url_broker.h"

#include <algorithm>
#include <climits>

#include "vodfs/util/log.h"
#include "vodfs/util/mutex.h"

namespace vodfs::resolve {

namespace {
constexpr int64_t kNever = INT64_MAX;

bool IsCdnKind(auth::SignedUrlKind k) {
  return k == auth::SignedUrlKind::kCdnA || k == auth::SignedUrlKind::kCdnB ||
         k == auth::SignedUrlKind::kCdnC || k == auth::SignedUrlKind::kCdnC2;
}
}  // namespace

UrlBroker::UrlBroker(UrlResolver& resolver, Clock& clock, Executor* background, BrokerOptions options)
    : resolver_(resolver), clock_(clock), background_(background), options_(std::move(options)) {
  log::RegisterSecret(options_.cdn_key);
}

int64_t UrlBroker::ExpiryOf(const std::string& url, int64_t fetched_at) const {
  auto info = auth::ParseSignedUrl(url);
  if (!info) return fetched_at + options_.auth_timeout;
  int64_t parsed = kNever;
  if (info->oss_expires) parsed = *info->oss_expires;
  if (info->cdn_timestamp) parsed = *info->cdn_timestamp + options_.cdn_auth_delta;
  if (info->kind == auth::SignedUrlKind::kUnsigned) return kNever;
  if (info->kind == auth::SignedUrlKind::kOss || info->kind == auth::SignedUrlKind::kOssV4) {
    return parsed == kNever ? fetched_at + options_.auth_timeout : parsed;
  }
  // CDN: the signing timestamp plus the domain's window; never trust more
  // than the lifetime asked for.
  return std::min(parsed, fetched_at + std::max(options_.auth_timeout, options_.cdn_auth_delta));
}

int64_t UrlBroker::Margin(const Entry& e) const {
  if (e.expires_at == kNever) return 0;
  const int64_t lifetime = std::max<int64_t>(1, e.expires_at - e.fetched_at);
  return std::clamp<int64_t>(lifetime / 4, 1, options_.max_margin);
}

void UrlBroker::Apply(const MediaRef& ref, const std::string& url, int64_t now) {
  Entry& e = entries_[ref.Key()];
  e.url = url;
  e.fetched_at = now;
  e.expires_at = ExpiryOf(url, now);
  e.generation = next_generation_++;
  e.rejected = false;
  e.locally_signed = false;
}

void UrlBroker::Seed(const MediaRef& ref, const std::string& url) {
  if (url.empty()) return;
  MutexLock lock(&mu_);
  auto it = entries_.find(ref.Key());
  if (it != entries_.end() && !it->second.url.empty() && !it->second.rejected) return;
  Apply(ref, url, clock_.UnixNow());
}

void UrlBroker::ReportRejected(const MediaRef& ref, uint64_t generation) {
  MutexLock lock(&mu_);
  auto it = entries_.find(ref.Key());
  if (it == entries_.end() || it->second.generation != generation) return;  // already replaced
  if (it->second.rejected) return;
  it->second.rejected = true;
  ++stats_.rejections;
}

Status UrlBroker::Refresh(const MediaRef& ref) {
  const int64_t now = clock_.UnixNow();
  // Local re-signing of CDN URLs, when we hold the key.
  if (!options_.cdn_key.empty()) {
    std::string current;
    bool allowed;
    {
      MutexLock lock(&mu_);
      auto& e = entries_[ref.Key()];
      current = e.url;
      // A locally signed URL that was refused means the key is not the
      // domain's: fall back to the API for this reference.
      allowed = !e.local_signing_failed;
    }
    auto info = current.empty() ? std::nullopt : auth::ParseSignedUrl(current);
    if (allowed && info && IsCdnKind(info->kind)) {
      std::string url = auth::ResignCdnUrl(*info, now, options_.cdn_key);
      MutexLock lock(&mu_);
      Entry& e = entries_[ref.Key()];
      e.url = url;
      e.fetched_at = now;
      e.expires_at = now + options_.cdn_auth_delta;
      if (info->kind == auth::SignedUrlKind::kCdnB) e.expires_at -= now % 60;  // minute resolution
      e.generation = next_generation_++;
      e.rejected = false;
      e.locally_signed = true;
      ++stats_.local_resignings;
      return Status::Ok();
    }
  }
  auto resolved = resolver_.Resolve(ref);
  MutexLock lock(&mu_);
  ++stats_.api_refreshes;
  if (!resolved.ok()) return resolved.status();
  bool found = false;
  for (const auto& r : *resolved) {
    if (r.url.empty()) continue;
    if (r.ref.Key() == ref.Key()) found = true;
    Apply(r.ref, r.url, now);
  }
  if (!found) {
    return Status(ErrorCode::kNotFound, std::string(RoleName(ref.role)) + " of " + ref.id +
                                            " is no longer offered by the service");
  }
  return Status::Ok();
}

bool UrlBroker::Usable(const Entry& e, int64_t now) const {
  if (e.url.empty() || e.rejected) return false;
  if (e.expires_at == kNever) return true;
  // Leave a few seconds for the request itself.
  return e.expires_at - now > std::min<int64_t>(10, Margin(e));
}

Result<UrlBroker::Lease> UrlBroker::Get(const MediaRef& ref) {
  const std::string key = ref.Key();
  MutexLock lock(&mu_);
  while (true) {
    const int64_t now = clock_.UnixNow();
    Entry& e = entries_[key];
    if (Usable(e, now)) {
      const bool expiring = e.expires_at != kNever && e.expires_at - now <= Margin(e);
      // (After a failed refresh, wait a little before the next attempt.)
      if (expiring && background_ && !e.refreshing && now - e.last_error_at > 5) {
        // Refresh behind the readers' back; they keep the current URL.
        e.refreshing = true;
        ++stats_.background_refreshes;
        background_->Post([this, ref, key] {
          Status s = Refresh(ref);
          MutexLock l(&mu_);
          Entry& done = entries_[key];
          done.refreshing = false;
          if (!s.ok()) {
            VODFS_LOG(kWarn) << "Cannot refresh the URL of " << key << " ahead of expiry: " << s.ToString();
            done.last_error = s;
            done.last_error_at = clock_.UnixNow();
          }
          cv_.SignalAll();
        });
      }
      if (!expiring || background_) return Lease{e.url, e.expires_at, e.generation};
    }
    if (e.refreshing) {
      while (entries_[key].refreshing) cv_.Wait(&mu_);
      Entry& after = entries_[key];
      if (Usable(after, clock_.UnixNow())) continue;
      // The refresh we waited for failed: share its error rather than
      // sending every waiter to the API again.
      if (!after.last_error.ok() && clock_.UnixNow() - after.last_error_at <= 1) return after.last_error.error();
      continue;
    }
    if (e.rejected && e.locally_signed && !e.local_signing_failed) {
      VODFS_LOG(kWarn) << "The CDN refused a locally signed URL for " << key
                       << "; check cdn_auth_key. Using the API for it instead.";
      e.local_signing_failed = true;
    }
    e.refreshing = true;
    lock.Unlock();
    Status s = Refresh(ref);
    lock.Lock();
    Entry& after = entries_[key];
    after.refreshing = false;
    cv_.SignalAll();
    if (!s.ok()) {
      after.last_error = s;
      after.last_error_at = clock_.UnixNow();
      return s.error();
    }
  }
}

BrokerStats UrlBroker::Stats() const {
  MutexLock lock(&mu_);
  return stats_;
}

}  // namespace vodfs::resolve
