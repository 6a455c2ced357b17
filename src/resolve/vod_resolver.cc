#include "vodfs/resolve/vod_resolver.h"

#include "vodfs/resolve/hls.h"
#include "vodfs/util/url.h"

namespace vodfs::resolve {

VodUrlResolver::VodUrlResolver(vod::VodApi& api, http::HttpClient& http, ResolverOptions options)
    : api_(api), http_(http), options_(std::move(options)) {}

vod::PlayInfoRequest VodUrlResolver::PlayRequest(const std::string& video_id) const {
  vod::PlayInfoRequest r;
  r.video_id = video_id;
  r.output_type = options_.output_type;
  r.auth_timeout = options_.auth_timeout;
  if (options_.all_streams) r.result_type = "Multiple";
  return r;
}

const char* VodUrlResolver::SnapshotType(Role r) {
  switch (r) {
    case Role::kCover: return "CoverSnapshot";
    case Role::kSnapshot: return "NormalSnapshot";
    case Role::kSprite: return "SpriteSnapshot";
    case Role::kSpriteOrigin: return "SpriteOriginSnapshot";
    default: return "";
  }
}

Result<std::vector<UrlResolver::Resolved>> VodUrlResolver::Resolve(const MediaRef& ref) {
  std::vector<Resolved> out;
  switch (ref.role) {
    case Role::kSource: {
      vod::MezzanineRequest r;
      r.video_id = ref.id;
      r.output_type = options_.output_type;
      r.auth_timeout = options_.auth_timeout;
      VODFS_ASSIGN_OR_RETURN(vod::Mezzanine m, api_.GetMezzanineInfo(r));
      out.push_back({ref, m.file_url});
      return out;
    }
    case Role::kStream:
    case Role::kHlsPlaylist:
    case Role::kHlsSegment: {
      VODFS_ASSIGN_OR_RETURN(vod::PlayInfoResult play, api_.GetPlayInfo(PlayRequest(ref.id)));
      std::string playlist_url;
      for (const auto& s : play.streams) {
        MediaRef r;
        r.id = ref.id;
        r.role = s.format == "m3u8" ? Role::kHlsPlaylist : Role::kStream;
        r.job_id = s.job_id;
        r.definition = s.definition;
        r.format = s.format;
        out.push_back({r, s.play_url});
        if (r.role == Role::kHlsPlaylist && s.job_id == ref.job_id) playlist_url = s.play_url;
      }
      if (ref.role != Role::kHlsSegment) return out;
      if (playlist_url.empty()) {
        return Error(ErrorCode::kNotFound, "the HLS stream " + ref.job_id + " of " + ref.id + " is gone");
      }
      // Segment URLs (each with its own auth) come from the playlist.
      http::Request req;
      req.url = playlist_url;
      req.headers = options_.media_headers;
      req.timeout = std::chrono::seconds(30);
      auto resp = http_.Send(req, 16 << 20);
      if (!resp.ok()) return resp.error();
      if (resp->status != 200 && resp->status != 206) {
        return Error(ErrorCode::kUnavailable,
                     "the playlist of " + ref.id + " answered HTTP " + std::to_string(resp->status));
      }
      HlsPlaylist pl = ParseHlsPlaylist(resp->body);
      for (size_t i = 0; i < pl.segments.size(); ++i) {
        auto abs = ResolveUrl(playlist_url, pl.segments[i].uri);
        if (!abs) continue;
        MediaRef seg = ref;
        seg.index = static_cast<int64_t>(i);
        out.push_back({seg, *abs});
      }
      return out;
    }
    case Role::kCover:
    case Role::kSnapshot:
    case Role::kSprite:
    case Role::kSpriteOrigin: {
      vod::SnapshotRequest r;
      r.video_id = ref.id;
      r.snapshot_type = SnapshotType(ref.role);
      r.auth_timeout = std::max<int64_t>(options_.auth_timeout, 3600);  // the API's minimum
      r.page_size = 100;
      r.page_no = ref.role == Role::kCover ? 1 : static_cast<int>((ref.index - 1) / 100 + 1);
      VODFS_ASSIGN_OR_RETURN(vod::SnapshotPage page, api_.ListSnapshots(r));
      for (const auto& s : page.snapshots) {
        MediaRef m = ref;
        m.index = ref.role == Role::kCover ? 0 : s.index;
        out.push_back({m, s.url});
        if (ref.role == Role::kCover) break;
      }
      if (ref.role == Role::kCover && out.empty()) {
        VODFS_ASSIGN_OR_RETURN(vod::MediaInfo info, api_.GetVideoInfo(ref.id));
        out.push_back({ref, info.cover_url});
      }
      return out;
    }
    case Role::kImage: {
      vod::ImageRequest r;
      r.image_id = ref.id;
      r.output_type = options_.output_type;
      r.auth_timeout = options_.auth_timeout;
      VODFS_ASSIGN_OR_RETURN(vod::ImageInfo img, api_.GetImageInfo(r));
      std::string url = options_.output_type == vod::OutputType::kOss || img.url.empty() ? img.file_url : img.url;
      if (url.empty()) url = img.url;
      out.push_back({ref, url});
      return out;
    }
  }
  return Error(ErrorCode::kInternal, "unknown media role");
}

}  // namespace vodfs::resolve
