#include "vod/decode.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "vodfs/util/log.h"
#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"

namespace vodfs::vod {

using nlohmann::json;

namespace {

Error Bad(std::string_view op, const std::string& what) {
  return Error(ErrorCode::kBadResponse,
               std::string(op) + ": the response is not what the API documents: " + what);
}

Result<json> ParseObject(std::string_view op, std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return Bad(op, "the body is not JSON");
  if (!j.is_object()) return Bad(op, "the body is not a JSON object");
  return j;
}

const json* Field(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string Str(const json& j, const char* key) {
  const json* v = Field(j, key);
  if (!v) return "";
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number_integer()) return std::to_string(v->get<int64_t>());
  if (v->is_number_unsigned()) return std::to_string(v->get<uint64_t>());
  if (v->is_number_float()) {
    std::string s = v->dump();
    return s;
  }
  if (v->is_boolean()) return v->get<bool>() ? "true" : "false";
  return "";
}

std::optional<double> Number(const json* v) {
  if (!v) return std::nullopt;
  if (v->is_number()) {
    double d = v->get<double>();
    return std::isfinite(d) ? std::optional<double>(d) : std::nullopt;
  }
  if (v->is_string()) return str::ParseDouble(v->get<std::string>());
  return std::nullopt;
}

int64_t Int(const json& j, const char* key, int64_t def = 0) {
  const json* v = Field(j, key);
  if (!v) return def;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_unsigned()) {
    uint64_t u = v->get<uint64_t>();
    return u > static_cast<uint64_t>(INT64_MAX) ? def : static_cast<int64_t>(u);
  }
  if (v->is_string()) {
    if (auto i = str::ParseInt64(v->get<std::string>())) return *i;
  }
  auto d = Number(v);
  if (d && *d >= -9.2e18 && *d <= 9.2e18) return static_cast<int64_t>(std::llround(*d));
  return def;
}

// Sizes: a negative or absurd value means "unknown".
int64_t Size(const json& j, const char* key) {
  int64_t v = Int(j, key, 0);
  return v < 0 ? 0 : v;
}

double Dbl(const json& j, const char* key) { return Number(Field(j, key)).value_or(0); }

int64_t Time(const json& j, const char* key) {
  std::string s = Str(j, key);
  if (s.empty()) return 0;
  return timefmt::ParseIso8601(s).value_or(0);
}

// An array that may be wrapped ({"Inner": [...]}) or plain; a lone object
// where an array was expected counts as one element. Returns an error only
// for a value of an impossible type.
Result<std::vector<const json*>> Arr(std::string_view op, const json& j, const char* key,
                                     const char* inner) {
  std::vector<const json*> out;
  const json* v = Field(j, key);
  if (!v) return out;
  if (v->is_object() && inner) {
    const json* w = Field(*v, inner);
    if (!w) return out;
    v = w;
  }
  if (v->is_array()) {
    for (const auto& e : *v) out.push_back(&e);
    return out;
  }
  if (v->is_object()) {
    out.push_back(v);
    return out;
  }
  return Bad(op, std::string(key) + " is neither an array nor an object");
}

std::vector<std::string> Strings(std::string_view op, const json& j, const char* key,
                                 const char* inner) {
  std::vector<std::string> out;
  auto a = Arr(op, j, key, inner);
  if (!a.ok()) return out;
  for (const json* e : *a) {
    if (e->is_string()) out.push_back(e->get<std::string>());
  }
  return out;
}

MediaInfo DecodeMedia(std::string_view op, const json& v, const char* id_key) {
  MediaInfo m;
  m.id = Str(v, id_key);
  m.title = Str(v, "Title");
  m.description = Str(v, "Description");
  m.tags = Str(v, "Tags");
  m.cover_url = Str(v, "CoverURL");
  m.cate_id = Int(v, "CateId", -1);
  m.cate_name = Str(v, "CateName");
  m.duration = Dbl(v, "Duration");
  m.size = Size(v, "Size");
  m.status = Str(v, "Status");
  m.storage_class = Str(v, "StorageClass");
  m.storage_location = Str(v, "StorageLocation");
  m.creation_time = Time(v, "CreationTime");
  m.modification_time = Time(v, "ModificationTime");
  m.snapshots = Strings(op, v, "Snapshots", "Snapshot");
  m.sprite_snapshots = Strings(op, v, "SpriteSnapshots", "SpriteSnapshot");
  return m;
}

ImageInfo DecodeImage(const json& v) {
  ImageInfo i;
  i.id = Str(v, "ImageId");
  i.title = Str(v, "Title");
  i.description = Str(v, "Description");
  i.tags = Str(v, "Tags");
  i.url = Str(v, "URL");
  i.image_type = Str(v, "ImageType");
  i.status = Str(v, "Status");
  i.storage_location = Str(v, "StorageLocation");
  i.cate_id = Int(v, "CateId", -1);
  i.cate_name = Str(v, "CateName");
  i.creation_time = Time(v, "CreationTime");
  i.modification_time = Time(v, "ModificationTime");
  if (const json* m = Field(v, "Mezzanine"); m && m->is_object()) {
    i.file_url = Str(*m, "FileURL");
    i.file_size = Size(*m, "FileSize");
    i.width = Int(*m, "Width");
    i.height = Int(*m, "Height");
    i.original_file_name = Str(*m, "OriginalFileName");
  }
  return i;
}

Category DecodeCategory(const json& v) {
  Category c;
  c.id = Int(v, "CateId", -1);
  c.name = Str(v, "CateName");
  c.level = Int(v, "Level");
  c.parent_id = Int(v, "ParentId", -1);
  c.sub_total = Int(v, "SubTotal");
  c.type = Str(v, "Type");
  return c;
}

template <typename T>
void KeepIfIdentified(std::string_view op, T item, const std::string& id, std::vector<T>* out) {
  if (id.empty()) {
    VODFS_LOG(kWarn) << op << ": dropping an entry without an id";
    return;
  }
  out->push_back(std::move(item));
}

}  // namespace

