// Where an ISO BMFF file (MP4, MOV, M4A, 3GP) keeps its index, judged from
// its first bytes. A file written without "faststart" has its 'moov' box
// after the media data: a player reads the head, jumps to the end for the
// index, and comes back. Knowing that from the head lets the index be
// fetched while the head is still arriving.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vodfs::read {

struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};

// The range from the end of the top-level 'mdat' box to the end of the
// file, if `head` (the file's first bytes, at least the boxes before
// 'mdat') shows an ISO BMFF file whose index follows its media data and
// that range is at most `max_index` bytes. Nothing for other files, a
// 'moov' before 'mdat', an 'mdat' that runs to the end, or malformed boxes.
std::optional<ByteRange> TrailingMp4Index(std::string_view head, uint64_t file_size,
                                          uint64_t max_index = 64ULL << 20);

// Whether a file name carries an ISO BMFF extension (mp4, m4v, m4a, mov,
// 3gp, 3g2, f4v; any case): such a file may keep its index at its end.
bool IsIsoMediaName(std::string_view name);

}  // namespace vodfs::read
