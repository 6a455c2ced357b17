// The VOD API endpoint of the emulator: request verification, throttling
// and the operations, each answered from one consistent view of the live
// library (Catalog::View).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <set>

#include "emulator/emulator.h"
#include "emulator/sts.h"
#include "emulator/match.h"
#include "vodfs/auth/crypto.h"
#include "vodfs/auth/rpc_signer.h"
#include "vodfs/util/log.h"
#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"
#include "vodfs/util/url.h"

namespace vodfs::emu {

using nlohmann::json;

namespace {

constexpr const char* kVersion = "2017-03-21";
constexpr size_t kPagedLimit = 5000;
constexpr size_t kScrollLimit = 2000000;
constexpr size_t kScrollMaxSkip = 100;

Error ApiError(int status, std::string code, std::string message) {
  Error e(ErrorCode::kUnknown, std::move(message));
  e.http_status = status;
  e.service_code = std::move(code);
  return e;
}

Error Missing(const std::string& name) {
  return ApiError(400, "MissingParameter",
                  "The input parameter \"" + name +
                      "\" that is mandatory for processing this request is not supplied.");
}

Error Invalid(const std::string& name, const std::string& why = "") {
  return ApiError(400, "InvalidParameter",
                  "The specified parameter \"" + name + "\" is not valid." +
                      (why.empty() ? "" : " " + why));
}

double DocumentedQps(const std::string& action) {
  static const std::map<std::string, double> kQps = {
      {"GetPlayInfo", 360},   {"GetVideoInfo", 100},  {"GetVideoInfos", 100},
      {"GetVideoList", 100},  {"GetMezzanineInfo", 100}, {"SearchMedia", 50},
      {"GetCategories", 50},  {"GetImageInfos", 10},  {"GetImageInfo", 100},
      {"ListSnapshots", 100}};
  auto it = kQps.find(action);
  return it == kQps.end() ? 100 : it->second;
}

std::string Iso(int64_t t) { return timefmt::FormatIso8601(t); }

std::string Fmt(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}


// XML rendering for Format=XML (the API default). Arrays become repeated
// elements named after their parent key's singular (best effort).
void ToXml(const json& j, const std::string& name, std::string* out) {
  auto esc = [](const std::string& s) {
    std::string r;
    for (char c : s) {
      switch (c) {
        case '&': r += "&amp;"; break;
        case '<': r += "&lt;"; break;
        case '>': r += "&gt;"; break;
        case '"': r += "&quot;"; break;
        default: r += c;
      }
    }
    return r;
  };
  if (j.is_array()) {
    for (const auto& e : j) ToXml(e, name, out);
    return;
  }
  *out += "<" + name + ">";
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) ToXml(it.value(), it.key(), out);
  } else if (j.is_string()) {
    *out += esc(j.get<std::string>());
  } else if (!j.is_null()) {
    *out += j.dump();
  }
  *out += "</" + name + ">";
}

}  // namespace

// One API request being served. It holds a view of the live library (the
// catalog's read lock) for as long as it lives.
class ApiContext {
 public:
  ApiContext(Emulator& e, std::map<std::string, std::string> params)
      : e_(e), p_(std::move(params)), v_(e.catalog_.Read()) {}

  Result<json> Dispatch(const std::string& action) {
    if (action == "GetVideoList") return GetVideoList();
    if (action == "SearchMedia") return SearchMedia();
    if (action == "GetVideoInfo") return GetVideoInfo();
    if (action == "GetVideoInfos") return GetVideoInfos();
    if (action == "GetMezzanineInfo") return GetMezzanineInfo();
    if (action == "GetPlayInfo") return GetPlayInfo();
    if (action == "ListSnapshots") return ListSnapshots();
    if (action == "GetImageInfo") return GetImageInfo();
    if (action == "GetImageInfos") return GetImageInfos();
    if (action == "GetCategories") return GetCategories();
    return ApiError(404, "InvalidAction.NotFound",
                    "Specified api is not found, please check your url and method.");
  }

 private:
  std::optional<std::string> P(const std::string& name) const {
    auto it = p_.find(name);
    if (it == p_.end()) return std::nullopt;
    return it->second;
  }
  Result<std::string> Required(const std::string& name) const {
    auto v = P(name);
    if (!v || v->empty()) return Missing(name);
    return *v;
  }
  Result<int64_t> Int(const std::string& name, int64_t def, int64_t min, int64_t max) const {
    auto v = P(name);
    if (!v || v->empty()) return def;
    auto n = str::ParseInt64(*v);
    if (!n || *n < min || *n > max) return Invalid(name);
    return *n;
  }
  Result<bool> SortDesc() const {
    std::string s = P("SortBy").value_or("CreationTime:Desc");
    if (s == "CreationTime:Desc") return true;
    if (s == "CreationTime:Asc") return false;
    return Invalid("SortBy");
  }
  Result<int64_t> AuthTimeout(bool cdn, int64_t min_value = 1) const {
    const int64_t max = cdn ? INT64_MAX / 2 : 2592000;
    VODFS_ASSIGN_OR_RETURN(int64_t t, Int("AuthTimeout", e_.options_.default_auth_timeout, 1, max));
    return std::max(t, min_value);
  }
  Result<bool> OutputCdn(const std::string& def) const {
    std::string o = P("OutputType").value_or(def);
    if (o.empty()) o = def;
    if (o != "oss" && o != "cdn") return Invalid("OutputType");
    return o == "cdn" && e_.options_.cdn_enabled;
  }

  std::string CateName(int64_t id) const {
    for (const auto& c : v_.base().Categories()) {
      if (c.id == id) return c.name;
    }
    return "";
  }

  std::string Url(const std::string& key, bool cdn, int64_t timeout) const {
    if (key.empty()) return "";
    return e_.MediaUrl(key, cdn, timeout);
  }

  enum class Shape { kInfo, kInfos, kList, kSearch };

