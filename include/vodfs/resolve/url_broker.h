// UrlBroker: the signed URL of every MediaRef, kept valid.
//
//  - Expiry is read from the URL (OSS Expires; CDN timestamp + the domain's
//    validity window) and bounded by the AuthTimeout asked for.
//  - A URL nearing expiry is refreshed in the background while readers keep
//    using it; an expired or rejected one is refreshed before use. Refreshes
//    are single-flight per reference, and one API answer refreshes every
//    reference it covers (all streams of a GetPlayInfo, a page of
//    snapshots...).
//  - With the CDN signing key configured, CDN URLs (types A, B, C) are
//    re-signed locally: no API call at all.
//  - A fetcher that gets 401/403/410 reports the URL's generation; the next
//    Get() returns a fresh URL.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "vodfs/auth/url_signer.h"
#include "vodfs/resolve/media_ref.h"
#include "vodfs/util/clock.h"
#include "vodfs/util/executor.h"
#include "vodfs/util/mutex.h"
#include "vodfs/util/result.h"

namespace vodfs::resolve {

// Fetches fresh URLs from the service. May answer for more references than
// asked (siblings covered by the same call).
class UrlResolver {
 public:
  struct Resolved {
    MediaRef ref;
    std::string url;
  };
  virtual ~UrlResolver() = default;
  virtual Result<std::vector<Resolved>> Resolve(const MediaRef& ref) = 0;
};

struct BrokerOptions {
  int64_t auth_timeout = 3600;    // lifetime asked for
  int64_t cdn_auth_delta = 1800;  // the CDN domain's validity window
  std::string cdn_key;            // enables local re-signing
  auth::CdnAuthType cdn_type = auth::CdnAuthType::kNone;  // kNone = recognise from the URL
  int64_t max_margin = 300;       // refresh-ahead margin (seconds), at most
};

struct BrokerStats {
  uint64_t api_refreshes = 0;     // Resolve() calls
  uint64_t local_resignings = 0;  // CDN URLs re-signed without the API
  uint64_t rejections = 0;        // URLs reported as refused by an origin
  uint64_t background_refreshes = 0;
};

class UrlBroker {
 public:
  struct Lease {
    std::string url;
    int64_t expires_at = 0;  // Unix seconds; INT64_MAX for unsigned URLs
    uint64_t generation = 0;
  };

  // `background` runs refresh-ahead; nullptr refreshes inline.
  UrlBroker(UrlResolver& resolver, Clock& clock, Executor* background, BrokerOptions options);
  UrlBroker(const UrlBroker&) = delete;
  UrlBroker& operator=(const UrlBroker&) = delete;

  Result<Lease> Get(const MediaRef& ref);
  // Records a URL obtained elsewhere (e.g. from a listing), unless a newer
  // one is already known.
  void Seed(const MediaRef& ref, const std::string& url);
  // An origin refused the URL of `generation` (401/403/410).
  void ReportRejected(const MediaRef& ref, uint64_t generation);
  // The expiry the broker computes for a URL fetched now.
  int64_t ExpiryOf(const std::string& url, int64_t fetched_at) const;

  BrokerStats Stats() const;

 private:
  struct Entry {
    std::string url;
    int64_t fetched_at = 0;
    int64_t expires_at = 0;
    uint64_t generation = 0;
    bool rejected = false;
    bool refreshing = false;
    bool locally_signed = false;        // url was made with options_.cdn_key
    bool local_signing_failed = false;  // such a URL was refused: key is wrong
    Status last_error;                  // of the latest failed refresh
    int64_t last_error_at = 0;
  };
  bool Usable(const Entry& e, int64_t now) const;

  // Does the refresh of `ref` (API or local signing). Called without mu_.
  Status Refresh(const MediaRef& ref);
  void Apply(const MediaRef& ref, const std::string& url, int64_t now) REQUIRES(mu_);
  int64_t Margin(const Entry& e) const;

  UrlResolver& resolver_;
  Clock& clock_;
  Executor* background_;
  BrokerOptions options_;
  mutable Mutex mu_;
  CondVar cv_;
  std::unordered_map<std::string, Entry> entries_ GUARDED_BY(mu_);
  uint64_t next_generation_ GUARDED_BY(mu_) = 1;
  BrokerStats stats_ GUARDED_BY(mu_);
};

}  // namespace vodfs::resolve
