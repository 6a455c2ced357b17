#include "emulator/library.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"

namespace vodfs::emu {

using nlohmann::json;

void FillSynthetic(uint64_t seed, uint64_t offset, char* out, size_t len) {
  const uint64_t salt = str::Mix64(seed ^ 0x5eed5eed5eed5eedULL);
  uint64_t word_index = offset / 8;
  size_t skip = offset % 8;
  size_t pos = 0;
  while (pos < len) {
    uint64_t w = str::Mix64(salt + word_index * 0x9e3779b97f4a7c15ULL);
    unsigned char bytes[8];
    for (int k = 0; k < 8; ++k) bytes[k] = static_cast<unsigned char>(w >> (8 * k));
    size_t n = std::min<size_t>(8 - skip, len - pos);
    std::memcpy(out + pos, bytes + skip, n);
    pos += n;
    skip = 0;
    ++word_index;
  }
}

std::string MakeEtag(uint64_t a, uint64_t b) {
  uint64_t h1 = str::Mix64(a ^ str::Mix64(b));
  uint64_t h2 = str::Mix64(h1 ^ b);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "\"%016llX%016llX\"", static_cast<unsigned long long>(h1),
                static_cast<unsigned long long>(h2));
  return buf;
}

Status Blob::Read(uint64_t offset, uint64_t len, std::string* out) const {
  out->clear();
  if (offset >= size) return Status::Ok();
  len = std::min(len, size - offset);
  out->resize(len);
  switch (kind) {
    case Kind::kSynthetic:
      FillSynthetic(seed, offset, out->data(), len);
      return Status::Ok();
    case Kind::kInline:
      std::memcpy(out->data(), data.data() + offset, len);
      return Status::Ok();
    case Kind::kFile: {
      FILE* f = std::fopen(file_path.c_str(), "rb");
      if (!f) return Status(ErrorCode::kNotFound, "Cannot open " + file_path);
      bool ok = ::fseeko(f, static_cast<off_t>(offset), SEEK_SET) == 0 &&
                std::fread(out->data(), 1, len, f) == len;
      std::fclose(f);
      if (!ok) return Status(ErrorCode::kDataLoss, "Cannot read " + file_path);
      return Status::Ok();
    }
  }
  return Status(ErrorCode::kInternal, "bad blob kind");
}

Blob MakeSyntheticBlob(uint64_t seed, uint64_t size, int64_t mtime) {
  Blob b;
  b.kind = Blob::Kind::kSynthetic;
  b.seed = seed;
  b.size = size;
  b.mtime = mtime;
  b.etag = MakeEtag(seed, size);
  return b;
}

Blob MakePlaylistBlob(const Stream& s, int target_duration, int64_t mtime) {
  std::string text = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:" +
                     std::to_string(target_duration) + "\n#EXT-X-MEDIA-SEQUENCE:0\n";
  for (size_t k = 0; k < s.segment_keys.size(); ++k) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "#EXTINF:%.3f,\n", s.segment_durations[k]);
    text += buf;
    text += s.segment_keys[k].substr(s.segment_keys[k].rfind('/') + 1) + "\n";
  }
  text += "#EXT-X-ENDLIST\n";
  Blob b;
  b.kind = Blob::Kind::kInline;
  b.data = text;
  b.size = text.size();
  b.mtime = mtime;
  b.etag = MakeEtag(str::StableHash64(text), b.size);
  return b;
}

std::vector<std::string> ObjectKeys(const Media& m) {
  std::vector<std::string> keys;
  if (!m.source_key.empty()) keys.push_back(m.source_key);
  for (const auto& s : m.streams) {
    keys.push_back(s.key);
    keys.insert(keys.end(), s.segment_keys.begin(), s.segment_keys.end());
  }
  if (!m.cover_key.empty()) keys.push_back(m.cover_key);
  for (const auto* list : {&m.snapshot_keys, &m.sprite_keys, &m.sprite_origin_keys}) {
    keys.insert(keys.end(), list->begin(), list->end());
  }
  return keys;
}

std::optional<std::string> Library::OwnerOfKey(std::string_view key) const {
  for (size_t i = 0; i < MediaCount(); ++i) {
    Media m = MediaAt(i);
    for (const auto& k : ObjectKeys(m)) {
      if (k == key) return m.id;
    }
  }
  for (size_t i = 0; i < ImageCount(); ++i) {
    Image img = ImageAt(i);
    if (img.key == key) return img.id;
  }
  return std::nullopt;
}