  json MediaJson(const Media& m, Shape shape) const {
    const int64_t t = e_.options_.default_auth_timeout;
    const bool cdn = e_.options_.cdn_enabled;
    json snaps = json::array();
    for (const auto& k : m.snapshot_keys) snaps.push_back(Url(k, cdn, t));
    json v;
    v[m.media_type == "audio" && shape == Shape::kSearch ? "AudioId" : "VideoId"] = m.id;
    v["Title"] = m.title;
    v["Description"] = m.description;
    v["Tags"] = m.tags;
    v["CoverURL"] = Url(m.cover_key, cdn, t);
    v["CateId"] = m.cate_id;
    v["CateName"] = m.cate_id >= 0 ? CateName(m.cate_id) : "";
    v["AppId"] = "app-1000000";
    v["Duration"] = m.duration;
    v["Size"] = e_.CurrentSize(m.source_key, m.source_size);
    v["Status"] = m.status;
    v["StorageClass"] = m.storage_class;
    v["StorageLocation"] = e_.StorageLocation();
    v["CreationTime"] = Iso(m.creation_time);
    v["ModificationTime"] = Iso(m.modification_time);
    v["DownloadSwitch"] = "on";
    v["TemplateGroupId"] = "VOD_NO_TRANSCODE";
    switch (shape) {
      case Shape::kInfo:
        v["RegionId"] = e_.options_.region;
        v["AuditStatus"] = "Normal";
        v["Snapshots"] = json{{"Snapshot", snaps}};
        break;
      case Shape::kList:
        v["Snapshots"] = json{{"Snapshot", snaps}};
        break;
      case Shape::kInfos:
        v["Snapshots"] = snaps;
        break;
      case Shape::kSearch: {
        v["Snapshots"] = snaps;
        json sprites = json::array();
        for (const auto& k : m.sprite_keys) sprites.push_back(Url(k, cdn, t));
        v["SpriteSnapshots"] = sprites;
        v["MediaSource"] = "general";
        v["TranscodeMode"] = "FastTranscode";
        v["PreprocessStatus"] = "UnPreprocess";
        break;
      }
    }
    return v;
  }

  json ImageJson(const Image& img, bool cdn, int64_t timeout) const {
    json j = {{"ImageId", img.id},
              {"Title", img.title},
              {"Description", img.description},
              {"Tags", img.tags},
              {"URL", Url(img.key, cdn, timeout)},
              {"ImageType", img.image_type},
              {"Status", img.status},
              {"StorageLocation", e_.StorageLocation()},
              {"CateId", img.cate_id},
              {"CateName", img.cate_id >= 0 ? CateName(img.cate_id) : ""},
              {"AppId", "app-1000000"},
              {"CreationTime", Iso(img.creation_time)},
              {"Mezzanine",
               {{"FileURL", Url(img.key, false, timeout)},
                {"FileSize", std::to_string(e_.CurrentSize(img.key, img.size))},
                {"Width", img.width},
                {"Height", img.height},
                {"OriginalFileName", img.original_file_name}}}};
    return j;
  }

  Result<Media> FindMediaParam() const {
    VODFS_ASSIGN_OR_RETURN(std::string id, Required("VideoId"));
    auto m = v_.FindMedia(id);
    if (!m) return ApiError(404, "InvalidVideo.NotFound", "The video does not exist.");
    return std::move(*m);
  }

  // --- GetVideoList -------------------------------------------------------
  Result<json> GetVideoList() {
    VODFS_ASSIGN_OR_RETURN(int64_t page_no, Int("PageNo", 1, 1, INT32_MAX));
    VODFS_ASSIGN_OR_RETURN(int64_t page_size, Int("PageSize", 10, 1, 100));
    VODFS_ASSIGN_OR_RETURN(bool desc, SortDesc());
    if (static_cast<size_t>(page_no * page_size) > kPagedLimit) {
      return ApiError(400, "VideoListExceededMax", "The video list exceeded maximum.");
    }
    std::optional<int64_t> cate;
    if (auto c = P("CateId"); c && !c->empty()) {
      auto n = str::ParseInt64(*c);
      if (!n) return Invalid("CateId");
      cate = *n;
    }
    std::set<std::string> statuses;
    if (auto s = P("Status"); s && !s->empty()) {
      for (auto& x : str::Split(*s, ',', true)) statuses.insert(std::string(str::Trim(x)));
    }
    std::optional<int64_t> start, end;
    if (auto s = P("StartTime"); s && !s->empty()) {
      start = timefmt::ParseIso8601(*s);
      if (!start) return Invalid("StartTime");
    }
    if (auto s = P("EndTime"); s && !s->empty()) {
      end = timefmt::ParseIso8601(*s);
      if (!end) return Invalid("EndTime");
    }
    if (start && end && *end <= *start) return Invalid("EndTime", "EndTime must be later than StartTime.");
    std::string location = P("StorageLocation").value_or("");
    // Video and audio media, each in creation order, created in
    // [StartTime, EndTime).
    TimeRange created;
    if (start) created.min = *start;
    if (end) created.max = *end - 1;
    Selection video = v_.Select(Collection::kVideo, created);
    Selection audio = v_.Select(Collection::kAudio, created);
    if (cate || !statuses.empty() || !location.empty()) {
      auto keep = [&](const EntryRef& e) {
        if (!location.empty() && location != e_.StorageLocation()) return false;
        Media m = v_.MediaOf(e);
        if (cate && m.cate_id != *cate) return false;
        return statuses.empty() || statuses.count(m.status) > 0;
      };
      video = video.Filter(keep);
      audio = audio.Filter(keep);
    }
    const size_t total = video.size() + audio.size();
    Selection::Walker wv = video.Begin(desc), wa = audio.Begin(desc);
    // The next medium of the merged order.
    auto next = [&]() -> Selection::Walker* {
      if (wv.Done()) return wa.Done() ? nullptr : &wa;
      if (wa.Done()) return &wv;
      const bool video_first = wv.CreationTime() != wa.CreationTime()
                                   ? (wv.CreationTime() < wa.CreationTime()) != desc
                                   : (wv.Id() < wa.Id()) != desc;
      return video_first ? &wv : &wa;
    };
    const size_t first = static_cast<size_t>((page_no - 1) * page_size);
    for (size_t k = 0; k < first; ++k) {
      Selection::Walker* w = next();
      if (!w) break;
      w->Next();
    }
    json videos = json::array();
    for (int64_t k = 0; k < page_size; ++k) {
      Selection::Walker* w = next();
      if (!w) break;
      videos.push_back(MediaJson(v_.MediaOf(w->Entry()), Shape::kList));
      w->Next();
    }
    return json{{"Total", total}, {"VideoList", {{"Video", videos}}}};
  }

