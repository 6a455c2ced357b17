// VodUrlResolver: UrlResolver over the VOD API (and, for HLS segments, the
// stream's playlist).
#pragma once

#include "vodfs/http/http_client.h"
#include "vodfs/resolve/url_broker.h"
#include "vodfs/vod/api.h"

namespace vodfs::resolve {

struct ResolverOptions {
  vod::OutputType output_type = vod::OutputType::kCdn;
  int64_t auth_timeout = 3600;
  bool all_streams = false;  // ResultType=Multiple
  http::Headers media_headers;  // Referer, User-Agent for playlist downloads
};

class VodUrlResolver final : public UrlResolver {
 public:
  VodUrlResolver(vod::VodApi& api, http::HttpClient& http, ResolverOptions options);
  Result<std::vector<Resolved>> Resolve(const MediaRef& ref) override;

  // The streams of a video as the resolver asks for them (shared with the
  // namespace so both see the same stream list).
  vod::PlayInfoRequest PlayRequest(const std::string& video_id) const;
  static const char* SnapshotType(Role r);

 private:
  vod::VodApi& api_;
  http::HttpClient& http_;
  ResolverOptions options_;
};

}  // namespace vodfs::resolve