namespace {

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

// ---------------------------------------------------------------------------
// Synthetic library.

class SyntheticLibrary final : public Library {
 public:
  explicit SyntheticLibrary(const SyntheticOptions& o) : o_(o) {
    const size_t total = o.videos + o.audio;
    id_mask_ = str::Mix64(o.seed ^ 0x1d1d1d1d);
    is_audio_.assign(total, 0);
    if (o.audio > 0) {
      for (size_t k = 0; k < o.audio; ++k) is_audio_[k * total / o.audio + (total / o.audio) / 2] = 1;
    }
    for (size_t i = 0; i < total; ++i) {
      (is_audio_[i] ? audio_ : video_).push_back(static_cast<uint32_t>(i));
    }
    BuildCategories();
  }

  size_t MediaCount() const override { return is_audio_.size(); }

  std::string MediaId(size_t i) const {
    return Hex16(str::Mix64(o_.seed * 0x100000001b3ULL + i)) + Hex16(i ^ id_mask_);
  }

  std::optional<size_t> FindMedia(std::string_view id) const override {
    if (id.size() != 32) return std::nullopt;
    auto low = str::HexDecode(id.substr(16));
    if (!low) return std::nullopt;
    uint64_t v = 0;
    for (unsigned char c : *low) v = (v << 8) | c;
    uint64_t i = v ^ id_mask_;
    if (i >= MediaCount() || MediaId(i) != id) return std::nullopt;
    return i;
  }

  const std::vector<uint32_t>& IndexesOfType(std::string_view t) const override {
    return t == "audio" ? audio_ : video_;
  }

  std::string MediaIdAt(size_t i) const override { return MediaId(i); }
  // 37 s apart, modified 600 s after creation (see MediaAt).
  int64_t CreationTimeAt(size_t i) const override {
    return o_.base_time + static_cast<int64_t>(i) * 37;
  }
  int64_t ModificationTimeAt(size_t i) const override { return CreationTimeAt(i) + 600; }
  bool ModificationTimesAscending() const override { return true; }

  Media MediaAt(size_t i) const override {
    Media m;
    m.id = MediaId(i);
    m.media_type = is_audio_[i] ? "audio" : "video";
    const uint64_t h = str::Mix64(o_.seed ^ (i * 0x2545f4914f6cdd1dULL));
    m.title = Title(i);
    m.description = "Synthetic media " + std::to_string(i);
    m.tags = i % 3 == 0 ? "synthetic,blue" : "synthetic";
    m.creation_time = CreationTimeAt(i);
    m.modification_time = ModificationTimeAt(i);
    m.duration = 60.0 + static_cast<double>(h % 600) / 10.0;
    m.cate_id = i % 10 == 9 ? -1 : leaves_[i % leaves_.size()];
    if (o_.status_mix) {
      if (i % 53 == 5) m.status = "Transcoding";
      if (i % 53 == 11) m.status = "UploadFail";
    }
    const bool audio = is_audio_[i];
    uint64_t size = o_.video_size;
    if (!o_.exact_sizes && size > 8192) size -= h % std::min<uint64_t>(4096, size / 8);
    if (m.status != "UploadFail") {
      m.source_key = "sv/" + m.id + (audio ? "/source.mp3" : "/source.mp4");
      m.source_file_name = (audio ? "track-" : "clip-") + std::to_string(i) + (audio ? ".mp3" : ".mp4");
      m.source_size = size;
    } else {
      m.source_status = "UploadFail";
    }
    if (!audio) {
      m.width = 1920;
      m.height = 1080;
      m.fps = "25";
      m.bitrate = "4000";
    }
    if (m.status == "Normal") {
      if (audio) {
        m.streams.push_back(MakeStream(m, "SQ", "mp3", size / 8 + 11, 128, 0, 0));
      } else {
        m.streams.push_back(MakeStream(m, "LD", "mp4", size / 4 + 17, 800, 640, 360));
        m.streams.push_back(MakeStream(m, "HD", "mp4", size / 2 + 31, 2500, 1280, 720));
        if (o_.hls) {
          Stream s = MakeStream(m, "SD", "m3u8", 0, 1500, 960, 540);
          std::string dir = "customerTrans/" + m.id + "/SD-hls/";
          s.key = dir + "index.m3u8";
          const int nseg = 4;
          for (int k = 0; k < nseg; ++k) {
            s.segment_keys.push_back(dir + "seg-" + Num5(static_cast<size_t>(k)) + ".ts");
            s.segment_durations.push_back(m.duration / nseg);
            s.size += SegmentSize(m.id, static_cast<size_t>(k));
          }
          m.streams.push_back(std::move(s));
        }
      }
      if (!audio) {
        m.cover_key = m.id + "/snapshots/cover.jpg";
        for (size_t k = 1; k <= 3; ++k) m.snapshot_keys.push_back(m.id + "/snapshots/normal/" + Num5(k) + ".jpg");
        m.sprite_keys.push_back(m.id + "/snapshots/sprite/" + Num5(1) + ".jpg");
        m.snapshot_job_id = Hex16(h) + Hex16(h ^ 7);
      }
    }
    return m;
  }