  // --- SearchMedia ---------------------------------------------------------
  // The record's JSON as Match predicates read it.
  json Probe(const EntryRef& e, const std::string& type) const {
    if (type == "image") {
      Image img = v_.ImageOf(e);
      json probe = ImageJson(img, false, 1);
      probe["ModificationTime"] = Iso(img.modification_time);
      probe["MediaId"] = img.id;
      probe["MediaType"] = type;
      return probe;
    }
    Media m = v_.MediaOf(e);
    json probe = MediaJson(m, Shape::kSearch);
    probe["MediaId"] = m.id;
    probe["MediaType"] = type;
    return probe;
  }

  Result<json> SearchMedia() {
    std::string type = P("SearchType").value_or("video");
    if (type.empty()) type = "video";
    if (type != "video" && type != "audio" && type != "image" && type != "attached") {
      return Invalid("SearchType");
    }
    VODFS_ASSIGN_OR_RETURN(int64_t page_no, Int("PageNo", 1, 1, INT32_MAX));
    VODFS_ASSIGN_OR_RETURN(int64_t page_size, Int("PageSize", 10, 1, 100));
    VODFS_ASSIGN_OR_RETURN(bool desc, SortDesc());
    std::string match = P("Match").value_or("");
    std::set<std::string> fields;
    if (auto f = P("Fields"); f && !f->empty()) {
      for (auto& x : str::Split(*f, ',', true)) fields.insert(std::string(str::Trim(x)));
    }
    MatchQuery query;
    if (!match.empty()) {
      VODFS_ASSIGN_OR_RETURN(query, ParseMatch(match));
    }

    // The candidates: entries whose times the Match bounds, found by binary
    // search; a Match that says more is tested on each of them.
    const Collection collection = type == "image"   ? Collection::kImage
                                  : type == "audio" ? Collection::kAudio
                                                    : Collection::kVideo;
    Selection sel = type == "attached"  // the emulator has no attached media
                        ? v_.Select(collection, TimeRange{1, 0})
                        : v_.Select(collection, query.creation.Seconds(), query.modification.Seconds());
    if (query.predicate && !query.exact) {
      sel = sel.Filter([&](const EntryRef& e) { return query.predicate(Probe(e, type)); });
    }
    const size_t total = sel.size();

    // Paging: plain mode reaches the first 5,000 hits; ScrollToken mode
    // moves forward from the cursor's last record, at most 100 records per
    // step.
    const std::string query_key = type + "|" + match + "|" + (desc ? "d" : "a") + "|" +
                                  std::to_string(page_size);
    Selection::Walker w;
    size_t skip = 0, rank = 0;
    std::optional<SortKey> last;  // the last record walked so far
    const auto token = P("ScrollToken");
    if (token && !token->empty()) {
      if (type == "image" || type == "attached") return Invalid("ScrollToken", "Full traversal supports video and audio only.");
      Emulator::ScrollCursor c;
      {
        std::lock_guard<std::mutex> lock(e_.scroll_mu_);
        auto it = e_.scroll_.find(*token);
        if (it == e_.scroll_.end() || it->second.query_key != query_key) {
          return Invalid("ScrollToken", "The ScrollToken is invalid or expired.");
        }
        c = it->second;
      }
      if (page_no < c.page_no) return Invalid("PageNo", "ScrollToken traversal only moves forward.");
      if (page_no == c.page_no) {
        // The same page again: from its first record (or, if that is gone,
        // what follows it).
        last = c.first ? c.first : c.last;
        w = c.first ? sel.Seek(*c.first, true, desc) : (c.last ? sel.Seek(*c.last, false, desc) : sel.Begin(desc));
        rank = c.first_position;
      } else {
        skip = static_cast<size_t>(page_no - c.page_no - 1) * static_cast<size_t>(page_size);
        if (skip > kScrollMaxSkip) {
          return Invalid("PageNo", "ScrollToken traversal moves at most 100 records per step.");
        }
        last = c.last;
        w = c.last ? sel.Seek(*c.last, false, desc) : sel.Begin(desc);
        rank = c.position + skip;
      }
      if (rank >= kScrollLimit) return Invalid("PageNo", "Traversal is limited to 2000000 records.");
    } else {
      if (static_cast<size_t>(page_no * page_size) > kPagedLimit) {
        return Invalid("PageNo", "Paged queries reach the first 5000 records; use ScrollToken to traverse all.");
      }
      skip = static_cast<size_t>((page_no - 1) * page_size);
      rank = skip;
      w = sel.Begin(desc);
    }

    std::optional<Selection::Walker> last_walked, first_returned;
    for (size_t k = 0; k < skip && !w.Done(); ++k) {
      last_walked = w;
      w.Next();
    }
    std::vector<EntryRef> page;
    while (page.size() < static_cast<size_t>(page_size) && !w.Done()) {
      if (!first_returned) first_returned = w;
      page.push_back(w.Entry());
      last_walked = w;
      w.Next();
    }
    if (last_walked) last = last_walked->Key();

    json list = json::array();
    for (const EntryRef& e : page) {
      json item;
      if (type == "image") {
        Image img = v_.ImageOf(e);
        item["MediaId"] = img.id;
        item["MediaType"] = "image";
        item["CreationTime"] = Iso(img.creation_time);
        json full = ImageJson(img, e_.options_.cdn_enabled, e_.options_.default_auth_timeout);
        full["ModificationTime"] = Iso(img.modification_time);
        item["Image"] = SelectFields(full, fields, {"ImageId", "CreationTime", "Title", "Status"});
        item["Image"].erase("Mezzanine");
        item["Image"].erase("ImageType");
      } else {
        Media m = v_.MediaOf(e);
        item["MediaId"] = m.id;
        item["MediaType"] = m.media_type;
        item["CreationTime"] = Iso(m.creation_time);
        const char* idf = type == "audio" ? "AudioId" : "VideoId";
        item[type == "audio" ? "Audio" : "Video"] =
            SelectFields(MediaJson(m, Shape::kSearch), fields, {idf, "CreationTime", "Title", "Status"});
      }
      list.push_back(std::move(item));
    }

    // Every answer carries a fresh token positioned after this page.
    Emulator::ScrollCursor next;
    next.query_key = query_key;
    next.page_no = static_cast<int>(page_no);
    if (first_returned) next.first = first_returned->Key();
    next.last = last;
    next.first_position = rank;
    next.position = rank + page.size();
    next.created = e_.Now();
    std::string new_token = str::RandomHex(32);
    {
      std::lock_guard<std::mutex> lock(e_.scroll_mu_);
      e_.scroll_[new_token] = std::move(next);
      e_.scroll_order_.push_back(new_token);
      while (e_.scroll_order_.size() > 200000) {
        e_.scroll_.erase(e_.scroll_order_.front());
        e_.scroll_order_.pop_front();
      }
    }
    return json{{"Total", total}, {"ScrollToken", new_token}, {"MediaList", list}};
  }

