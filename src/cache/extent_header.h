// The header of a disk-tier extent file (see disk_tier.h for the layout):
// the first 4 KiB of every <hash>-<n>.ext, read back when the cache opens.
//
// Offsets (little-endian):
//   0  magic "VODFSEX2"       8 block size (u32)    12 blocks per extent (u32)
//   16 extent index (u64)     24 object size (u64)
//   32 the origin's CRC-64 of the whole object (u64, if flag 2)
//   40 flags (u32): 1 = the object was verified whole, 2 = its CRC-64 is known
//   48 lengths of the object, reference, ETag and Last-Modified (u16 each)
//   56 those four strings, back to back (up to offset 1024)
//   1024 one 24-byte record per block: length (u32), CRC-32C (u32),
//        CRC-64 (u64) and a check word binding the three to the block's
//        position (u64). 128 records end at 4096.
//
// The bytes come from a file anyone with access to the cache directory
// could have written, so parsing trusts nothing in them. Parsing and
// encoding are pure functions, apart from the file they are read from.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vodfs/cache/version_store.h"

namespace vodfs::cache {

inline constexpr size_t kExtentHeaderSize = 4096;
inline constexpr size_t kExtentRecordsOffset = 1024;
inline constexpr size_t kExtentRecordSize = 24;
inline constexpr size_t kExtentFlagsOffset = 40;
inline constexpr uint32_t kExtentVerified = 1;
inline constexpr uint32_t kExtentHasCrc64 = 2;

struct ExtentHeader {
  uint32_t block_size = 0;
  uint32_t bpe = 0;  // blocks per extent, 1..128
  uint64_t index = 0;
  bool verified = false;
  std::string object, ref;
  StoredVersion version;
  // Per block (bpe entries once parsed): its length, CRC-32C and CRC-64;
  // a length of 0 is a block without a valid record.
  std::vector<uint32_t> len, crc;
  std::vector<uint64_t> crc64;
};

// Parses the first kExtentHeaderSize bytes of an extent file. False if
// they are not an extent header (too short, another magic, a block count
// out of range, strings running into the records). A record whose check
// fails, or whose length is 0 or exceeds the block size, reads as no block.
bool ParseExtentHeader(std::string_view bytes, ExtentHeader* out);

// The kExtentHeaderSize bytes of `h`, with a record for each block of
// non-zero length in h.len/h.crc/h.crc64. Identity strings too long to
// fit are all left out (the extent then has no identity).
std::string EncodeExtentHeader(const ExtentHeader& h);

// The record of one block (kExtentRecordSize bytes) at `position` (its
// block index in the object).
std::string EncodeExtentRecord(uint32_t len, uint32_t crc, uint64_t crc64, uint64_t position);

}  // namespace vodfs::cache
