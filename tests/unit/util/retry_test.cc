#include "vodfs/util/retry.h"

#include <gtest/gtest.h>

namespace vodfs {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, GrowsWithinHalfJitterBoundsAndCaps) {
  RetryOptions o;
  o.initial_backoff = milliseconds(100);
  o.max_backoff = milliseconds(1000);
  Backoff b(o, 42);
  for (int trial = 0; trial < 200; ++trial) {
    for (int retry = 1; retry <= 8; ++retry) {
      double cap = std::min(1000.0, 100.0 * (1 << (retry - 1)));
      auto d = std::chrono::duration<double, std::milli>(b.DelayFor(retry)).count();
      EXPECT_GE(d, cap / 2 - 0.01);
      EXPECT_LE(d, cap + 0.01);
    }
  }
}

TEST(BackoffTest, ServerFloorWins) {
  RetryOptions o;
  Backoff b(o, 1);
  EXPECT_GE(b.DelayFor(1, std::chrono::seconds(3)), std::chrono::seconds(3));
}

}  // namespace
}  // namespace vodfs