  static json SelectFields(const json& full, const std::set<std::string>& fields,
                           const std::vector<std::string>& basic) {
    json out = json::object();
    for (const auto& b : basic) {
      if (full.contains(b)) out[b] = full[b];
    }
    for (const auto& f : fields) {
      if (full.contains(f)) out[f] = full[f];
    }
    return out;
  }

  // --- GetVideoInfo / GetVideoInfos ---------------------------------------
  Result<json> GetVideoInfo() {
    VODFS_ASSIGN_OR_RETURN(Media m, FindMediaParam());
    return json{{"Video", MediaJson(m, Shape::kInfo)}};
  }

  Result<json> GetVideoInfos() {
    VODFS_ASSIGN_OR_RETURN(std::string ids, Required("VideoIds"));
    auto list = str::Split(ids, ',', true);
    if (list.size() > 20) {
      return ApiError(400, "VideoIdsExceededMax", "The number of video IDs exceeds 20.");
    }
    json videos = json::array(), missing = json::array();
    for (const auto& raw : list) {
      std::string id(str::Trim(raw));
      auto m = v_.FindMedia(id);
      if (!m) {
        missing.push_back(id);
        continue;
      }
      videos.push_back(MediaJson(*m, Shape::kInfos));
    }
    return json{{"VideoList", videos}, {"NonExistVideoIds", missing}};
  }

  // --- GetMezzanineInfo ----------------------------------------------------
  Result<json> GetMezzanineInfo() {
    VODFS_ASSIGN_OR_RETURN(Media m, FindMediaParam());
    VODFS_ASSIGN_OR_RETURN(bool cdn, OutputCdn("cdn"));
    VODFS_ASSIGN_OR_RETURN(int64_t timeout, AuthTimeout(cdn));
    if (m.source_key.empty()) {
      return ApiError(404, "InvalidFile.NotFound", "The mezzanine file does not exist.");
    }
    std::set<std::string> addition;
    for (auto& a : str::Split(P("AdditionType").value_or(""), ',', true)) addition.insert(a);
    json mz = {{"VideoId", m.id},
               {"FileName", m.source_file_name},
               {"FileURL", Url(m.source_key, cdn, timeout)},
               {"Size", e_.CurrentSize(m.source_key, m.source_size)},
               {"Duration", Fmt(m.duration, 4)},
               {"Bitrate", m.bitrate},
               {"Width", m.width},
               {"Height", m.height},
               {"Fps", m.fps},
               {"CreationTime", Iso(m.creation_time)},
               {"Status", m.source_status},
               {"OutputType", cdn ? "cdn" : "oss"},
               {"StorageClass", m.storage_class},
               {"PreprocessStatus", "UnPreprocess"},
               {"FileMD5", ""}};
    if (addition.count("video") && m.media_type == "video") {
      mz["VideoStreamList"] = json::array({{{"Index", "0"},
                                            {"CodecName", "h264"},
                                            {"CodecLongName", "H.264 / AVC / MPEG-4 AVC"},
                                            {"Profile", "High"},
                                            {"PixFmt", "yuv420p"},
                                            {"Width", std::to_string(m.width)},
                                            {"Height", std::to_string(m.height)},
                                            {"Fps", m.fps},
                                            {"Duration", Fmt(m.duration, 4)},
                                            {"Bitrate", m.bitrate}}});
    }
    if (addition.count("audio")) {
      mz["AudioStreamList"] = json::array({{{"Index", m.media_type == "audio" ? "0" : "1"},
                                            {"CodecName", "aac"},
                                            {"SampleRate", "44100"},
                                            {"Channels", "2"},
                                            {"ChannelLayout", "stereo"},
                                            {"Duration", Fmt(m.duration, 4)}}});
    }
    return json{{"Mezzanine", mz}};
  }

