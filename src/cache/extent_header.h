// The header of a disk-tier extent file (see disk_tier.h for the layout):
// the first 4 KiB of every <hash>-<n>.ext, read back when the cache opens.
//
// Offsets (little-endian):
//   0  magic "VODFSEX1"       8 block size (u32)    12 blocks per extent (u32)
//   16 extent index (u64)     24 object size (u64)
//   32 lengths of the object, reference, ETag and Last-Modified (u16 each)
//   40 those four strings, back to back (up to offset 2048)
//   2048 one 16-byte record per block: length (u32), CRC-32C (u32) and a
//        check word binding both to the block's position (u64)
//
// The bytes come from a file anyone with access to the cache directory
// could have written, so parsing trusts nothing in them. Parsing and
// encoding are pure functions, apart from the file they are read from.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vodfs/cache/disk_tier.h"

namespace vodfs::cache {

inline constexpr size_t kExtentHeaderSize = 4096;

struct ExtentHeader {
  uint32_t block_size = 0;
  uint32_t bpe = 0;  // blocks per extent, 1..128
  uint64_t index = 0;
  std::string object, ref;
  StoredVersion version;
  // Per block (bpe entries once parsed): its length and CRC-32C; a length
  // of 0 is a block without a valid record.
  std::vector<uint32_t> len, crc;
};

// Parses the first kExtentHeaderSize bytes of an extent file. False if
// they are not an extent header (too short, another magic, a block count
// out of range, strings running into the records). A record whose check
// fails, or whose length is 0 or exceeds the block size, reads as no block.
bool ParseExtentHeader(std::string_view bytes, ExtentHeader* out);

// The kExtentHeaderSize bytes of `h`, with a record for each block of
// non-zero length in h.len/h.crc. Identity strings too long to fit are all
// left out (the extent then has no identity, as when it was first written).
std::string EncodeExtentHeader(const ExtentHeader& h);

}  // namespace vodfs::cache
