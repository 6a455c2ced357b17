// CRC-64/ECMA-182 as OSS computes it for x-oss-hash-crc64ecma (reflected
// polynomial 0xC96C5795D7870F42, initial value and final XOR all ones: the
// CRC-64/XZ of the catalogue, Go's crc64.ECMA), and the combination of the
// CRCs of two adjacent pieces into the CRC of both, so that an object read
// in any order can be checked once every block of it is in.
//
// Thread-safety: pure functions; a Crc64Shift is immutable after construction.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vodfs {

// The CRC of `data` following data whose CRC is `crc` (0: nothing before).
uint64_t Crc64(const void* data, size_t n, uint64_t crc = 0);

// The operator that appends `len` bytes: Combine(crc(A), crc(B)) is
// crc(A || B) for every B of `len` bytes. Made once per length (a 64x64
// matrix over GF(2)); each Combine is then 64 steps.
class Crc64Shift {
 public:
  explicit Crc64Shift(uint64_t len);
  uint64_t Combine(uint64_t crc_a, uint64_t crc_b) const;
  uint64_t length() const { return len_; }

 private:
  uint64_t len_;
  uint64_t m_[64];  // the matrix appending len_ zero bytes
};

// crc(A || B) from crc(A), crc(B) and the length of B.
uint64_t Crc64Combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b);

}  // namespace vodfs
