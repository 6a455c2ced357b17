#include "vodfs/util/crc64.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

// The register after `n` bytes from register `c` (no pre- or post-inversion).
uint64_t TableCrc(const unsigned char* p, size_t n, uint64_t c) {
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
  return c;
}

#if defined(__x86_64__)

// Folding with carry-less multiplication (PCLMULQDQ), after Intel's "Fast
// CRC Computation for Generic Polynomials Using PCLMULQDQ".
//
// In the reflected bit order a 16-byte piece X loaded little-endian holds
// its higher-degree half H in the low quadword and its lower half L in the
// high one. Appending k more bits to X multiplies it by x^k; modulo P that
// is H*(x^(k+64) mod P) + L*(x^k mod P), two products of 64-bit
// polynomials that fit 128 bits again. A carry-less product of reflected
// operands comes out shifted by one degree, hence the constants are of
// x^(k+63) and x^(k-1). Four pieces are folded side by side (k = 512) to
// keep the multiplier busy, then into one (k = 128). What is left (128
// bits congruent to everything so far, and a tail shorter than 16 bytes)
// is finished with the tables: the table CRC of bytes B from a zero
// register is B*x^64 mod P whatever B is congruent to.

constexpr uint64_t kPolyNormal = 0x42F0E1EBA9EA3693ULL;  // ECMA-182, x^64 implied

constexpr uint64_t Reflect64(uint64_t v) {
  uint64_t r = 0;
  for (int i = 0; i < 64; ++i) r |= ((v >> i) & 1) << (63 - i);
  return r;
}

// x^n mod P, reflected.
constexpr uint64_t XPowModP(unsigned n) {
  uint64_t r = 1;
  for (unsigned i = 0; i < n; ++i) r = (r & (1ULL << 63)) ? (r << 1) ^ kPolyNormal : r << 1;
  return Reflect64(r);
}

constexpr uint64_t kFold512Hi = XPowModP(512 + 63), kFold512Lo = XPowModP(512 - 1);
constexpr uint64_t kFold128Hi = XPowModP(128 + 63), kFold128Lo = XPowModP(128 - 1);

__attribute__((target("pclmul,sse4.1"))) inline __m128i Fold(__m128i x, __m128i k, __m128i d) {
  return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), d);
}

// REQUIRES: n >= 64.
__attribute__((target("pclmul,sse4.1"))) uint64_t ClmulCrc(const unsigned char* p, size_t n, uint64_t c) {
  auto load = [](const unsigned char* q) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(q)); };
  __m128i x0 = _mm_xor_si128(load(p), _mm_set_epi64x(0, static_cast<int64_t>(c)));
  __m128i x1 = load(p + 16), x2 = load(p + 32), x3 = load(p + 48);
  p += 64;
  n -= 64;
  const __m128i k512 = _mm_set_epi64x(static_cast<int64_t>(kFold512Lo), static_cast<int64_t>(kFold512Hi));
  while (n >= 64) {
    x0 = Fold(x0, k512, load(p));
    x1 = Fold(x1, k512, load(p + 16));
    x2 = Fold(x2, k512, load(p + 32));
    x3 = Fold(x3, k512, load(p + 48));
    p += 64;
    n -= 64;
  }
  const __m128i k128 = _mm_set_epi64x(static_cast<int64_t>(kFold128Lo), static_cast<int64_t>(kFold128Hi));
  __m128i x = Fold(Fold(Fold(x0, k128, x1), k128, x2), k128, x3);
  while (n >= 16) {
    x = Fold(x, k128, load(p));
    p += 16;
    n -= 16;
  }
  alignas(16) unsigned char rest[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(rest), x);
  return TableCrc(p, n, TableCrc(rest, 16, 0));
}

const bool kHasClmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");

#endif

}  // namespace

uint64_t Crc64(const void* data, size_t n, uint64_t crc) {
  const auto* p = static_cast<const unsigned char*>(data);
#if defined(__x86_64__)
  if (n >= 64 && kHasClmul) return ~ClmulCrc(p, n, ~crc);
#endif
  return ~TableCrc(p, n, ~crc);
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
