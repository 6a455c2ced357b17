#include "vodfs/util/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace vodfs {
namespace {

TEST(Crc32cTest, KnownValues) {
  // RFC 3720 B.4 test vectors.
  std::string zeros(32, '\0');
  EXPECT_EQ(Crc32c(zeros.data(), zeros.size()), 0x8a9136aaU);
  std::string ones(32, '\xff');
  EXPECT_EQ(Crc32c(ones.data(), ones.size()), 0x62a8ab43U);
  std::string inc;
  for (int i = 0; i < 32; ++i) inc.push_back(static_cast<char>(i));
  EXPECT_EQ(Crc32c(inc.data(), inc.size()), 0x46dd794eU);
  EXPECT_EQ(Crc32c("123456789", 9), 0xe3069283U);
}

TEST(Crc32cTest, IncrementalEqualsWhole) {
  std::string data(10007, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + 7);
  uint32_t whole = Crc32c(data.data(), data.size());
  uint32_t part = Crc32c(data.data(), 1234);
  part = Crc32c(data.data() + 1234, data.size() - 1234, part);
  EXPECT_EQ(whole, part);
}

}  // namespace
}  // namespace vodfs
