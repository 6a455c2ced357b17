#include "vodfs/util/crc64.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace vodfs {
namespace {

std::string Data(size_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(g());
  return s;
}

TEST(Crc64Test, KnownValues) {
  // The catalogue's check value of CRC-64/XZ (what OSS sends).
  EXPECT_EQ(Crc64("123456789", 9), 0x995DC9BBDF1939FAULL);
  EXPECT_EQ(Crc64("", 0), 0u);
  // Computed bit by bit by an independent implementation of the same CRC.
  EXPECT_EQ(Crc64("hello", 5), 0x9B1EDAE5DBB937B1ULL);
  const std::string fox = "The quick brown fox jumps over the lazy dog";
  EXPECT_EQ(Crc64(fox.data(), fox.size()), 0x5B5EB8C2E54AA1C4ULL);
}

TEST(Crc64Test, IncrementalEqualsWhole) {
  const std::string d = Data(100003, 1);
  for (size_t cut : {0ul, 1ul, 7ul, 8ul, 9ul, 4096ul, 99999ul, 100003ul}) {
    const uint64_t a = Crc64(d.data(), cut);
    EXPECT_EQ(Crc64(d.data() + cut, d.size() - cut, a), Crc64(d.data(), d.size())) << cut;
  }
}

TEST(Crc64Test, CombiningPiecesGivesTheWhole) {
  const std::string d = Data(300000, 2);
  const uint64_t whole = Crc64(d.data(), d.size());
  for (size_t cut : {1ul, 1000ul, 65536ul, 299999ul}) {
    const uint64_t a = Crc64(d.data(), cut);
    const uint64_t b = Crc64(d.data() + cut, d.size() - cut);
    EXPECT_EQ(Crc64Combine(a, b, d.size() - cut), whole) << cut;
  }
  EXPECT_EQ(Crc64Combine(Crc64(d.data(), 10), 0, 0), Crc64(d.data(), 10));
}

TEST(Crc64Test, BlocksCombineInOrderWhateverOrderTheyCameIn) {
  const size_t bs = 64 << 10;
  const std::string d = Data(bs * 5 + 1234, 3);
  std::vector<uint64_t> blocks;
  for (size_t off = 0; off < d.size(); off += bs) blocks.push_back(Crc64(d.data() + off, std::min(bs, d.size() - off)));
  const Crc64Shift shift(bs);
  uint64_t crc = blocks[0];
  for (size_t i = 1; i + 1 < blocks.size(); ++i) crc = shift.Combine(crc, blocks[i]);
  crc = Crc64Combine(crc, blocks.back(), d.size() % bs);
  EXPECT_EQ(crc, Crc64(d.data(), d.size()));
  // One flipped bit anywhere changes it.
  std::string bad = d;
  bad[bs * 3 + 17] ^= 0x10;
  EXPECT_NE(Crc64(bad.data(), bad.size()), crc);
}

// One bit at a time, straight from the definition (reflected, all-ones
// initial value and final XOR).
uint64_t BitwiseCrc64(const std::string& d) {
  uint64_t c = ~0ULL;
  for (unsigned char b : d) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0xC96C5795D7870F42ULL : c >> 1;
  }
  return ~c;
}

TEST(Crc64Test, EveryLengthAndAlignmentMatchesTheDefinition) {
  // Lengths around every boundary of the folding (16, 64 bytes) and the
  // tables (8 bytes), at every alignment of a 16-byte load.
  const std::string d = Data(4096 + 64, 4);
  for (size_t align = 0; align < 16; ++align) {
    for (size_t n = 0; n <= 300; ++n) {
      const std::string piece = d.substr(align, n);
      ASSERT_EQ(Crc64(piece.data(), piece.size()), BitwiseCrc64(piece)) << "length " << n << " at +" << align;
    }
  }
  const std::string big = d.substr(3, 4096 + 37);
  EXPECT_EQ(Crc64(big.data(), big.size()), BitwiseCrc64(big));
  // Continuing from a previous CRC through the fast path.
  const uint64_t head = Crc64(big.data(), 100);
  EXPECT_EQ(Crc64(big.data() + 100, big.size() - 100, head), BitwiseCrc64(big));
}

}  // namespace
}  // namespace vodfs
