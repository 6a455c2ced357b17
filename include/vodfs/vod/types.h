// Typed requests and responses of the VOD operations vodfs uses. Times are
// Unix seconds (0 when absent), sizes bytes, durations seconds. Fields the
// API sends as strings or numbers interchangeably are normalised here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vodfs::vod {

enum class OutputType { kDefault, kOss, kCdn };
const char* OutputTypeName(OutputType t);  // "" for kDefault

// A video or audio medium (GetVideoInfo/Infos/List, SearchMedia).
struct MediaInfo {
  std::string id;
  std::string media_type = "video";  // video | audio
  std::string title, description, tags;
  std::string cover_url;
  int64_t cate_id = -1;
  std::string cate_name;
  double duration = 0;
  int64_t size = 0;  // source size; 0 if unknown
  std::string status;
  std::string storage_class;
  std::string storage_location;
  int64_t creation_time = 0;
  int64_t modification_time = 0;
  std::vector<std::string> snapshots;
  std::vector<std::string> sprite_snapshots;
};

struct ImageInfo {
  std::string id, title, description, tags;
  std::string url;
  std::string image_type;
  std::string status;
  std::string storage_location;
  int64_t cate_id = -1;
  std::string cate_name;
  int64_t creation_time = 0;
  int64_t modification_time = 0;
  std::string file_url;  // Mezzanine.FileURL
  int64_t file_size = 0;
  int64_t width = 0, height = 0;
  std::string original_file_name;
};

struct Mezzanine {
  std::string video_id;
  std::string file_name;
  std::string file_url;
  int64_t size = 0;
  double duration = 0;
  std::string bitrate, fps;
  int64_t width = 0, height = 0;
  int64_t creation_time = 0;
  std::string status;
  std::string output_type;
  std::string storage_class;
  std::string file_md5;
  std::vector<std::map<std::string, std::string>> video_streams;
  std::vector<std::map<std::string, std::string>> audio_streams;
};

struct PlayInfo {
  std::string play_url;
  int64_t size = 0;
  std::string definition, format, stream_type;
  double duration = 0;
  double bitrate = 0;
  int64_t width = 0, height = 0;
  std::string fps;
  int64_t encrypt = 0;
  std::string encrypt_type, encrypt_mode;
  std::string job_id;
  std::string status;  // Normal | Invisible
  std::string specification, codec_name, hdr_type;
  int64_t bit_depth = 0;
  int64_t creation_time = 0, modification_time = 0;
};

struct VideoBase {
  std::string video_id, title, cover_url, media_type, status, storage_class;
  int64_t creation_time = 0;
  double duration = 0;
};

struct PlayInfoResult {
  VideoBase base;
  std::vector<PlayInfo> streams;
};

struct Snapshot {
  int64_t index = 0;
  std::string url;
};

struct SnapshotPage {
  std::string job_id;
  int64_t creation_time = 0;
  int64_t total = 0;
  std::string regular;
  std::vector<Snapshot> snapshots;
};

struct Category {
  int64_t id = -1;
  std::string name;
  int64_t level = 0;
  int64_t parent_id = -1;
  int64_t sub_total = 0;
  std::string type;
};

struct CategoryPage {
  std::optional<Category> category;  // absent for the root listing
  int64_t sub_total = 0;
  std::vector<Category> children;
};

struct VideoListPage {
  int64_t total = 0;
  std::vector<MediaInfo> videos;
};

struct SearchPage {
  int64_t total = 0;
  std::string scroll_token;
  size_t entries = 0;  // MediaList entries the answer had (unusable ones are dropped below)
  std::vector<MediaInfo> media;  // video / audio searches
  std::vector<ImageInfo> images;  // image searches
};

struct VideoInfos {
  std::vector<MediaInfo> videos;
  std::vector<std::string> missing;
};

struct ImageInfos {
  std::vector<ImageInfo> images;
  std::vector<std::string> missing;
};

// ---- Requests ---------------------------------------------------------------

struct VideoListRequest {
  std::optional<int64_t> cate_id;
  std::string status;  // comma list
  std::string start_time, end_time;
  int page_no = 1;
  int page_size = 100;
  std::string sort_by;  // CreationTime:Desc (service default) | CreationTime:Asc
};

struct SearchRequest {
  std::string search_type = "video";  // video | audio | image
  std::string match;
  std::string fields;  // comma list
  std::string sort_by;
  int page_no = 1;
  int page_size = 100;
  std::string scroll_token;
};

struct MezzanineRequest {
  std::string video_id;
  OutputType output_type = OutputType::kDefault;
  int64_t auth_timeout = 0;  // 0 = service default
  std::string addition_type;
};

struct PlayInfoRequest {
  std::string video_id;
  std::string formats, definition, stream_type;
  OutputType output_type = OutputType::kDefault;
  int64_t auth_timeout = 0;
  std::string result_type;  // Single | Multiple
  std::string play_config;  // JSON
  std::string reauth_info;  // JSON
};

struct SnapshotRequest {
  std::string video_id;
  std::string snapshot_type = "CoverSnapshot";
  int64_t auth_timeout = 0;
  int page_no = 1;
  int page_size = 100;
};

struct ImageRequest {
  std::string image_id;  // GetImageInfo
  std::vector<std::string> image_ids;  // GetImageInfos (max 20)
  OutputType output_type = OutputType::kDefault;
  int64_t auth_timeout = 0;
};

struct CategoryRequest {
  int64_t cate_id = -1;
  int page_no = 1;
  int page_size = 100;
  std::string type;
};

}  // namespace vodfs::vod
