#include "emulator/library_changes.h"

#include <algorithm>
#include <cstdio>
#include <unordered_set>

#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"

namespace vodfs::emu {

using nlohmann::json;

namespace {

// Seeds the bytes of objects made by changes; any fixed value would do, it
// only has to differ from the synthetic library's seeds (small integers).
constexpr uint64_t kChangeObjectSeed = 0xc4a9'6e5c'0ffe'e001ULL;
// Default size of an added medium's source (streams are fractions of it),
// as --synthetic-size defaults to.
constexpr uint64_t kDefaultSourceSize = 1 << 20;
// At most this many streams or snapshots per change (a sanity bound).
constexpr size_t kMaxStreams = 20;
constexpr size_t kMaxSnapshots = 1000;
// An m3u8 stream made by a change has this many segments (like
// --synthetic-hls).
constexpr size_t kHlsSegments = 4;

// Documented values (vod-api.md 3.11), space-separated.
constexpr std::string_view kMediaStatuses =
    "Uploading UploadFail UploadSucc Transcoding TranscodeFail checking Blocked Normal ProduceFail";
constexpr std::string_view kImageStatuses = "Uploading Normal UploadFail";
constexpr std::string_view kStorageClasses =
    "Standard IA Archive ColdArchive SourceIA SourceArchive SourceColdArchive Changing "
    "SourceChanging";
constexpr std::string_view kDefinitions = "FD LD SD HD OD 2K 4K SQ HQ AUTO";
constexpr std::string_view kFormats = "mp4 m3u8 mp3 flv";

// True when `word` is one of the space-separated `words`.
bool OneOf(std::string_view words, std::string_view word) {
  while (!words.empty()) {
    const size_t end = std::min(words.find(' '), words.size());
    if (words.substr(0, end) == word) return true;
    words.remove_prefix(std::min(end + 1, words.size()));
  }
  return false;
}

std::string Hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string Num5(size_t n) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%05zu", n);
  return buf;
}

// The fields each (op, kind) accepts besides "op" and "kind".
std::string_view AllowedFields(LibraryChange::Op op, bool image) {
  switch (op) {
    case LibraryChange::Op::kAdd:
      return image ? "count title description tags creation_time modification_time cate_id "
                     "status source_size"
                   : "type count title description tags creation_time modification_time "
                     "cate_id status storage_class source_size streams snapshots";
    case LibraryChange::Op::kModify:
      return image ? "ids count seed title description tags cate_id status source_size "
                     "modification_time"
                   : "ids count seed type title description tags cate_id status storage_class "
                     "streams add_streams snapshots source_size modification_time";
    case LibraryChange::Op::kDelete:
      return image ? "ids count seed" : "ids count seed type";
  }
  return "";
}

Error Bad(const std::string& why) { return Error(ErrorCode::kInvalidArgument, why); }

Result<std::string> String(const json& j, const std::string& name) {
  if (!j[name].is_string()) return Bad("'" + name + "' must be a string");
  return j[name].get<std::string>();
}

Result<uint64_t> Unsigned(const json& j, const std::string& name, uint64_t min, uint64_t max) {
  const json& v = j[name];
  const bool negative = v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0;
  if (!v.is_number_integer() || negative || v.get<uint64_t>() < min || v.get<uint64_t>() > max) {
    return Bad("'" + name + "' must be an integer from " + std::to_string(min) + " to " +
               std::to_string(max));
  }
  return v.get<uint64_t>();
}

Result<int64_t> Time(const json& j, const std::string& name) {
  if (!j[name].is_string()) return Bad("'" + name + "' must be an ISO 8601 time string");
  auto t = timefmt::ParseIso8601(j[name].get<std::string>());
  if (!t) return Bad("'" + name + "' is not an ISO 8601 time: " + j[name].get<std::string>());
  return *t;
}

Result<std::vector<StreamSpec>> Streams(const json& j, const std::string& name) {
  const json& v = j[name];
  if (!v.is_array() || v.size() > kMaxStreams) {
    return Bad("'" + name + "' must be an array of at most " + std::to_string(kMaxStreams) +
               " streams");
  }
  std::vector<StreamSpec> out;
  for (const auto& js : v) {
    if (!js.is_object()) return Bad("a stream of '" + name + "' is not an object");
    for (auto it = js.begin(); it != js.end(); ++it) {
      if (it.key() != "definition" && it.key() != "format" && it.key() != "size") {
        return Bad("unknown stream field '" + it.key() + "'");
      }
    }
    StreamSpec s;
    if (!js.contains("definition") || !js.contains("format")) {
      return Bad("a stream needs 'definition' and 'format'");
    }
    VODFS_ASSIGN_OR_RETURN(s.definition, String(js, "definition"));
    VODFS_ASSIGN_OR_RETURN(s.format, String(js, "format"));
    if (!OneOf(kDefinitions, s.definition))
      return Bad("unknown stream definition '" + s.definition + "'");
    if (!OneOf(kFormats, s.format)) {
      return Bad("unknown stream format '" + s.format + "' (mp4, m3u8, mp3 or flv)");
    }
    if (js.contains("size")) {
      VODFS_ASSIGN_OR_RETURN(uint64_t size, Unsigned(js, "size", 1, uint64_t{1} << 50));
      s.size = size;
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<LibraryChange> ParseOne(const json& j) {
  using Op = LibraryChange::Op;
  if (!j.is_object()) return Bad("a change must be a JSON object");
  LibraryChange c;
  if (!j.contains("op") || !j["op"].is_string())
    return Bad("'op' (add, modify or delete) is required");
  const std::string op = j["op"].get<std::string>();
  if (op == "add") {
    c.op = Op::kAdd;
  } else if (op == "modify") {
    c.op = Op::kModify;
  } else if (op == "delete") {
    c.op = Op::kDelete;
  } else {
    return Bad("unknown op '" + op + "' (add, modify or delete)");
  }
  if (!j.contains("kind") || !j["kind"].is_string())
    return Bad("'kind' (media or image) is required");
  const std::string kind = j["kind"].get<std::string>();
  if (kind != "media" && kind != "image")
    return Bad("unknown kind '" + kind + "' (media or image)");
  c.image = kind == "image";
  const std::string_view allowed = AllowedFields(c.op, c.image);
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() != "op" && it.key() != "kind" && !OneOf(allowed, it.key())) {
      return Bad("field '" + it.key() + "' does not apply to " + op + " " + kind);
    }
  }

  if (j.contains("type")) {
    VODFS_ASSIGN_OR_RETURN(c.type, String(j, "type"));
    if (c.type != "video" && c.type != "audio")
      return Bad("unknown type '" + c.type + "' (video or audio)");
  }
  if (c.op == Op::kAdd && !c.image && c.type.empty()) c.type = "video";
  if (j.contains("count")) {
    VODFS_ASSIGN_OR_RETURN(uint64_t n, Unsigned(j, "count", 1, kMaxChangeCount));
    c.count = n;
  }
  if (c.op != Op::kAdd) {
    if (j.contains("ids")) {
      if (j.contains("count") || j.contains("seed"))
        return Bad("give 'ids' or 'count' and 'seed', not both");
      if (!j["ids"].is_array() || j["ids"].empty() || j["ids"].size() > kMaxChangeCount) {
        return Bad("'ids' must be a non-empty array of ids");
      }
      std::unordered_set<std::string> seen;
      for (const auto& id : j["ids"]) {
        if (!id.is_string() || id.get<std::string>().empty())
          return Bad("'ids' must hold id strings");
        if (!seen.insert(id.get<std::string>()).second) {
          return Bad("id " + id.get<std::string>() + " is listed twice");
        }
        c.ids.push_back(id.get<std::string>());
      }
    } else if (j.contains("seed")) {
      VODFS_ASSIGN_OR_RETURN(uint64_t seed, Unsigned(j, "seed", 0, UINT64_MAX));
      c.seed = seed;
    } else {
      return Bad("give 'ids', or 'count' and 'seed'");
    }
  }
  for (auto [name, field] : {std::pair{"title", &c.title}, std::pair{"description", &c.description},
                             std::pair{"tags", &c.tags}}) {
    if (j.contains(name)) {
      VODFS_ASSIGN_OR_RETURN(std::string v, String(j, name));
      *field = std::move(v);
    }
  }
  if (j.contains("status")) {
    VODFS_ASSIGN_OR_RETURN(std::string v, String(j, "status"));
    if (!OneOf(c.image ? kImageStatuses : kMediaStatuses, v))
      return Bad("unknown status '" + v + "'");
    c.status = v;
  }
  if (j.contains("storage_class")) {
    VODFS_ASSIGN_OR_RETURN(std::string v, String(j, "storage_class"));
    if (!OneOf(kStorageClasses, v)) return Bad("unknown storage_class '" + v + "'");
    c.storage_class = v;
  }
  if (j.contains("cate_id")) {
    if (!j["cate_id"].is_number_integer()) return Bad("'cate_id' must be an integer");
    c.cate_id = j["cate_id"].get<int64_t>();
  }
  if (j.contains("creation_time")) {
    VODFS_ASSIGN_OR_RETURN(int64_t t, Time(j, "creation_time"));
    c.creation_time = t;
  }
  if (j.contains("modification_time")) {
    VODFS_ASSIGN_OR_RETURN(int64_t t, Time(j, "modification_time"));
    c.modification_time = t;
  }
  if (c.creation_time && c.modification_time && *c.modification_time < *c.creation_time) {
    return Bad("'modification_time' is before 'creation_time'");
  }
  if (j.contains("source_size")) {
    VODFS_ASSIGN_OR_RETURN(uint64_t n, Unsigned(j, "source_size", 1, uint64_t{1} << 50));
    c.source_size = n;
  }
  if (j.contains("snapshots")) {
    VODFS_ASSIGN_OR_RETURN(uint64_t n, Unsigned(j, "snapshots", 0, kMaxSnapshots));
    c.snapshots = n;
  }
  if (j.contains("streams")) {
    VODFS_ASSIGN_OR_RETURN(auto s, Streams(j, "streams"));
    c.streams = std::move(s);
  }
  if (j.contains("add_streams")) {
    VODFS_ASSIGN_OR_RETURN(auto s, Streams(j, "add_streams"));
    c.add_streams = std::move(s);
  }
  return c;
}

// Frame sizes by definition, as the service's default templates make them.
std::pair<int64_t, int64_t> FrameSize(const std::string& definition) {
  if (definition == "FD") return {480, 270};
  if (definition == "LD") return {640, 360};
  if (definition == "SD") return {960, 540};
  if (definition == "HD") return {1280, 720};
  if (definition == "2K") return {2560, 1440};
  if (definition == "4K") return {3840, 2160};
  return {1920, 1080};  // OD, AUTO
}

// A stream made by a change at time t, with keys none of `taken` has.
Stream MakeStream(const Media& m, const StreamSpec& spec, int64_t t,
                  std::unordered_set<std::string>* taken) {
  Stream s;
  s.definition = spec.definition;
  s.format = spec.format;
  s.stream_type = spec.format == "mp3" || m.media_type == "audio" ? "audio" : "video";
  s.size = spec.size.value_or((m.source_size > 0 ? m.source_size : kDefaultSourceSize) / 2 + 31);
  s.duration = m.duration;
  s.bitrate = m.duration > 0 ? static_cast<double>(s.size) * 8 / 1000 / m.duration : 0;
  if (s.stream_type == "video") {
    std::tie(s.width, s.height) = FrameSize(spec.definition);
    s.fps = "25";
  }
  s.creation_time = s.modification_time = t;
  for (uint64_t salt = 0;; ++salt) {
    const std::string what = m.id + spec.definition + spec.format + std::to_string(t);
    s.job_id = Hex16(str::StableHash64(what, salt)) +
               Hex16(str::StableHash64(m.id, salt + static_cast<uint64_t>(t)));
    const std::string base =
        "customerTrans/" + m.id + "/" + s.job_id.substr(0, 8) + "-" + spec.definition;
    s.key = spec.format == "m3u8" ? base + "-hls/index.m3u8" : base + "." + spec.format;
    if (!taken->count(s.key)) break;
  }
  taken->insert(s.key);
  if (spec.format == "m3u8") {
    const std::string dir = s.key.substr(0, s.key.rfind('/') + 1);
    for (size_t k = 0; k < kHlsSegments; ++k) {
      s.segment_keys.push_back(dir + "seg-" + Num5(k) + ".ts");
      s.segment_durations.push_back(m.duration / kHlsSegments);
      taken->insert(s.segment_keys.back());
    }
  }
  return s;
}

std::unordered_set<std::string> KeysOf(const Media& m) {
  auto keys = ObjectKeys(m);
  return {keys.begin(), keys.end()};
}

// Snapshots come from a snapshot job; a medium that has some has its id.
void SetSnapshotJob(int64_t t, Media* m) {
  if (!m->snapshot_job_id.empty()) return;
  m->snapshot_job_id = Hex16(str::StableHash64(m->id + "snap")) +
                       Hex16(str::StableHash64(m->id, static_cast<uint64_t>(t)));
}

// Sets the number of normal snapshots to n: keeps the first ones, makes
// new ones after them.
void SetSnapshots(size_t n, int64_t t, Media* m, IntroducedObjects* introduced) {
  if (n <= m->snapshot_keys.size()) {
    m->snapshot_keys.resize(n);
    return;
  }
  auto taken = KeysOf(*m);
  for (size_t k = m->snapshot_keys.size() + 1; m->snapshot_keys.size() < n; ++k) {
    std::string key = m->id + "/snapshots/normal/" + Num5(k) + ".jpg";
    if (taken.count(key)) continue;
    m->snapshot_keys.push_back(key);
    if (introduced) introduced->emplace_back(key, t);
  }
  SetSnapshotJob(t, m);
}

}  // namespace

Result<std::vector<LibraryChange>> ParseLibraryChanges(const json& body) {
  if (!body.is_object() && !body.is_array()) {
    return Bad("the body must be a change object or an array of them");
  }
  if (body.is_array() && body.empty()) return Bad("no changes given");
  std::vector<LibraryChange> out;
  const json list = body.is_array() ? body : json::array({body});
  for (size_t i = 0; i < list.size(); ++i) {
    auto c = ParseOne(list[i]);
    if (!c.ok()) {
      return body.is_array() ? Bad("change " + std::to_string(i) + ": " + c.error().message)
                             : c.error();
    }
    out.push_back(std::move(c).value());
  }
  return out;
}

uint64_t ChangeObjectSeed(std::string_view key) {
  return str::StableHash64(key, kChangeObjectSeed);
}

std::optional<std::string> ChangeKeyOwner(std::string_view key) {
  constexpr size_t kIdLength = 32;
  auto id_at = [&key](size_t at) -> std::optional<std::string> {
    if (key.size() < at + kIdLength) return std::nullopt;
    return std::string(key.substr(at, kIdLength));
  };
  if (str::StartsWith(key, "image/default/")) return id_at(14);
  if (str::StartsWith(key, "sv/")) return id_at(3);
  if (str::StartsWith(key, "customerTrans/")) return id_at(14);
  if (key.size() > kIdLength && key.substr(kIdLength, 11) == "/snapshots/") return id_at(0);
  return std::nullopt;
}

uint64_t ChangeImageObjectSize(std::string_view key) {
  uint64_t base = 16 * 1024;  // a normal snapshot (as in the synthetic library)
  if (key.find("/snapshots/cover") != std::string_view::npos) base = 24 * 1024;
  if (key.find("/snapshots/sprite") != std::string_view::npos) base = 64 * 1024;
  if (str::StartsWith(key, "image/")) base = 40 * 1024;
  return base + ChangeObjectSeed(key) % 8192;
}

uint64_t ChangeSegmentSize(const Stream& s, size_t k) {
  const uint64_t n = s.segment_keys.size();
  return s.size / n + (k + 1 == n ? s.size % n : 0);
}

Media NewMedia(const LibraryChange& c, const std::string& id, size_t ordinal, int64_t now) {
  Media m;
  m.id = id;
  m.media_type = c.type.empty() ? "video" : c.type;
  const bool audio = m.media_type == "audio";
  const std::string suffix = ordinal > 0 ? " " + std::to_string(ordinal) : "";
  m.title = c.title.value_or(audio ? "New audio" : "New video") + suffix;
  m.description = c.description.value_or("");
  m.tags = c.tags.value_or("");
  m.cate_id = c.cate_id.value_or(-1);
  m.status = c.status.value_or("Normal");
  m.creation_time = c.creation_time.value_or(now);
  m.modification_time = c.modification_time.value_or(m.creation_time);
  m.storage_class = c.storage_class.value_or("Standard");
  // 60..120 s, like synthetic media.
  m.duration = 60.0 + static_cast<double>(str::StableHash64(id) % 600) / 10.0;
  if (m.status != "UploadFail") {
    m.source_key = "sv/" + id + (audio ? "/source.mp3" : "/source.mp4");
    m.source_file_name = "upload-" + id.substr(0, 8) + (audio ? ".mp3" : ".mp4");
    m.source_size = c.source_size.value_or(kDefaultSourceSize);
  } else {
    m.source_status = "UploadFail";
  }
  if (!audio) {
    m.width = 1920;
    m.height = 1080;
    m.fps = "25";
    m.bitrate = "4000";
  }
  const bool normal = m.status == "Normal";
  std::unordered_set<std::string> taken = {m.source_key};
  const uint64_t size = m.source_size > 0 ? m.source_size : kDefaultSourceSize;
  std::vector<StreamSpec> specs;
  if (c.streams) {
    specs = *c.streams;
  } else if (normal && audio) {
    specs = {{"SQ", "mp3", size / 8 + 11}};
  } else if (normal) {
    specs = {{"LD", "mp4", size / 4 + 17}, {"HD", "mp4", size / 2 + 31}};
  }
  for (const auto& spec : specs) m.streams.push_back(MakeStream(m, spec, m.creation_time, &taken));
  if (normal && !audio) {
    m.cover_key = id + "/snapshots/cover.jpg";
    m.sprite_keys.push_back(id + "/snapshots/sprite/" + Num5(1) + ".jpg");
  }
  SetSnapshots(c.snapshots.value_or(normal && !audio ? 3 : 0), m.creation_time, &m, nullptr);
  if (!m.cover_key.empty()) SetSnapshotJob(m.creation_time, &m);
  return m;
}

Image NewImage(const LibraryChange& c, const std::string& id, size_t ordinal, int64_t now) {
  Image img;
  img.id = id;
  img.title = c.title.value_or("New image") + (ordinal > 0 ? " " + std::to_string(ordinal) : "");
  img.description = c.description.value_or("");
  img.tags = c.tags.value_or("");
  img.key = "image/default/" + id + ".jpg";
  img.status = c.status.value_or("Normal");
  img.cate_id = c.cate_id.value_or(-1);
  img.creation_time = c.creation_time.value_or(now);
  img.modification_time = c.modification_time.value_or(img.creation_time);
  img.width = 800;
  img.height = 600;
  img.original_file_name = "upload-" + id.substr(0, 8) + ".jpg";
  img.size = c.source_size.value_or(ChangeImageObjectSize(img.key));
  return img;
}

void ModifyMedia(const LibraryChange& c, int64_t now, Media* m, IntroducedObjects* introduced) {
  const int64_t t = c.modification_time.value_or(now);
  if (c.title) m->title = *c.title;
  if (c.description) m->description = *c.description;
  if (c.tags) m->tags = *c.tags;
  if (c.cate_id) m->cate_id = *c.cate_id;
  if (c.status) m->status = *c.status;
  if (c.storage_class) m->storage_class = *c.storage_class;
  if (c.source_size && (m->source_key.empty() || *c.source_size != m->source_size)) {
    if (m->source_key.empty()) {
      // A medium without a source (UploadFail) gets one.
      const bool audio = m->media_type == "audio";
      m->source_key = "sv/" + m->id + (audio ? "/source.mp3" : "/source.mp4");
      m->source_file_name = "upload-" + m->id.substr(0, 8) + (audio ? ".mp3" : ".mp4");
      m->source_status = "Normal";
    }
    m->source_size = *c.source_size;
    introduced->emplace_back(m->source_key, t);
  }
  if (c.streams || c.add_streams) {
    auto taken = KeysOf(*m);
    if (c.streams) m->streams.clear();
    for (const auto* specs : {&c.streams, &c.add_streams}) {
      if (!*specs) continue;
      for (const auto& spec : **specs) {
        m->streams.push_back(MakeStream(*m, spec, t, &taken));
        introduced->emplace_back(m->streams.back().key, t);
        for (const auto& seg : m->streams.back().segment_keys) introduced->emplace_back(seg, t);
      }
    }
  }
  if (c.snapshots) SetSnapshots(*c.snapshots, t, m, introduced);
  m->modification_time = t;
}

bool ModifyImage(const LibraryChange& c, int64_t now, Image* img) {
  if (c.title) img->title = *c.title;
  if (c.description) img->description = *c.description;
  if (c.tags) img->tags = *c.tags;
  if (c.cate_id) img->cate_id = *c.cate_id;
  if (c.status) img->status = *c.status;
  img->modification_time = c.modification_time.value_or(now);
  const bool resized = c.source_size && *c.source_size != img->size;
  if (c.source_size) img->size = *c.source_size;
  return resized;
}

}  // namespace vodfs::emu