  size_t ImageCount() const override { return o_.images; }

  std::string ImageId(size_t i) const {
    return Hex16(str::Mix64(o_.seed * 0x9e37ULL + i + 0x1000000)) + Hex16(i ^ id_mask_ ^ 0xabcdef);
  }

  std::optional<size_t> FindImage(std::string_view id) const override {
    if (id.size() != 32) return std::nullopt;
    auto low = str::HexDecode(id.substr(16));
    if (!low) return std::nullopt;
    uint64_t v = 0;
    for (unsigned char c : *low) v = (v << 8) | c;
    uint64_t i = v ^ id_mask_ ^ 0xabcdef;
    if (i >= o_.images || ImageId(i) != id) return std::nullopt;
    return i;
  }

  std::string ImageIdAt(size_t i) const override { return ImageId(i); }
  // 91 s apart, modified 60 s after creation.
  int64_t ImageCreationTimeAt(size_t i) const override {
    return o_.base_time + static_cast<int64_t>(i) * 91;
  }
  int64_t ImageModificationTimeAt(size_t i) const override { return ImageCreationTimeAt(i) + 60; }
  bool ImageModificationTimesAscending() const override { return true; }

  Image ImageAt(size_t i) const override {
    Image img;
    img.id = ImageId(i);
    img.title = "Image " + std::to_string(i);
    img.key = "image/default/" + img.id + ".jpg";
    img.creation_time = ImageCreationTimeAt(i);
    img.modification_time = ImageModificationTimeAt(i);
    img.width = 800;
    img.height = 600;
    img.original_file_name = "image-" + std::to_string(i) + ".jpg";
    img.size = ImageSize(img.id);
    img.cate_id = leaves_[i % leaves_.size()];
    return img;
  }

  const std::vector<Category>& Categories() const override { return categories_; }

  std::optional<Blob> FindBlob(std::string_view key) const override {
    // Keys: sv/<id>/..., customerTrans/<id>/..., <id>/snapshots/..., image/default/<id>.jpg
    std::string id;
    if (str::StartsWith(key, "sv/") || str::StartsWith(key, "customerTrans/")) {
      size_t a = key.find('/') + 1;
      id = std::string(key.substr(a, 32));
    } else if (str::StartsWith(key, "image/default/")) {
      std::string_view rest = key.substr(14);
      auto idx = FindImage(rest.substr(0, 32));
      if (!idx) return std::nullopt;
      Image img = ImageAt(*idx);
      if (img.key != key) return std::nullopt;
      return SyntheticBlob(img.key, img.size, img.modification_time);
    } else {
      id = std::string(key.substr(0, 32));
    }
    auto idx = FindMedia(id);
    if (!idx) return std::nullopt;
    Media m = MediaAt(*idx);
    if (key == m.source_key) return SyntheticBlob(key, m.source_size, m.modification_time);
    for (const auto& s : m.streams) {
      if (key == s.key) {
        if (s.format == "m3u8") return Playlist(m, s);
        return SyntheticBlob(key, s.size, m.modification_time);
      }
      for (size_t k = 0; k < s.segment_keys.size(); ++k) {
        if (key == s.segment_keys[k]) {
          return SyntheticBlob(key, SegmentSize(m.id, k), m.modification_time);
        }
      }
    }
    auto image_like = [&](const std::string& k, uint64_t base) -> std::optional<Blob> {
      if (k != key) return std::nullopt;
      return SyntheticBlob(k, base + str::StableHash64(k, o_.seed) % 8192, m.modification_time);
    };
    if (auto b = image_like(m.cover_key, 24 * 1024)) return b;
    for (const auto& k : m.snapshot_keys) {
      if (auto b = image_like(k, 16 * 1024)) return b;
    }
    for (const auto& k : m.sprite_keys) {
      if (auto b = image_like(k, 64 * 1024)) return b;
    }
    return std::nullopt;
  }

