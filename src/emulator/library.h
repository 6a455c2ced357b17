// The emulated media library: videos (and audio), their source files,
// transcoded streams, snapshots, uploaded images and categories, plus the
// bytes of every object ("blobs").
//
// Two implementations:
//  - ManifestLibrary: a folder with manifest.json and real media files (the
//    demo library made with ffmpeg, or benchmark files);
//  - SyntheticLibrary: N media computed from (seed, index), whose bytes are
//    computed from (seed, offset); a 100,000-video library or a 10 GiB file
//    costs no disk and any range can be checked by recomputing it.
//
// Media (and images) are ordered by creation time ascending, then id; index
// i is that order. The library never changes; Catalog (catalog.h) holds what
// changes while the emulator runs.
//
// Thread-safety: immutable after construction; all methods are const.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vodfs/util/result.h"

namespace vodfs::emu {

// Where the bytes of one object come from.
struct Blob {
  enum class Kind { kSynthetic, kFile, kInline };
  Kind kind = Kind::kSynthetic;
  uint64_t seed = 0;      // kSynthetic
  uint64_t size = 0;
  std::string file_path;  // kFile
  std::string data;       // kInline
  int64_t mtime = 0;      // Last-Modified (Unix seconds)
  std::string etag;       // quoted, e.g. "\"5B3C...\""

  // Reads [offset, offset+len) into out (len clipped to size).
  Status Read(uint64_t offset, uint64_t len, std::string* out) const;
};

// Deterministic synthetic bytes: byte k of the stream with seed s.
void FillSynthetic(uint64_t seed, uint64_t offset, char* out, size_t len);
// An ETag derived from content identity (not MD5 of the bytes, as with OSS
// multipart objects).
std::string MakeEtag(uint64_t a, uint64_t b);

struct Stream {
  std::string definition;   // FD LD SD HD OD 2K 4K SQ HQ AUTO
  std::string format;       // mp4 m3u8 mp3 flv mpd
  std::string stream_type = "video";  // video | audio
  std::string key;          // object key (m3u8: the playlist)
  uint64_t size = 0;        // m3u8: sum of segment sizes
  double duration = 0;
  double bitrate = 0;       // Kbit/s
  int64_t width = 0, height = 0;
  std::string fps;
  int encrypt = 0;
  std::string encrypt_type;  // "", AliyunVoDEncryption, HLSEncryption
  std::string job_id;
  std::string status = "Normal";  // Normal | Invisible
  std::string codec = "H264";
  int64_t creation_time = 0, modification_time = 0;
  std::vector<std::string> segment_keys;  // m3u8 only
  std::vector<double> segment_durations;
};

struct Media {
  std::string id;
  std::string media_type = "video";  // video | audio
  std::string title, description, tags;
  int64_t cate_id = -1;
  std::string status = "Normal";
  int64_t creation_time = 0, modification_time = 0;
  double duration = 0;
  std::string storage_class = "Standard";
  // Source (mezzanine). Empty key: no source file (upload failed).
  std::string source_key;
  std::string source_file_name;
  uint64_t source_size = 0;
  std::string source_status = "Normal";
  int64_t width = 0, height = 0;
  std::string fps, bitrate;
  std::vector<Stream> streams;
  std::string cover_key;
  std::vector<std::string> snapshot_keys;       // NormalSnapshot
  std::vector<std::string> sprite_keys;         // SpriteSnapshot
  std::vector<std::string> sprite_origin_keys;  // SpriteOriginSnapshot
  std::string snapshot_job_id;
};

// A synthetic object as SyntheticLibrary makes them: bytes
// FillSynthetic(seed, ...), ETag MakeEtag(seed, size).
Blob MakeSyntheticBlob(uint64_t seed, uint64_t size, int64_t mtime);
// The HLS playlist of an m3u8 stream: its segments (by file name) with
// their durations.
Blob MakePlaylistBlob(const Stream& s, int target_duration, int64_t mtime);

// Every object key a medium's record names (source, streams and their
// segments, cover, snapshots, sprites), in that order.
std::vector<std::string> ObjectKeys(const Media& m);

struct Image {
  std::string id, title, description, tags;
  std::string key;
  std::string image_type = "default";
  std::string status = "Normal";
  int64_t cate_id = -1;
  int64_t creation_time = 0, modification_time = 0;
  int64_t width = 0, height = 0;
  std::string original_file_name;
  uint64_t size = 0;
};

struct Category {
  int64_t id = 0;
  std::string name;
  int64_t level = 0;       // 0, 1, 2
  int64_t parent_id = -1;  // -1 for level 0
  std::string type = "default";
  int64_t creation_time = 0;
};

class Library {
 public:
  virtual ~Library() = default;

  virtual size_t MediaCount() const = 0;
  virtual Media MediaAt(size_t index) const = 0;
  virtual std::optional<size_t> FindMedia(std::string_view id) const = 0;
  // Indexes of media of one type ("video" or "audio"), ascending.
  virtual const std::vector<uint32_t>& IndexesOfType(std::string_view media_type) const = 0;

  // The fields searches sort and filter by, without building a whole
  // record: a search of a 2,000,000-video library reads a few dozen of them
  // per call. The defaults go through MediaAt.
  virtual std::string MediaIdAt(size_t index) const { return MediaAt(index).id; }
  virtual int64_t CreationTimeAt(size_t index) const { return MediaAt(index).creation_time; }
  virtual int64_t ModificationTimeAt(size_t index) const {
    return MediaAt(index).modification_time;
  }
  // True when ModificationTimeAt never decreases with the index, so its
  // ranges are found by binary search like those of the creation time.
  // False means "not known": the catalog then checks, once.
  virtual bool ModificationTimesAscending() const { return false; }

  virtual size_t ImageCount() const = 0;
  virtual Image ImageAt(size_t index) const = 0;
  virtual std::optional<size_t> FindImage(std::string_view id) const = 0;
  virtual std::string ImageIdAt(size_t index) const { return ImageAt(index).id; }
  virtual int64_t ImageCreationTimeAt(size_t index) const { return ImageAt(index).creation_time; }
  virtual int64_t ImageModificationTimeAt(size_t index) const {
    return ImageAt(index).modification_time;
  }
  virtual bool ImageModificationTimesAscending() const { return false; }

  virtual const std::vector<Category>& Categories() const = 0;

  virtual std::optional<Blob> FindBlob(std::string_view key) const = 0;
  // The id of the medium or image that holds the object `key`, if any. The
  // default looks through every record (fine for small libraries).
  virtual std::optional<std::string> OwnerOfKey(std::string_view key) const;

  // A short description for logs ("demo library: 7 media, 2 images").
  virtual std::string Describe() const = 0;
};

struct SyntheticOptions {
  uint64_t seed = 1;
  size_t videos = 100;
  size_t audio = 0;          // audio-only media, interleaved
  size_t images = 0;
  uint64_t video_size = 1 << 20;  // source size; streams are fractions of it
  bool exact_sizes = false;       // no per-video size jitter
  bool hls = false;               // add an m3u8 stream with segments
  bool status_mix = false;        // some Transcoding / UploadFail media
  bool hostile_titles = false;    // some titles with '/', '..', emoji, 300 bytes
  int64_t base_time = 1704067200;  // 2024-01-01T00:00:00Z
};

std::unique_ptr<Library> MakeSyntheticLibrary(const SyntheticOptions& options);
Result<std::unique_ptr<Library>> LoadManifestLibrary(const std::string& dir);

}  // namespace vodfs::emu
