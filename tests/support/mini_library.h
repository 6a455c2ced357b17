// A small manifest library written to a temp dir for tests: every shape the
// emulator supports (statuses, HLS, encrypted and invisible streams,
// snapshots, sprites, audio, images, three category levels, hostile
// titles), with small deterministic file contents.
#pragma once

#include <string>

#include "support/temp_dir.h"

namespace vodfs::testing {

struct MiniLibraryIds {
  std::string full;         // Normal video: source, LD/HD mp4, SD m3u8 (3 segments), snapshots
  std::string invisible;    // Normal video with an older Invisible LD stream
  std::string encrypted;    // only an AliyunVoDEncryption stream
  std::string transcoding;  // status Transcoding: source only
  std::string failed;       // status UploadFail: nothing
  std::string audio;        // audio-only media
  std::string slash;        // title with '/'
  std::string image1, image2;
};

// Writes the library into dir.path() and returns its ids.
MiniLibraryIds WriteMiniLibrary(const TempDir& dir);

// Deterministic file content used by the mini library.
std::string MiniContent(const std::string& name, size_t size);

}  // namespace vodfs::testing
