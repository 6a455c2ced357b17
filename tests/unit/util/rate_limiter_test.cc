#include "vodfs/util/rate_limiter.h"

#include <gtest/gtest.h>

namespace vodfs {
namespace {

TEST(RateLimiterTest, SpacesEventsAtTheRate) {
  FakeClock clock;
  RateLimiter rl(clock, 10.0);  // one event per 100 ms
  const MonoTime start = clock.Now();
  for (int i = 0; i < 50; ++i) rl.Acquire();
  // The first event goes at once; 49 more need 4.9 s.
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now() - start).count(),
            4900);
}

TEST(RateLimiterTest, BurstAllowsThatManyAtOnce) {
  FakeClock clock;
  RateLimiter rl(clock, 10.0, 5.0);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(rl.Reserve(), Duration::zero());
  EXPECT_GT(rl.Reserve(), Duration::zero());
}

TEST(RateLimiterTest, NeverMoreThanRatePlusBurstInAnyWindow) {
  FakeClock clock;
  RateLimiter rl(clock, 100.0);
  std::vector<MonoTime> times;
  for (int i = 0; i < 1000; ++i) {
    rl.Acquire();
    times.push_back(clock.Now());
    if (i % 7 == 0) clock.Advance(std::chrono::milliseconds(3));  // idle gaps
  }
  for (size_t i = 0; i + 101 < times.size(); ++i) {
    // 102 consecutive events span at least 1 s at 100/s with burst 1.
    EXPECT_GE(times[i + 101] - times[i], std::chrono::seconds(1));
  }
}

TEST(RateLimiterTest, UnlimitedNeverWaits) {
  FakeClock clock;
  RateLimiter rl(clock, 0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(rl.Reserve(), Duration::zero());
}

}  // namespace
}  // namespace vodfs