  // --- GetPlayInfo ---------------------------------------------------------
  Result<json> GetPlayInfo() {
    VODFS_ASSIGN_OR_RETURN(Media m, FindMediaParam());
    VODFS_ASSIGN_OR_RETURN(bool cdn, OutputCdn("oss"));
    VODFS_ASSIGN_OR_RETURN(int64_t timeout, AuthTimeout(cdn));
    auto list_param = [this](const std::string& name,
                             const std::set<std::string>& allowed) -> Result<std::set<std::string>> {
      std::set<std::string> out;
      for (auto& x : str::Split(P(name).value_or(""), ',', true)) {
        std::string v(str::Trim(x));
        if (!allowed.empty() && !allowed.count(v)) return Invalid(name);
        out.insert(v);
      }
      return out;
    };
    VODFS_ASSIGN_OR_RETURN(auto formats, list_param("Formats", {"mp4", "m3u8", "mp3", "flv", "mpd"}));
    VODFS_ASSIGN_OR_RETURN(auto defs, list_param("Definition", {"FD", "LD", "SD", "HD", "OD", "2K",
                                                                "4K", "SQ", "HQ", "AUTO", "FHD"}));
    VODFS_ASSIGN_OR_RETURN(auto stypes, list_param("StreamType", {"video", "audio"}));
    std::string result_type = P("ResultType").value_or("Single");
    if (result_type.empty()) result_type = "Single";
    if (result_type != "Single" && result_type != "Multiple") return Invalid("ResultType");
    const bool multiple = result_type == "Multiple";
    std::string encrypt_filter;
    if (auto pc = P("PlayConfig"); pc && !pc->empty()) {
      json j = json::parse(*pc, nullptr, false);
      if (j.is_discarded() || !j.is_object()) return Invalid("PlayConfig");
      if (j.contains("EncryptType") && j["EncryptType"].is_string()) {
        encrypt_filter = j["EncryptType"].get<std::string>();
      }
    }
    std::string rand = "0", uid = "0";
    if (auto ra = P("ReAuthInfo"); ra && !ra->empty()) {
      json j = json::parse(*ra, nullptr, false);
      if (j.is_discarded() || !j.is_object()) return Invalid("ReAuthInfo");
      if (j.contains("rand") && j["rand"].is_string()) rand = j["rand"].get<std::string>();
      if (j.contains("uid") && j["uid"].is_string()) uid = j["uid"].get<std::string>();
      auto safe = [](const std::string& s) {
        return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c));
        });
      };
      if (!safe(rand) || !safe(uid)) return Invalid("ReAuthInfo");
    }
    if (m.status != "Normal") {
      return ApiError(403, "Forbidden.IllegalStatus", "Status of the video is not allowed to play.");
    }
    json infos = json::array();
    bool only_proprietary = true;
    bool any = false;
    for (const auto& s : m.streams) {
      if (!formats.empty() && !formats.count(s.format)) continue;
      if (!defs.empty() && !defs.count(s.definition)) continue;
      if (!stypes.empty() && !stypes.count(s.stream_type)) continue;
      if (!encrypt_filter.empty()) {
        std::string et = s.encrypt_type.empty() ? "Unencrypted" : s.encrypt_type;
        if (et != encrypt_filter) continue;
      }
      any = true;
      const bool proprietary = s.encrypt_type == "AliyunVoDEncryption";
      if (!proprietary) only_proprietary = false;
      if (proprietary && !multiple) continue;
      if (s.status != "Normal" && !multiple) continue;
      json pi = {{"PlayURL", e_.MediaUrl(s.key, cdn, timeout, rand, uid)},
                 {"Size", e_.CurrentSize(s.key, s.size)},
                 {"Definition", s.definition},
                 {"Format", s.format},
                 {"StreamType", s.stream_type},
                 {"Duration", Fmt(s.duration, 4)},
                 {"Bitrate", Fmt(s.bitrate, 3)},
                 {"Width", s.width},
                 {"Height", s.height},
                 {"Fps", s.fps},
                 {"Encrypt", s.encrypt},
                 {"JobId", s.job_id},
                 {"Status", s.status},
                 {"Specification", s.codec + "." + s.definition},
                 {"NarrowBandType", "0"},
                 {"CodecName", s.codec},
                 {"BitDepth", 8},
                 {"CreationTime", Iso(s.creation_time)},
                 {"ModificationTime", Iso(s.modification_time)}};
      if (!s.encrypt_type.empty()) pi["EncryptType"] = s.encrypt_type;
      infos.push_back(std::move(pi));
    }
    if (!any) return ApiError(404, "InvalidVideo.NoneStream", "The video has no stream matching the conditions.");
    if (infos.empty() && only_proprietary) {
      return ApiError(403, "Forbidden.AliyunVoDEncryption",
                      "The video is encrypted by AliyunVoDEncryption; set ResultType to Multiple.");
    }
    if (infos.empty()) return ApiError(404, "InvalidVideo.NoneStream", "The video has no stream matching the conditions.");
    json base = {{"VideoId", m.id},
                 {"Title", m.title},
                 {"CoverURL", Url(m.cover_key, e_.options_.cdn_enabled, timeout)},
                 {"CreationTime", Iso(m.creation_time)},
                 {"Duration", Fmt(m.duration, 4)},
                 {"MediaType", m.media_type},
                 {"Status", m.status},
                 {"StorageClass", m.storage_class},
                 {"DanMuURL", ""}};
    return json{{"VideoBase", base}, {"PlayInfoList", {{"PlayInfo", infos}}}};
  }

  // --- ListSnapshots -----------------------------------------------------------
  Result<json> ListSnapshots() {
    VODFS_ASSIGN_OR_RETURN(Media m, FindMediaParam());
    std::string type = P("SnapshotType").value_or("CoverSnapshot");
    if (type.empty()) type = "CoverSnapshot";
    std::vector<std::string> keys;
    if (type == "CoverSnapshot") {
      if (!m.cover_key.empty()) keys.push_back(m.cover_key);
    } else if (type == "NormalSnapshot") {
      keys = m.snapshot_keys;
    } else if (type == "SpriteSnapshot") {
      keys = m.sprite_keys;
    } else if (type == "SpriteOriginSnapshot") {
      keys = m.sprite_origin_keys;
    } else if (type == "WebVttSnapshot") {
      // No WebVTT jobs in the emulator.
    } else {
      return Invalid("SnapshotType");
    }
    VODFS_ASSIGN_OR_RETURN(int64_t page_no, Int("PageNo", 1, 1, INT32_MAX));
    VODFS_ASSIGN_OR_RETURN(int64_t page_size, Int("PageSize", 20, 1, 100));
    // Documented: AuthTimeout minimum is 3600; smaller values become 3600.
    VODFS_ASSIGN_OR_RETURN(int64_t timeout, AuthTimeout(e_.options_.cdn_enabled, 3600));
    json snaps = json::array();
    const size_t first = static_cast<size_t>((page_no - 1) * page_size);
    for (size_t k = first; k < keys.size() && k < first + static_cast<size_t>(page_size); ++k) {
      snaps.push_back({{"Index", static_cast<int64_t>(k + 1)},
                       {"Url", Url(keys[k], e_.options_.cdn_enabled, timeout)}});
    }
    json ms = {{"Total", keys.size()}, {"Snapshots", {{"Snapshot", snaps}}}};
    if (!keys.empty()) {
      ms["JobId"] = m.snapshot_job_id;
      ms["CreationTime"] = Iso(m.creation_time + 180);
      std::string pattern = keys.front();
      size_t slash = pattern.rfind('/');
      ms["Regular"] = e_.MediaUrl(pattern.substr(0, slash + 1) + "{SnapshotCount}.jpg",
                                  e_.options_.cdn_enabled, timeout);
    }
    return json{{"MediaSnapshot", ms}};
  }

  // --- GetImageInfo / GetImageInfos ----------------------------------------------
  Result<json> GetImageInfo() {
    VODFS_ASSIGN_OR_RETURN(std::string id, Required("ImageId"));
    VODFS_ASSIGN_OR_RETURN(bool cdn, OutputCdn(e_.options_.cdn_enabled ? "cdn" : "oss"));
    VODFS_ASSIGN_OR_RETURN(int64_t timeout, AuthTimeout(cdn));
    auto img = v_.FindImage(id);
    if (!img) return ApiError(404, "InvalidImage.NotFound", "The image does not exist.");
    return json{{"ImageInfo", ImageJson(*img, cdn, timeout)}};
  }

  Result<json> GetImageInfos() {
    VODFS_ASSIGN_OR_RETURN(std::string ids, Required("ImageIds"));
    VODFS_ASSIGN_OR_RETURN(bool cdn, OutputCdn(e_.options_.cdn_enabled ? "cdn" : "oss"));
    VODFS_ASSIGN_OR_RETURN(int64_t timeout, AuthTimeout(cdn));
    auto list = str::Split(ids, ',', true);
    if (list.size() > 20) return ApiError(400, "ImageIdsExceededMax", "The number of image IDs exceeds 20.");
    json infos = json::array(), missing = json::array();
    for (const auto& raw : list) {
      std::string id(str::Trim(raw));
      auto img = v_.FindImage(id);
      if (!img) {
        missing.push_back(id);
        continue;
      }
      infos.push_back(ImageJson(*img, cdn, timeout));
    }
    return json{{"ImageInfo", infos}, {"NonExistImageIds", missing}};
  }

  // --- GetCategories -------------------------------------------------------------
  Result<json> GetCategories() {
    VODFS_ASSIGN_OR_RETURN(int64_t cate_id, Int("CateId", -1, -1, INT64_MAX));
    VODFS_ASSIGN_OR_RETURN(int64_t page_no, Int("PageNo", 1, 1, INT32_MAX));
    VODFS_ASSIGN_OR_RETURN(int64_t page_size, Int("PageSize", 10, 1, 100));
    VODFS_ASSIGN_OR_RETURN(bool desc, SortDesc());
    std::string type = P("Type").value_or("default");
    if (type.empty()) type = "default";
    if (type != "default" && type != "material") return Invalid("Type");
    const auto& cats = v_.base().Categories();
    json out = json::object();
    if (cate_id != -1) {
      auto it = std::find_if(cats.begin(), cats.end(),
                             [cate_id](const Category& c) { return c.id == cate_id; });
      if (it == cats.end()) return ApiError(404, "InvalidCateId.NotFound", "The category does not exist.");
      out["Category"] = {{"CateId", it->id},   {"CateName", it->name}, {"Level", it->level},
                         {"ParentId", it->parent_id}, {"Type", it->type}};
    }
    std::vector<const Category*> children;
    for (const auto& c : cats) {
      if (c.parent_id == cate_id && c.type == type) children.push_back(&c);
    }
    std::stable_sort(children.begin(), children.end(), [desc](const Category* a, const Category* b) {
      return desc ? a->creation_time > b->creation_time : a->creation_time < b->creation_time;
    });
    json subs = json::array();
    const size_t first = static_cast<size_t>((page_no - 1) * page_size);
    for (size_t k = first; k < children.size() && k < first + static_cast<size_t>(page_size); ++k) {
      const Category* c = children[k];
      int64_t sub_total = 0;
      for (const auto& x : cats) sub_total += x.parent_id == c->id;
      subs.push_back({{"CateId", c->id},   {"CateName", c->name}, {"Level", c->level},
                      {"ParentId", c->parent_id}, {"SubTotal", sub_total}, {"Type", c->type}});
    }
    out["SubTotal"] = children.size();
    out["SubCategories"] = {{"Category", subs}};
    return out;
  }

  Emulator& e_;
  std::map<std::string, std::string> p_;
  Catalog::View v_;
};

