// info.json: a medium's metadata and its stream list as a file of its
// directory. Never a URL, never a secret: it is built from the index
// record and the typed API answers, field by field.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vodfs/index/store.h"
#include "vodfs/vod/types.h"

namespace vodfs::ns {

struct InfoParts {
  std::optional<std::pair<std::string, vod::Mezzanine>> source;       // file name, mezzanine
  std::vector<std::pair<std::string, vod::PlayInfo>> streams;         // file name, stream
  size_t snapshots = 0;
  size_t sprites = 0;
};

std::string RenderInfoJson(const index::MediaRecord& m, const InfoParts& parts);

}  // namespace vodfs::ns