const char* OutputTypeName(OutputType t) {
  switch (t) {
    case OutputType::kOss: return "oss";
    case OutputType::kCdn: return "cdn";
    case OutputType::kDefault: return "";
  }
  return "";
}

Result<VideoListPage> DecodeVideoList(std::string_view body) {
  constexpr std::string_view op = "GetVideoList";
  VODFS_ASSIGN_OR_RETURN(json j, ParseObject(op, body));
  VideoListPage page;
  page.total = Int(j, "Total");
  VODFS_ASSIGN_OR_RETURN(auto list, Arr(op, j, "VideoList", "Video"));
  for (const json* v : list) {
    if (!v->is_object()) return Bad(op, "a VideoList entry is not an object");
    MediaInfo m = DecodeMedia(op, *v, "VideoId");
    KeepIfIdentified(op, m, m.id, &page.videos);
  }
  return page;
}

Result<SearchPage> DecodeSearchMedia(std::string_view body, std::string_view search_type) {
  constexpr std::string_view op = "SearchMedia";
  VODFS_ASSIGN_OR_RETURN(json j, ParseObject(op, body));
  SearchPage page;
  page.total = Int(j, "Total");
  page.scroll_token = Str(j, "ScrollToken");
  VODFS_ASSIGN_OR_RETURN(auto list, Arr(op, j, "MediaList", "Media"));
  page.entries = list.size();
  for (const json* item : list) {
    if (!item->is_object()) return Bad(op, "a MediaList entry is not an object");
    std::string type = Str(*item, "MediaType");
    if (type.empty()) type = std::string(search_type);
    if (type == "image") {
      const json* v = Field(*item, "Image");
      ImageInfo img = v && v->is_object() ? DecodeImage(*v) : ImageInfo();
      if (img.id.empty()) img.id = Str(*item, "MediaId");
      if (!img.creation_time) img.creation_time = Time(*item, "CreationTime");
      KeepIfIdentified(op, img, img.id, &page.images);
      continue;
    }
    if (type != "video" && type != "audio") continue;  // attached media are not files
    const json* v = Field(*item, type == "audio" ? "Audio" : "Video");
    MediaInfo m = v && v->is_object() ? DecodeMedia(op, *v, type == "audio" ? "AudioId" : "VideoId")
                                      : MediaInfo();
    if (m.id.empty() && v) m.id = Str(*v, "VideoId");
    if (m.id.empty()) m.id = Str(*item, "MediaId");
    m.media_type = type;
    if (!m.creation_time) m.creation_time = Time(*item, "CreationTime");
    KeepIfIdentified(op, m, m.id, &page.media);
  }
  return page;
}