void Emulator::HandleApi(const HttpRequest& req, ResponseWriter& w) {
  const std::string request_id = str::ToLower(str::RandomUuid());
  const std::string host_id = "vod." + options_.region + ".aliyuncs.com";
  std::map<std::string, std::string> params;
  for (const auto& [k, v] : ParseQuery(req.query, true)) params.emplace(k, v);
  if (req.method == "POST") {
    auto ct = req.Header("Content-Type").value_or("");
    if (ct.empty() || str::StartsWith(str::ToLower(ct), "application/x-www-form-urlencoded")) {
      for (const auto& [k, v] : ParseQuery(req.body, true)) params.emplace(k, v);
    }
  }
  auto authz = req.Header("Authorization");
  const bool v3 = authz && str::StartsWith(*authz, "ACS3-HMAC-SHA256");
  std::string action = v3 ? req.Header("x-acs-action").value_or("") : "";
  if (action.empty() && params.count("Action")) action = params["Action"];
  const bool xml = !v3 && (!params.count("Format") || params.at("Format") != "JSON");

  auto respond = [&](int status, json body) {
    body["RequestId"] = request_id;
    std::string text;
    if (xml) {
      text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
      ToXml(body, status == 200 ? action + "Response" : "Error", &text);
    } else {
      text = body.dump(-1, ' ', false, json::error_handler_t::replace);
    }
    w.Send(status, xml ? "text/xml;charset=utf-8" : "application/json;charset=utf-8", text,
           {{"x-acs-request-id", request_id}});
  };
  auto fail = [&](const Error& e) {
    counters_.ApiCall(action.empty() ? "(none)" : action, e.service_code);
    if (options_.log_requests) {
      VODFS_LOG(kInfo) << "api " << (action.empty() ? "(none)" : action) << " -> "
                       << e.http_status << " " << e.service_code;
    }
    respond(e.http_status, json{{"HostId", host_id},
                                {"Code", e.service_code},
                                {"Message", e.message},
                                {"Recommend", "https://api.aliyun.com/troubleshoot?q=" +
                                                  e.service_code + "&product=vod&requestId=" +
                                                  request_id}});
  };

  if (req.method != "GET" && req.method != "POST") {
    return fail(ApiError(405, "UnsupportedHTTPMethod", "The HTTP method is not supported."));
  }
  if (req.path != "/") {
    return fail(ApiError(404, "InvalidAction.NotFound",
                         "Specified api is not found, please check your url and method."));
  }

  // Injected faults come first, as a failing gateway would.
  if (auto f = faults_.Take("api", action, "api")) {
    if (f->kind == FaultKind::kLatency) {
      w.Sleep(f->ms);
    } else if (f->kind == FaultKind::kThrottle) {
      return fail(ApiError(f->status, f->code, "Request was denied due to user flow control."));
    } else if (f->kind == FaultKind::kError) {
      return fail(ApiError(f->status, f->code, f->message));
    } else if (f->kind == FaultKind::kReset) {
      counters_.ApiCall(action.empty() ? "(none)" : action, "(reset)");
      w.Reset();
      return;
    } else if (f->kind == FaultKind::kStall) {
      // No answer for `ms`, then the connection drops.
      counters_.ApiCall(action.empty() ? "(none)" : action, "(stall)");
      w.Sleep(f->ms);
      w.Reset();
      return;
    }
  }

  // STS shares the port: its version tells it apart. AssumeRoleWithOIDC is
  // not signed (the OIDC token is the proof); AssumeRole is, as any call.
  const bool sts_call = !v3 && params.count("Version") && params.at("Version") == kStsVersion;
  auto mint = [this](int64_t duration) { return MintSts(duration); };
  if (sts_call && action == "AssumeRoleWithOIDC") {
    Result<json> r = StsAssumeRoleWithOidc(params, mint, Now());
    if (!r.ok()) return fail(r.error());
    counters_.ApiCall(action, "");
    return respond(200, std::move(r).value());
  }
  if (sts_call && action != "AssumeRole") {
    return fail(ApiError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."));
  }

  // ---- Authentication ----
  auto lookup_secret = [this](const std::string& id) -> std::optional<std::string> {
    std::lock_guard<std::mutex> lock(accounts_mu_);
    if (auto it = options_.accounts.find(id); it != options_.accounts.end()) return it->second;
    if (auto st = sts_.find(id); st != sts_.end()) return st->second.access_key_secret;
    return std::nullopt;
  };
  std::string access_key_id, nonce, timestamp_text, token;
  if (v3) {
    // ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<list>,Signature=<hex>
    std::string signed_headers, signature;
    for (auto& part : str::Split(authz->substr(16), ',', true)) {
      std::string_view p = str::Trim(part);
      if (str::StartsWith(p, "Credential=")) access_key_id = std::string(p.substr(11));
      else if (str::StartsWith(p, "SignedHeaders=")) signed_headers = std::string(p.substr(14));
      else if (str::StartsWith(p, "Signature=")) signature = std::string(p.substr(10));
    }
    if (access_key_id.empty() || signed_headers.empty() || signature.empty()) {
      return fail(ApiError(400, "IncompleteSignature",
                           "The request signature does not conform to Aliyun standards."));
    }
    if (action.empty()) return fail(Missing("x-acs-action"));
    if (req.Header("x-acs-version").value_or("") != kVersion) {
      return fail(ApiError(400, "InvalidVersion", "Specified parameter Version is not valid."));
    }
    nonce = req.Header("x-acs-signature-nonce").value_or("");
    timestamp_text = req.Header("x-acs-date").value_or("");
    token = req.Header("x-acs-security-token").value_or("");
    if (nonce.empty()) return fail(Missing("x-acs-signature-nonce"));
    if (timestamp_text.empty()) return fail(Missing("x-acs-date"));
    if (req.Header("x-acs-content-sha256").value_or("") != auth::Sha256Hex(req.body)) {
      return fail(ApiError(400, "SignatureDoesNotMatch",
                           "The x-acs-content-sha256 header does not match the body."));
    }
    auth::RpcV3Request vr;
    vr.method = req.method;
    for (const auto& [k, v] : ParseQuery(req.query, true)) vr.query.emplace(k, v);
    for (auto& name : str::Split(signed_headers, ';', true)) {
      auto v = req.Header(name);
      if (!v) return fail(ApiError(400, "IncompleteSignature", "A signed header is missing: " + name));
      vr.headers[name] = *v;
    }
    for (const char* needed : {"host", "x-acs-action", "x-acs-date", "x-acs-signature-nonce"}) {
      if (!vr.headers.count(needed)) {
        return fail(ApiError(400, "IncompleteSignature", std::string("Header not signed: ") + needed));
      }
    }
    vr.body = req.body;
    auto secret = lookup_secret(access_key_id);
    if (!secret) {
      return fail(ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."));
    }
    if (!auth::ConstantTimeEquals(auth::RpcV3Sign(vr, access_key_id, *secret).signature, signature)) {
      return fail(ApiError(400, "SignatureDoesNotMatch",
                           "Specified signature is not matched with our calculation."));
    }
  } else {
    for (const char* required : {"Action", "Version", "AccessKeyId", "Signature", "SignatureMethod",
                                 "SignatureNonce", "Timestamp", "SignatureVersion"}) {
      if (!params.count(required) || params[required].empty()) return fail(Missing(required));
    }
    if (params["Version"] != kVersion && !sts_call) {
      return fail(ApiError(400, "InvalidVersion", "Specified parameter Version is not valid."));
    }
    if (params["SignatureMethod"] != "HMAC-SHA1") {
      return fail(ApiError(400, "InvalidSignatureMethod", "Specified signature method is not supported."));
    }
    if (params["SignatureVersion"] != "1.0") {
      return fail(ApiError(400, "InvalidSignatureVersion", "Specified signature version is not supported."));
    }
    access_key_id = params["AccessKeyId"];
    nonce = params["SignatureNonce"];
    timestamp_text = params["Timestamp"];
    token = params.count("SecurityToken") ? params["SecurityToken"] : "";
    auto secret = lookup_secret(access_key_id);
    if (!secret) {
      return fail(ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."));
    }
    auth::RpcParams signed_params(params.begin(), params.end());
    std::string sts = auth::RpcV2StringToSign(req.method, signed_params);
    if (!auth::ConstantTimeEquals(auth::RpcV2Signature(*secret, sts), params["Signature"])) {
      return fail(ApiError(400, "SignatureDoesNotMatch",
                           "Specified signature is not matched with our calculation. server string "
                           "to sign is:" + sts));
    }
  }

  // Timestamp window.
  auto ts = timefmt::ParseIso8601(timestamp_text);
  if (!ts || timestamp_text.back() != 'Z') {
    return fail(ApiError(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."));
  }
  const int64_t now = Now();
  if (std::llabs(*ts - now) > options_.timestamp_window) {
    return fail(ApiError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."));
  }

  // STS: a temporary AccessKey needs its matching, unexpired token.
  {
    std::lock_guard<std::mutex> lock(accounts_mu_);
    if (auto st = sts_.find(access_key_id); st != sts_.end()) {
      if (token.empty()) {
        return fail(ApiError(400, "MissingSecurityToken", "SecurityToken is mandatory for this action."));
      }
      if (token != st->second.security_token) {
        bool known = false;
        for (const auto& [id, c] : sts_) known |= c.security_token == token;
        return fail(known ? ApiError(400, "InvalidSecurityToken.MismatchWithAccessKey",
                                     "Specified SecurityToken mismatch with the AccessKey.")
                          : ApiError(400, "InvalidSecurityToken.Malformed",
                                     "Specified SecurityToken is malformed."));
      }
      if (st->second.expiration < now) {
        return fail(ApiError(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired."));
      }
    } else if (!token.empty()) {
      return fail(ApiError(400, "InvalidSecurityToken.MismatchWithAccessKey",
                           "Specified SecurityToken mismatch with the AccessKey."));
    }
  }

  // Nonce replay (remembered for twice the timestamp window).
  {
    std::lock_guard<std::mutex> lock(nonce_mu_);
    const int64_t horizon = now - 2 * options_.timestamp_window;
    while (!nonce_order_.empty() && nonce_order_.front().first < horizon) {
      auto it = nonces_.find(nonce_order_.front().second);
      if (it != nonces_.end() && it->second == nonce_order_.front().first) nonces_.erase(it);
      nonce_order_.pop_front();
    }
    if (nonces_.count(nonce)) {
      return fail(ApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already."));
    }
    nonces_[nonce] = now;
    nonce_order_.emplace_back(now, nonce);
  }

  // Per-operation QPS (token bucket of capacity = rate).
  if (options_.qps_scale > 0) {
    const double rate = DocumentedQps(action) * options_.qps_scale;
    std::lock_guard<std::mutex> lock(throttle_mu_);
    Bucket& b = buckets_[action];
    auto t = std::chrono::steady_clock::now();
    if (!b.init) {
      b.tokens = rate;
      b.last = t;
      b.init = true;
    }
    b.tokens = std::min(rate, b.tokens + rate * std::chrono::duration<double>(t - b.last).count());
    b.last = t;
    if (b.tokens < 1.0) {
      return fail(ApiError(400, "Throttling.User", "Request was denied due to user flow control."));
    }
    b.tokens -= 1.0;
  }

  if (sts_call) {
    Result<json> r = StsAssumeRole(params, access_key_id, mint, now);
    if (!r.ok()) return fail(r.error());
    counters_.ApiCall(action, "");
    return respond(200, std::move(r).value());
  }

  // The operation reads the library under its read lock; the answer is
  // written after the lock is released (a slow client holds nothing).
  Result<json> r = ApiContext(*this, params).Dispatch(action);
  if (!r.ok()) return fail(r.error());
  counters_.ApiCall(action, "");
  if (options_.log_requests) VODFS_LOG(kInfo) << "api " << action << " -> 200";
  respond(200, std::move(r).value());
}

}  // namespace vodfs::emu
