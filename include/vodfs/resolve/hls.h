// Reading and rewriting HLS media playlists.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vodfs::resolve {

struct HlsSegment {
  std::string uri;       // as written in the playlist (may carry its own auth)
  double duration = 0;   // from #EXTINF
};

struct HlsPlaylist {
  std::vector<HlsSegment> segments;
  bool is_master = false;  // a master playlist (variant streams) has no segments
};

HlsPlaylist ParseHlsPlaylist(std::string_view text);

// The playlist with segment URIs replaced by `local_names` (same order) and
// every query string removed from URIs it keeps (key URIs stay absolute).
std::string RewriteHlsPlaylist(std::string_view text, const std::vector<std::string>& local_names);

}  // namespace vodfs::resolve