  std::optional<std::string> OwnerOfKey(std::string_view key) const override {
    if (str::StartsWith(key, "image/default/")) {
      std::string id(key.substr(14, 32));
      if (FindImage(id)) return id;
      return std::nullopt;
    }
    std::string id;
    if (str::StartsWith(key, "sv/") || str::StartsWith(key, "customerTrans/")) {
      id = std::string(key.substr(key.find('/') + 1, 32));
    } else {
      id = std::string(key.substr(0, 32));
    }
    if (FindMedia(id)) return id;
    return std::nullopt;
  }

  std::string Describe() const override {
    return "synthetic library: " + std::to_string(o_.videos) + " videos, " +
           std::to_string(o_.audio) + " audio, " + std::to_string(o_.images) + " images, seed " +
           std::to_string(o_.seed);
  }

 private:
  std::string Title(size_t i) const {
    if (o_.hostile_titles) {
      static const std::vector<std::string> kHostile = {
          "a/b slash", "..", ".", "emoji 🎬 clip", std::string(300, 'x'), "duplicate title",
          "duplicate title", std::string("nul\0byte", 8), "line\nbreak", "  spaced  ", "",
          "back\\slash", "中文标题/第二部分"};
      if (i % 7 == 3) return kHostile[(i / 7) % kHostile.size()];
    }
    char buf[32];
    std::snprintf(buf, sizeof(buf), "Clip %06zu", i);
    return buf;
  }

  Stream MakeStream(const Media& m, const std::string& def, const std::string& fmt, uint64_t size,
                    double bitrate, int64_t w, int64_t h) const {
    Stream s;
    s.definition = def;
    s.format = fmt;
    s.stream_type = fmt == "mp3" ? "audio" : "video";
    s.job_id = Hex16(str::StableHash64(m.id + def + fmt, o_.seed)) + Hex16(o_.seed);
    s.key = "customerTrans/" + m.id + "/" + s.job_id.substr(0, 8) + "-" + def + "." + fmt;
    s.size = size;
    s.duration = m.duration;
    s.bitrate = bitrate;
    s.width = w;
    s.height = h;
    s.fps = s.stream_type == "video" ? "25" : "";
    s.creation_time = m.creation_time + 120;
    s.modification_time = m.modification_time;
    return s;
  }

  uint64_t SegmentSize(const std::string& id, size_t k) const {
    return o_.video_size / 16 + str::StableHash64(id + std::to_string(k), o_.seed) % 4096;
  }
  uint64_t ImageSize(const std::string& id) const {
    return 40 * 1024 + str::StableHash64(id, o_.seed) % 8192;
  }

  Blob SyntheticBlob(std::string_view key, uint64_t size, int64_t mtime) const {
    return MakeSyntheticBlob(str::StableHash64(key, o_.seed), size, mtime);
  }

  Blob Playlist(const Media& m, const Stream& s) const {
    return MakePlaylistBlob(s, static_cast<int>(m.duration / 4) + 1, m.modification_time);
  }

  void BuildCategories() {
    const char* top[] = {"Sports", "News", "Music"};
    const char* mid[] = {"Highlights", "Interviews", "Archive"};
    const char* leaf[] = {"2024", "2025"};
    int64_t t = o_.base_time - 86400;
    for (int a = 0; a < 3; ++a) {
      int64_t ida = 1000 + a * 100;
      categories_.push_back({ida, top[a], 0, -1, "default", t + a});
      for (int b = 0; b < 3; ++b) {
        int64_t idb = ida + 10 * (b + 1);
        categories_.push_back({idb, mid[b], 1, ida, "default", t + 10 + b});
        for (int c = 0; c < 2; ++c) {
          int64_t idc = idb + c + 1;
          categories_.push_back({idc, leaf[c], 2, idb, "default", t + 20 + c});
          leaves_.push_back(idc);
        }
      }
    }
  }

