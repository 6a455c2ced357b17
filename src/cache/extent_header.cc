#include "cache/extent_header.h"

#include <cstring>

#include "vodfs/util/strings.h"

namespace vodfs::cache {

namespace {

constexpr char kMagic[8] = {'V', 'O', 'D', 'F', 'S', 'E', 'X', '2'};
constexpr size_t kLengthsOffset = 48;
constexpr size_t kStringsOffset = 56;
constexpr uint64_t kCheckSalt = 0x766f646673626c6bULL;
constexpr uint32_t kMaxBlocksPerExtent = (kExtentHeaderSize - kExtentRecordsOffset) / kExtentRecordSize;
static_assert(kMaxBlocksPerExtent == 128);

uint64_t Check(uint32_t len, uint32_t crc, uint64_t crc64, uint64_t position) {
  return str::Mix64(str::Mix64(len ^ kCheckSalt) ^ (static_cast<uint64_t>(crc) << 17) ^ position) ^
         str::Mix64(crc64 + position);
}

template <typename T>
void PutLe(char* p, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
}
template <typename T>
T GetLe(const char* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return static_cast<T>(v);
}

}  // namespace

bool ParseExtentHeader(std::string_view bytes, ExtentHeader* h) {
  if (bytes.size() < kExtentHeaderSize || std::memcmp(bytes.data(), kMagic, 8) != 0) return false;
  const char* buf = bytes.data();
  h->block_size = GetLe<uint32_t>(buf + 8);
  h->bpe = GetLe<uint32_t>(buf + 12);
  h->index = GetLe<uint64_t>(buf + 16);
  h->version.size = GetLe<uint64_t>(buf + 24);
  const uint32_t flags = GetLe<uint32_t>(buf + kExtentFlagsOffset);
  h->verified = (flags & kExtentVerified) != 0;
  h->version.crc64.reset();
  if (flags & kExtentHasCrc64) h->version.crc64 = GetLe<uint64_t>(buf + 32);
  size_t lens[4];
  size_t total = 0;
  for (int i = 0; i < 4; ++i) total += lens[i] = GetLe<uint16_t>(buf + kLengthsOffset + 2 * i);
  if (h->bpe == 0 || h->bpe > kMaxBlocksPerExtent || h->block_size == 0 ||
      kStringsOffset + total > kExtentRecordsOffset) {
    return false;
  }
  const char* p = buf + kStringsOffset;
  std::string* strs[4] = {&h->object, &h->ref, &h->version.etag, &h->version.last_modified};
  for (int i = 0; i < 4; ++i) {
    strs[i]->assign(p, lens[i]);
    p += lens[i];
  }
  h->len.assign(h->bpe, 0);
  h->crc.assign(h->bpe, 0);
  h->crc64.assign(h->bpe, 0);
  for (uint32_t i = 0; i < h->bpe; ++i) {
    const char* r = buf + kExtentRecordsOffset + i * kExtentRecordSize;
    const uint32_t len = GetLe<uint32_t>(r), crc = GetLe<uint32_t>(r + 4);
    const uint64_t crc64 = GetLe<uint64_t>(r + 8), check = GetLe<uint64_t>(r + 16);
    if (len > 0 && len <= h->block_size && check == Check(len, crc, crc64, h->index * h->bpe + i)) {
      h->len[i] = len;
      h->crc[i] = crc;
      h->crc64[i] = crc64;
    }
  }
  return true;
}

std::string EncodeExtentRecord(uint32_t len, uint32_t crc, uint64_t crc64, uint64_t position) {
  std::string r(kExtentRecordSize, '\0');
  PutLe<uint32_t>(r.data(), len);
  PutLe<uint32_t>(r.data() + 4, crc);
  PutLe<uint64_t>(r.data() + 8, crc64);
  PutLe<uint64_t>(r.data() + 16, len == 0 ? 0 : Check(len, crc, crc64, position));
  return r;
}

std::string EncodeExtentHeader(const ExtentHeader& e) {
  std::string out(kExtentHeaderSize, '\0');
  char* h = out.data();
  std::memcpy(h, kMagic, 8);
  PutLe<uint32_t>(h + 8, e.block_size);
  PutLe<uint32_t>(h + 12, e.bpe);
  PutLe<uint64_t>(h + 16, e.index);
  PutLe<uint64_t>(h + 24, e.version.size);
  uint32_t flags = e.verified ? kExtentVerified : 0;
  if (e.version.crc64) {
    flags |= kExtentHasCrc64;
    PutLe<uint64_t>(h + 32, *e.version.crc64);
  }
  PutLe<uint32_t>(h + kExtentFlagsOffset, flags);
  const std::string* strs[4] = {&e.object, &e.ref, &e.version.etag, &e.version.last_modified};
  size_t total = 0;
  for (auto* x : strs) total += x->size();
  if (kStringsOffset + total <= kExtentRecordsOffset) {
    char* p = h + kStringsOffset;
    for (int i = 0; i < 4; ++i) {
      PutLe<uint16_t>(h + kLengthsOffset + 2 * i, static_cast<uint16_t>(strs[i]->size()));
      std::memcpy(p, strs[i]->data(), strs[i]->size());
      p += strs[i]->size();
    }
  }
  for (size_t i = 0; i < e.len.size() && i < e.bpe && i < kMaxBlocksPerExtent; ++i) {
    if (e.len[i] == 0) continue;
    const uint32_t crc = i < e.crc.size() ? e.crc[i] : 0;
    const uint64_t crc64 = i < e.crc64.size() ? e.crc64[i] : 0;
    const std::string r = EncodeExtentRecord(e.len[i], crc, crc64, e.index * e.bpe + i);
    std::memcpy(h + kExtentRecordsOffset + i * kExtentRecordSize, r.data(), r.size());
  }
  return out;
}

}  // namespace vodfs::cache
