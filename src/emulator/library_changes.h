// Changes to the emulated library while it runs, as the control endpoint
// receives them (POST /library/changes), and the records they make.
//
//   {"op": "add", "kind": "media", "type": "video", "count": 3, "title": "New",
//    "creation_time": "2024-05-01T00:00:00Z", "streams": [{"definition": "HD",
//    "format": "mp4", "size": 1000}], "snapshots": 2}
//   {"op": "modify", "kind": "media", "ids": ["..."], "title": "Renamed"}
//   {"op": "delete", "kind": "image", "count": 10, "seed": 7}
//
// Objects a change introduces (the source, streams, cover, snapshots and
// sprites of an added medium, a stream or snapshot a modification adds, a
// source or image given a new size) have synthetic bytes as SyntheticLibrary
// makes them, seeded by ChangeObjectSeed(key), so a test can recompute them.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "emulator/library.h"
#include "vodfs/util/result.h"

namespace vodfs::emu {

struct StreamSpec {
  std::string definition;  // FD LD SD HD OD 2K 4K SQ HQ AUTO
  std::string format;      // mp4 m3u8 mp3 flv
  std::optional<uint64_t> size;
};

struct LibraryChange {
  enum class Op { kAdd, kModify, kDelete };
  Op op = Op::kAdd;
  bool image = false;  // kind "image" (else "media")
  // add: "video" or "audio"; modify/delete: restricts count picks ("": any).
  std::string type;
  // modify/delete: the entries, by id, or `count` picked from `seed`.
  std::vector<std::string> ids;
  std::optional<uint64_t> seed;
  size_t count = 1;  // add: how many; modify/delete: how many to pick
  // Fields (add and modify; which apply to which kind is checked when parsing).
  std::optional<std::string> title, description, tags, status, storage_class;
  std::optional<int64_t> cate_id;
  std::optional<int64_t> creation_time, modification_time;  // Unix seconds
  std::optional<uint64_t> source_size;                      // images: the image file's size
  std::optional<size_t> snapshots;                          // number of normal snapshots
  std::optional<std::vector<StreamSpec>> streams, add_streams;
};

// Most entries one change may add or pick: a bound on memory, far above
// the 20,000-media bulk changes benchmarks make.
inline constexpr size_t kMaxChangeCount = 1000000;

// One change object, or an array of them. Errors name the change (its
// index in an array) and the field.
Result<std::vector<LibraryChange>> ParseLibraryChanges(const nlohmann::json& body);

// The seed of the synthetic bytes of an object a change introduced.
uint64_t ChangeObjectSeed(std::string_view key);

// The id of the medium or image an object key made by a change belongs to,
// by the shape of the key (sv/<id>/..., customerTrans/<id>/...,
// <id>/snapshots/..., image/default/<id>.jpg).
std::optional<std::string> ChangeKeyOwner(std::string_view key);

// Objects a change introduced into a medium, with their Last-Modified.
using IntroducedObjects = std::vector<std::pair<std::string, int64_t>>;

// A new medium made by an add: `ordinal` (1-based) suffixes the title of a
// bulk add (0: no suffix). Defaults are those of synthetic media: a source,
// LD and HD mp4 streams (audio: SQ mp3), cover, 3 snapshots and a sprite
// (video), all only when the status is Normal (an UploadFail has no source).
Media NewMedia(const LibraryChange& c, const std::string& id, size_t ordinal, int64_t now);
Image NewImage(const LibraryChange& c, const std::string& id, size_t ordinal, int64_t now);

// Applies a modify's fields to `m`; objects it adds or resizes are appended
// to `introduced` with the modification time.
void ModifyMedia(const LibraryChange& c, int64_t now, Media* m, IntroducedObjects* introduced);
// Returns true when the image file was given a new size.
bool ModifyImage(const LibraryChange& c, int64_t now, Image* img);

// The size of a snapshot-like object (cover, snapshot, sprite) a change
// made, from its key.
uint64_t ChangeImageObjectSize(std::string_view key);
// The size of segment k of a synthetic m3u8 stream made by a change.
uint64_t ChangeSegmentSize(const Stream& s, size_t k);

}  // namespace vodfs::emu
