#include "vodfs/util/crc64.h"

#include <array>
#include <cstring>

namespace vodfs {

namespace {

constexpr uint64_t kPoly = 0xC96C5795D7870F42ULL;  // ECMA-182, reflected

// Slicing by 8: eight tables of 256, one byte of an 8-byte word each.
struct Tables {
  uint64_t t[8][256];
  constexpr Tables() : t{} {
    for (uint64_t i = 0; i < 256; ++i) {
      uint64_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
      t[0][i] = c;
    }
    for (int k = 1; k < 8; ++k) {
      for (int i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
    }
  }
};
constexpr Tables kTables;

uint64_t Times(const uint64_t* mat, uint64_t vec) {
  uint64_t sum = 0;
  for (int i = 0; vec; ++i, vec >>= 1) {
    if (vec & 1) sum ^= mat[i];
  }
  return sum;
}

void Square(uint64_t* out, const uint64_t* mat) {
  for (int n = 0; n < 64; ++n) out[n] = Times(mat, mat[n]);
}

}  // namespace

uint64_t Crc64(const void* data, size_t n, uint64_t crc) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t c = ~crc;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);  // little-endian hosts (x86-64, aarch64)
    c ^= w;
    c = kTables.t[7][c & 0xff] ^ kTables.t[6][(c >> 8) & 0xff] ^ kTables.t[5][(c >> 16) & 0xff] ^
        kTables.t[4][(c >> 24) & 0xff] ^ kTables.t[3][(c >> 32) & 0xff] ^ kTables.t[2][(c >> 40) & 0xff] ^
        kTables.t[1][(c >> 48) & 0xff] ^ kTables.t[0][c >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) c = kTables.t[0][(c ^ *p++) & 0xff] ^ (c >> 8);
  return ~c;
}

Crc64Shift::Crc64Shift(uint64_t len) : len_(len) {
  // The zlib construction (crc32_combine): an operator for one zero bit,
  // squared to 2, 4, 8... zero bits, multiplied in for the bits of len*8.
  uint64_t odd[64], even[64];
  odd[0] = kPoly;
  uint64_t row = 1;
  for (int n = 1; n < 64; ++n, row <<= 1) odd[n] = row;
  Square(even, odd);  // 2 zero bits
  Square(odd, even);  // 4 zero bits
  // m_ starts as the identity and gathers the powers len needs.
  for (int n = 0; n < 64; ++n) m_[n] = 1ULL << n;
  uint64_t bytes = len;
  uint64_t tmp[64];
  while (bytes) {
    Square(even, odd);  // 8, 32, 128... zero bits
    if (bytes & 1) {
      for (int n = 0; n < 64; ++n) tmp[n] = Times(even, m_[n]);
      std::memcpy(m_, tmp, sizeof(m_));
    }
    bytes >>= 1;
    if (!bytes) break;
    Square(odd, even);
    if (bytes & 1) {
      for (int n = 0; n < 64; ++n) tmp[n] = Times(odd, m_[n]);
      std::memcpy(m_, tmp, sizeof(m_));
    }
    bytes >>= 1;
  }
}

uint64_t Crc64Shift::Combine(uint64_t crc_a, uint64_t crc_b) const {
  if (len_ == 0) return crc_a;
  return Times(m_, crc_a) ^ crc_b;
}

uint64_t Crc64Combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b) {
  return Crc64Shift(len_b).Combine(crc_a, crc_b);
}

}  // namespace vodfs
