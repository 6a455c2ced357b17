// MediaRef: names one downloadable object of the library independently of
// any URL (URLs expire; references do not).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace vodfs::resolve {

enum class Role {
  kSource,        // the mezzanine file (GetMezzanineInfo)
  kStream,        // a transcoded stream (GetPlayInfo), one file
  kHlsPlaylist,   // an m3u8 stream's playlist (GetPlayInfo)
  kHlsSegment,    // one segment of an m3u8 stream (from its playlist)
  kCover,         // CoverSnapshot
  kSnapshot,      // NormalSnapshot #index
  kSprite,        // SpriteSnapshot #index
  kSpriteOrigin,  // SpriteOriginSnapshot #index
  kImage,         // an uploaded image (GetImageInfo)
};

const char* RoleName(Role r);

struct MediaRef {
  Role role = Role::kSource;
  std::string id;          // VideoId or ImageId
  std::string job_id;      // kStream, kHlsPlaylist, kHlsSegment
  std::string definition;  // kStream, kHlsPlaylist, kHlsSegment
  std::string format;      // kStream, kHlsPlaylist, kHlsSegment
  int64_t index = 0;       // snapshots: 1-based; segments: 0-based

  // Stable identity, e.g. "stream/<id>/<job>"; cache and version keys use it.
  std::string Key() const;
  bool operator==(const MediaRef& o) const { return Key() == o.Key(); }
};

}  // namespace vodfs::resolve
