// Inode numbers: stable across remounts and machines, and decodable without
// a table (the kernel may ask about any inode it was ever told of).
//
//   1..15                 fixed nodes (root, videos/, audio/, images/, ...)
//   prefix << 16 | local  everything else: `prefix` is the 48-bit inode
//                         prefix of an index entry (a medium, an image) or
//                         of a category (bit 47 set), `local` a node of it:
//     0                   the entry itself (a medium's directory, an image file,
//                         a category's directory)
//     1..0xFFFD           a file or directory inside a medium's directory
//     0xFFFE              the entry's by-id/ symlink
//     0xFFFF              a medium's symlink in its category's directory
#pragma once

#include <cstdint>

namespace vodfs::ns {

using Ino = uint64_t;

inline constexpr Ino kRootIno = 1;
inline constexpr Ino kVideosIno = 2;
inline constexpr Ino kAudioIno = 3;
inline constexpr Ino kImagesIno = 4;
inline constexpr Ino kCategoriesIno = 5;
inline constexpr Ino kByIdIno = 6;
inline constexpr Ino kControlIno = 7;
inline constexpr Ino kStatsIno = 8;
inline constexpr Ino kVersionIno = 9;
inline constexpr Ino kLastFixedIno = 15;

inline constexpr uint16_t kSelfLocal = 0;
inline constexpr uint16_t kFirstLocal = 1;
inline constexpr uint16_t kLastLocal = 0xFFFD;
inline constexpr uint16_t kByIdLocal = 0xFFFE;
inline constexpr uint16_t kCategoryLinkLocal = 0xFFFF;

// Category prefixes have this bit set; index entries never do.
inline constexpr uint64_t kCategoryPrefixBit = 1ULL << 47;

inline constexpr Ino MakeIno(uint64_t prefix, uint16_t local) { return (prefix << 16) | local; }
inline constexpr uint64_t PrefixOf(Ino ino) { return ino >> 16; }
inline constexpr uint16_t LocalOf(Ino ino) { return static_cast<uint16_t>(ino & 0xFFFF); }
inline constexpr bool IsFixed(Ino ino) { return ino <= kLastFixedIno; }
inline constexpr bool IsCategory(Ino ino) { return !IsFixed(ino) && (PrefixOf(ino) & kCategoryPrefixBit) != 0; }

}  // namespace vodfs::ns
