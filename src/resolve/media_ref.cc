#include "vodfs/resolve/media_ref.h"

namespace vodfs::resolve {

const char* RoleName(Role r) {
  switch (r) {
    case Role::kSource: return "source";
    case Role::kStream: return "stream";
    case Role::kHlsPlaylist: return "playlist";
    case Role::kHlsSegment: return "segment";
    case Role::kCover: return "cover";
    case Role::kSnapshot: return "snapshot";
    case Role::kSprite: return "sprite";
    case Role::kSpriteOrigin: return "sprite-origin";
    case Role::kImage: return "image";
  }
  return "?";
}

std::string MediaRef::Key() const {
  std::string k = std::string(RoleName(role)) + "/" + id;
  switch (role) {
    case Role::kStream:
    case Role::kHlsPlaylist:
      k += "/" + job_id;
      break;
    case Role::kHlsSegment:
      k += "/" + job_id + "/" + std::to_string(index);
      break;
    case Role::kSnapshot:
    case Role::kSprite:
    case Role::kSpriteOrigin:
      k += "/" + std::to_string(index);
      break;
    default:
      break;
  }
  return k;
}

}  // namespace vodfs::resolve