Result<MediaInfo> DecodeVideoInfo(std::string_view body) {
  constexpr std::string_view op = "GetVideoInfo";
  VODFS_ASSIGN_OR_RETURN(json j, ParseObject(op, body));
  const json* v = Field(j, "Video");
  if (!v || !v->is_object()) return Bad(op, "no Video object");
  MediaInfo m = DecodeMedia(op, *v, "VideoId");
  if (m.id.empty()) return Bad(op, "Video has no VideoId");
  return m;
}

Result<VideoInfos> DecodeVideoInfos(std::string_view body) {
  constexpr std::string_view op = "GetVideoInfos";
  VODFS_ASSIGN_OR_RETURN(json j, ParseObject(op, body));
  VideoInfos out;
  VODFS_ASSIGN_OR_RETURN(auto list, Arr(op, j, "VideoList", "Video"));
  for (const json* v : list) {
    if (!v->is_object()) return Bad(op, "a VideoList entry is not an object");
    MediaInfo m = DecodeMedia(op, *v, "VideoId");
    KeepIfIdentified(op, m, m.id, &out.videos);
  }
  out.missing = Strings(op, j, "NonExistVideoIds", "VideoId");
  return out;
}

Result<Mezzanine> DecodeMezzanineInfo(std::string_view body) {
  constexpr std::string_view op = "GetMezzanineInfo";
  VODFS_ASSIGN_OR_RETURN(json j, ParseObject(op, body));
  const json* m = Field(j, "Mezzanine");
  if (!m || !m->is_object()) return Bad(op, "no Mezzanine object");
  Mezzanine z;
  z.video_id = Str(*m, "VideoId");
  z.file_name = Str(*m, "FileName");
  z.file_url = Str(*m, "FileURL");
  z.size = Size(*m, "Size");
  z.duration = Dbl(*m, "Duration");
  z.bitrate = Str(*m, "Bitrate");
  z.fps = Str(*m, "Fps");
  z.width = Int(*m, "Width");
  z.height = Int(*m, "Height");
  z.creation_time = Time(*m, "CreationTime");
  z.status = Str(*m, "Status");
  z.output_type = Str(*m, "OutputType");
  z.storage_class = Str(*m, "StorageClass");
  z.file_md5 = Str(*m, "FileMD5");
  for (auto [key, inner, out] : {std::tuple{"VideoStreamList", "VideoStream", &z.video_streams},
                                 std::tuple{"AudioStreamList", "AudioStream", &z.audio_streams}}) {
    VODFS_ASSIGN_OR_RETURN(auto list, Arr(op, *m, key, inner));
    for (const json* s : list) {
      if (!s->is_object()) continue;
      std::map<std::string, std::string> fields;
      for (auto it = s->begin(); it != s->end(); ++it) fields[it.key()] = Str(*s, it.key().c_str());
      out->push_back(std::move(fields));
    }
  }
  return z;
}