  SyntheticOptions o_;
  uint64_t id_mask_ = 0;
  std::vector<uint8_t> is_audio_;
  std::vector<uint32_t> video_, audio_;
  std::vector<Category> categories_;
  std::vector<int64_t> leaves_;
};

// ---------------------------------------------------------------------------
// Manifest library.

class ManifestLibrary final : public Library {
 public:
  size_t MediaCount() const override { return media_.size(); }
  Media MediaAt(size_t i) const override { return media_[i]; }
  std::optional<size_t> FindMedia(std::string_view id) const override {
    auto it = media_index_.find(std::string(id));
    if (it == media_index_.end()) return std::nullopt;
    return it->second;
  }
  const std::vector<uint32_t>& IndexesOfType(std::string_view t) const override {
    return t == "audio" ? audio_ : video_;
  }
  size_t ImageCount() const override { return images_.size(); }
  Image ImageAt(size_t i) const override { return images_[i]; }
  std::optional<size_t> FindImage(std::string_view id) const override {
    for (size_t i = 0; i < images_.size(); ++i) {
      if (images_[i].id == id) return i;
    }
    return std::nullopt;
  }
  const std::vector<Category>& Categories() const override { return categories_; }
  std::optional<Blob> FindBlob(std::string_view key) const override {
    auto it = blobs_.find(std::string(key));
    if (it == blobs_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::string> OwnerOfKey(std::string_view key) const override {
    auto it = owners_.find(std::string(key));
    if (it == owners_.end()) return std::nullopt;
    return it->second;
  }
  std::string MediaIdAt(size_t i) const override { return media_[i].id; }
  int64_t CreationTimeAt(size_t i) const override { return media_[i].creation_time; }
  int64_t ModificationTimeAt(size_t i) const override { return media_[i].modification_time; }
  std::string ImageIdAt(size_t i) const override { return images_[i].id; }
  int64_t ImageCreationTimeAt(size_t i) const override { return images_[i].creation_time; }
  int64_t ImageModificationTimeAt(size_t i) const override {
    return images_[i].modification_time;
  }
  std::string Describe() const override {
    return "library " + dir_ + ": " + std::to_string(video_.size()) + " videos, " +
           std::to_string(audio_.size()) + " audio, " + std::to_string(images_.size()) +
           " images, " + std::to_string(categories_.size()) + " categories";
  }

  Status Load(const std::string& dir);

 private:
  Result<std::string> AddFile(const std::string& rel, int64_t mtime) {
    if (rel.empty() || rel.find("..") != std::string::npos || rel.front() == '/') {
      return Error(ErrorCode::kInvalidArgument, "bad file path in manifest: " + rel);
    }
    std::string path = dir_ + "/" + rel;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return Error(ErrorCode::kNotFound, "manifest names a missing file: " + path);
    }
    Blob b;
    b.kind = Blob::Kind::kFile;
    b.file_path = path;
    b.size = static_cast<uint64_t>(st.st_size);
    b.mtime = mtime;
    b.etag = MakeEtag(str::StableHash64(rel), b.size ^ static_cast<uint64_t>(st.st_mtime));
    blobs_[rel] = b;
    return rel;
  }

  std::string dir_;
  std::vector<Media> media_;
  std::unordered_map<std::string, size_t> media_index_;
  std::vector<uint32_t> video_, audio_;
  std::vector<Image> images_;
  std::vector<Category> categories_;
  std::unordered_map<std::string, Blob> blobs_;
  std::unordered_map<std::string, std::string> owners_;  // object key -> media or image id
};

int64_t TimeField(const json& j, const char* name, int64_t fallback) {
  if (!j.contains(name)) return fallback;
  if (j[name].is_number_integer()) return j[name].get<int64_t>();
  if (j[name].is_string()) {
    if (auto t = timefmt::ParseIso8601(j[name].get<std::string>())) return *t;
  }
  return fallback;
}

template <typename T>
T Get(const json& j, const char* name, T fallback) {
  if (!j.contains(name) || j[name].is_null()) return fallback;
  return j[name].get<T>();
}

Status ManifestLibrary::Load(const std::string& dir) {
  dir_ = dir;
  std::ifstream in(dir + "/manifest.json");
  if (!in) return Status(ErrorCode::kNotFound, "Cannot open " + dir + "/manifest.json");
  std::stringstream ss;
  ss << in.rdbuf();
  json root = json::parse(ss.str(), nullptr, false);
  if (root.is_discarded() || !root.is_object()) {
    return Status(ErrorCode::kInvalidArgument, dir + "/manifest.json is not valid JSON");
  }
  try {
    for (const auto& jm : root.value("media", json::array())) {
      Media m;
      m.id = jm.at("id").get<std::string>();
      m.media_type = Get<std::string>(jm, "type", "video");
      m.title = Get<std::string>(jm, "title", "");
      m.description = Get<std::string>(jm, "description", "");
      m.tags = Get<std::string>(jm, "tags", "");
      m.cate_id = Get<int64_t>(jm, "cate_id", -1);
      m.status = Get<std::string>(jm, "status", "Normal");
      m.creation_time = TimeField(jm, "creation_time", 1704067200);
      m.modification_time = TimeField(jm, "modification_time", m.creation_time);
      m.duration = Get<double>(jm, "duration", 0);
      m.width = Get<int64_t>(jm, "width", 0);
      m.height = Get<int64_t>(jm, "height", 0);
      m.fps = Get<std::string>(jm, "fps", "");
      m.bitrate = Get<std::string>(jm, "bitrate", "");
      m.storage_class = Get<std::string>(jm, "storage_class", "Standard");
      const int64_t mt = m.modification_time;
      if (jm.contains("source")) {
        const auto& js = jm["source"];
        VODFS_ASSIGN_OR_RETURN(m.source_key, AddFile(js.at("file").get<std::string>(), mt));
        m.source_file_name = Get<std::string>(js, "file_name", "source.mp4");
        m.source_size = blobs_[m.source_key].size;
      } else {
        m.source_status = m.status == "Uploading" ? "Uploading" : "UploadFail";
      }
      for (const auto& jst : jm.value("streams", json::array())) {
        Stream s;
        s.definition = jst.at("definition").get<std::string>();
        s.format = jst.at("format").get<std::string>();
        s.stream_type = Get<std::string>(jst, "stream_type", s.format == "mp3" ? "audio" : "video");
        s.width = Get<int64_t>(jst, "width", 0);
        s.height = Get<int64_t>(jst, "height", 0);
        s.fps = Get<std::string>(jst, "fps", "");
        s.bitrate = Get<double>(jst, "bitrate", 0);
        s.duration = Get<double>(jst, "duration", m.duration);
        s.encrypt_type = Get<std::string>(jst, "encrypt_type", "");
        s.encrypt = s.encrypt_type.empty() ? 0 : 1;
        s.status = Get<std::string>(jst, "status", "Normal");
        s.codec = Get<std::string>(jst, "codec", "H264");
        s.creation_time = TimeField(jst, "creation_time", m.creation_time + 60);
        s.modification_time = TimeField(jst, "modification_time", m.modification_time);
        const std::string stream_file = jst.contains("file") ? Get<std::string>(jst, "file", "")
                                                             : Get<std::string>(jst, "playlist", "");
        s.job_id = Get<std::string>(jst, "job_id", Hex16(str::StableHash64(m.id + s.definition + s.format + s.status)) +
                                                       Hex16(str::StableHash64(stream_file)));
        if (s.format == "m3u8") {
          VODFS_ASSIGN_OR_RETURN(s.key, AddFile(jst.at("playlist").get<std::string>(), mt));
          std::string base = s.key.substr(0, s.key.rfind('/') + 1);
          for (const auto& seg : jst.at("segments")) {
            VODFS_ASSIGN_OR_RETURN(std::string k, AddFile(base + seg.get<std::string>(), mt));
            s.size += blobs_[k].size;
            s.segment_keys.push_back(k);
          }
        } else {
          VODFS_ASSIGN_OR_RETURN(s.key, AddFile(jst.at("file").get<std::string>(), mt));
          s.size = blobs_[s.key].size;
        }
        m.streams.push_back(std::move(s));
      }
      if (jm.contains("cover")) {
        VODFS_ASSIGN_OR_RETURN(m.cover_key, AddFile(jm["cover"].get<std::string>(), mt));
      }
      auto add_list = [&](const char* name, std::vector<std::string>* out) -> Status {
        for (const auto& f : jm.value(name, json::array())) {
          VODFS_ASSIGN_OR_RETURN(std::string k, AddFile(f.get<std::string>(), mt));
          out->push_back(k);
        }
        return Status::Ok();
      };
      VODFS_RETURN_IF_ERROR(add_list("snapshots", &m.snapshot_keys));
      VODFS_RETURN_IF_ERROR(add_list("sprites", &m.sprite_keys));
      VODFS_RETURN_IF_ERROR(add_list("sprite_originals", &m.sprite_origin_keys));
      m.snapshot_job_id = Hex16(str::StableHash64(m.id + "snap")) + Hex16(str::StableHash64(m.id + "snapjob"));
      media_.push_back(std::move(m));
    }
    for (const auto& ji : root.value("images", json::array())) {
      Image img;
      img.id = ji.at("id").get<std::string>();
      img.title = Get<std::string>(ji, "title", "");
      img.description = Get<std::string>(ji, "description", "");
      img.tags = Get<std::string>(ji, "tags", "");
      img.image_type = Get<std::string>(ji, "image_type", "default");
      img.status = Get<std::string>(ji, "status", "Normal");
      img.cate_id = Get<int64_t>(ji, "cate_id", -1);
      img.creation_time = TimeField(ji, "creation_time", 1704067200);
      img.modification_time = TimeField(ji, "modification_time", img.creation_time);
      img.width = Get<int64_t>(ji, "width", 0);
      img.height = Get<int64_t>(ji, "height", 0);
      img.original_file_name = Get<std::string>(ji, "original_file_name", "image.jpg");
      VODFS_ASSIGN_OR_RETURN(img.key, AddFile(ji.at("file").get<std::string>(), img.modification_time));
      img.size = blobs_[img.key].size;
      images_.push_back(std::move(img));
    }
    for (const auto& jc : root.value("categories", json::array())) {
      Category c;
      c.id = jc.at("id").get<int64_t>();
      c.name = jc.at("name").get<std::string>();
      c.parent_id = Get<int64_t>(jc, "parent_id", -1);
      c.level = Get<int64_t>(jc, "level", 0);
      c.type = Get<std::string>(jc, "type", "default");
      c.creation_time = TimeField(jc, "creation_time", 1704067200);
      categories_.push_back(std::move(c));
    }
  } catch (const json::exception& e) {
    return Status(ErrorCode::kInvalidArgument, dir + "/manifest.json: " + e.what());
  }
  std::stable_sort(media_.begin(), media_.end(), [](const Media& a, const Media& b) {
    return a.creation_time != b.creation_time ? a.creation_time < b.creation_time : a.id < b.id;
  });
  std::stable_sort(images_.begin(), images_.end(), [](const Image& a, const Image& b) {
    return a.creation_time != b.creation_time ? a.creation_time < b.creation_time : a.id < b.id;
  });
  for (size_t i = 0; i < media_.size(); ++i) {
    if (!media_index_.emplace(media_[i].id, i).second) {
      return Status(ErrorCode::kInvalidArgument, "duplicate media id " + media_[i].id);
    }
    (media_[i].media_type == "audio" ? audio_ : video_).push_back(static_cast<uint32_t>(i));
    for (auto& k : ObjectKeys(media_[i])) owners_.emplace(std::move(k), media_[i].id);
  }
  for (const auto& img : images_) owners_.emplace(img.key, img.id);
  return Status::Ok();
}

}  // namespace

std::unique_ptr<Library> MakeSyntheticLibrary(const SyntheticOptions& options) {
  return std::make_unique<SyntheticLibrary>(options);
}

Result<std::unique_ptr<Library>> LoadManifestLibrary(const std::string& dir) {
  auto lib = std::make_unique<ManifestLibrary>();
  VODFS_RETURN_IF_ERROR(lib->Load(dir));
  return std::unique_ptr<Library>(std::move(lib));
}

}  // namespace vodfs::emu
