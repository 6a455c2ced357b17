#include "vodfs/read/mp4_index.h"

namespace vodfs::read {
namespace {

uint64_t Be(std::string_view s, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

}  // namespace

bool IsIsoMediaName(std::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || name.size() - dot > 5) return false;
  std::string ext;
  for (char c : name.substr(dot + 1)) ext += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  for (const char* known : {"mp4", "m4v", "m4a", "mov", "3gp", "3g2", "f4v"}) {
    if (ext == known) return true;
  }
  return false;
}

std::optional<ByteRange> TrailingMp4Index(std::string_view head, uint64_t file_size, uint64_t max_index) {
  if (head.size() < 8 || head.substr(4, 4) != "ftyp") return std::nullopt;
  uint64_t pos = 0;
  // A handful of top-level boxes come before 'mdat' (ftyp, free, wide,
  // uuid...); give up after a few dozen.
  for (int boxes = 0; boxes < 64 && pos + 8 <= head.size(); ++boxes) {
    uint64_t size = Be(head, pos, 4);
    const std::string_view type = head.substr(pos + 4, 4);
    uint64_t header = 8;
    if (size == 1) {
      if (pos + 16 > head.size()) return std::nullopt;
      size = Be(head, pos + 8, 8);
      header = 16;
    } else if (size == 0) {
      return std::nullopt;  // the box runs to the end of the file
    }
    if (size < header || size > file_size - pos) return std::nullopt;
    if (type == "moov") return std::nullopt;  // the index is at the front
    if (type == "mdat") {
      const uint64_t end = pos + size;
      if (end >= file_size || file_size - end > max_index) return std::nullopt;
      return ByteRange{end, file_size - end};
    }
    pos += size;
  }
  return std::nullopt;
}

}  // namespace vodfs::read