Result<PlayInfoResult> DecodePlayInfo(std::string_view body) {
  constexpr std::string_view op = "GetPlayInfo";
  VODFS_ASSIGN_OR_RETURN(json j, ParseObject(op, body));
  PlayInfoResult r;
  if (const json* b = Field(j, "VideoBase"); b && b->is_object()) {
    r.base.video_id = Str(*b, "VideoId");
    r.base.title = Str(*b, "Title");
    r.base.cover_url = Str(*b, "CoverURL");
    r.base.media_type = Str(*b, "MediaType");
    r.base.status = Str(*b, "Status");
    r.base.storage_class = Str(*b, "StorageClass");
    r.base.creation_time = Time(*b, "CreationTime");
    r.base.duration = Dbl(*b, "Duration");
  }
  if (!Field(j, "PlayInfoList")) return Bad(op, "no PlayInfoList");
  VODFS_ASSIGN_OR_RETURN(auto list, Arr(op, j, "PlayInfoList", "PlayInfo"));
  for (const json* p : list) {
    if (!p->is_object()) return Bad(op, "a PlayInfo entry is not an object");
    PlayInfo s;
    s.play_url = Str(*p, "PlayURL");
    s.size = Size(*p, "Size");
    s.definition = Str(*p, "Definition");
    s.format = Str(*p, "Format");
    s.stream_type = Str(*p, "StreamType");
    s.duration = Dbl(*p, "Duration");
    s.bitrate = Dbl(*p, "Bitrate");
    s.width = Int(*p, "Width");
    s.height = Int(*p, "Height");
    s.fps = Str(*p, "Fps");
    s.encrypt = Int(*p, "Encrypt");
    s.encrypt_type = Str(*p, "EncryptType");
    s.encrypt_mode = Str(*p, "EncryptMode");
    s.job_id = Str(*p, "JobId");
    s.status = Str(*p, "Status");
    s.specification = Str(*p, "Specification");
    s.codec_name = Str(*p, "CodecName");
    s.hdr_type = Str(*p, "HDRType");
    s.bit_depth = Int(*p, "BitDepth");
    s.creation_time = Time(*p, "CreationTime");
    s.modification_time = Time(*p, "ModificationTime");
    if (s.play_url.empty() || s.format.empty()) {
      VODFS_LOG(kWarn) << op << ": dropping a stream without PlayURL or Format";
      continue;
    }
    r.streams.push_back(std::move(s));
  }
  return r;
}

Result<SnapshotPage> DecodeListSnapshots(std::string_view body) {
  constexpr std::string_view op = "ListSnapshots";
  VODFS_ASSIGN_OR_RETURN(json j, ParseObject(op, body));
  SnapshotPage page;
  const json* ms = Field(j, "MediaSnapshot");
  if (!ms) return page;  // no snapshot job
  if (!ms->is_object()) return Bad(op, "MediaSnapshot is not an object");
  page.job_id = Str(*ms, "JobId");
  page.creation_time = Time(*ms, "CreationTime");
  page.total = Int(*ms, "Total");
  page.regular = Str(*ms, "Regular");
  VODFS_ASSIGN_OR_RETURN(auto list, Arr(op, *ms, "Snapshots", "Snapshot"));
  for (const json* s : list) {
    if (!s->is_object()) continue;
    Snapshot snap{Int(*s, "Index"), Str(*s, "Url")};
    if (snap.url.empty()) continue;
    page.snapshots.push_back(std::move(snap));
  }
  return page;
}

Result<ImageInfo> DecodeImageInfo(std::string_view body) {
  constexpr std::string_view op = "GetImageInfo";
  VODFS_ASSIGN_OR_RETURN(json j, ParseObject(op, body));
  const json* v = Field(j, "ImageInfo");
  if (!v || !v->is_object()) return Bad(op, "no ImageInfo object");
  ImageInfo i = DecodeImage(*v);
  if (i.id.empty()) return Bad(op, "ImageInfo has no ImageId");
  return i;
}

Result<ImageInfos> DecodeImageInfos(std::string_view body) {
  constexpr std::string_view op = "GetImageInfos";
  VODFS_ASSIGN_OR_RETURN(json j, ParseObject(op, body));
  ImageInfos out;
  VODFS_ASSIGN_OR_RETURN(auto list, Arr(op, j, "ImageInfo", "ImageInfo"));
  for (const json* v : list) {
    if (!v->is_object()) return Bad(op, "an ImageInfo entry is not an object");
    ImageInfo i = DecodeImage(*v);
    KeepIfIdentified(op, i, i.id, &out.images);
  }
  out.missing = Strings(op, j, "NonExistImageIds", "ImageId");
  return out;
}

Result<CategoryPage> DecodeCategories(std::string_view body) {
  constexpr std::string_view op = "GetCategories";
  VODFS_ASSIGN_OR_RETURN(json j, ParseObject(op, body));
  CategoryPage page;
  if (const json* c = Field(j, "Category"); c && c->is_object()) page.category = DecodeCategory(*c);
  page.sub_total = Int(j, "SubTotal");
  VODFS_ASSIGN_OR_RETURN(auto list, Arr(op, j, "SubCategories", "Category"));
  for (const json* c : list) {
    if (!c->is_object()) continue;
    Category cat = DecodeCategory(*c);
    if (cat.id < 0) continue;
    page.children.push_back(std::move(cat));
  }
  return page;
}

}  // namespace vodfs::vod
