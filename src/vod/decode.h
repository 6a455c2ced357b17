// Decoding of VOD API bodies into the types of vod/types.h.
//
// Lenient where the service is inconsistent (numbers as numbers or numeric
// strings; arrays wrapped as {"X": [...]} or plain; missing optional
// fields; unknown fields ignored), strict where it matters: a body that is
// not a JSON object, or a documented container of the wrong type, is a
// kBadResponse error with a message naming the operation and the field.
// Entries without an identifier are dropped (and logged), never guessed.
#pragma once

#include <string>
#include <string_view>

#include "vodfs/util/result.h"
#include "vodfs/vod/types.h"

namespace vodfs::vod {

Result<VideoListPage> DecodeVideoList(std::string_view body);
Result<SearchPage> DecodeSearchMedia(std::string_view body, std::string_view search_type);
Result<MediaInfo> DecodeVideoInfo(std::string_view body);
Result<VideoInfos> DecodeVideoInfos(std::string_view body);
Result<Mezzanine> DecodeMezzanineInfo(std::string_view body);
Result<PlayInfoResult> DecodePlayInfo(std::string_view body);
Result<SnapshotPage> DecodeListSnapshots(std::string_view body);
Result<ImageInfo> DecodeImageInfo(std::string_view body);
Result<ImageInfos> DecodeImageInfos(std::string_view body);
Result<CategoryPage> DecodeCategories(std::string_view body);

}  // namespace vodfs::vod
