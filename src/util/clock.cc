#include "vodfs/util/clock.h"
#include "vodfs/util/mutex.h"

#include <thread>

namespace vodfs {

void SystemClock::SleepFor(Duration d) {
  if (d > Duration::zero()) std::this_thread::sleep_for(d);
}

SystemClock& SystemClock::Get() {
  static SystemClock clock;
  return clock;
}

FakeClock::FakeClock(int64_t unix_seconds)
    : mono_(MonoTime() + std::chrono::hours(24)),
      wall_(WallTime() + std::chrono::seconds(unix_seconds)) {}

MonoTime FakeClock::Now() const {
  MutexLock lock(&mu_);
  return mono_;
}

WallTime FakeClock::WallNow() const {
  MutexLock lock(&mu_);
  return wall_;
}

void FakeClock::SleepFor(Duration d) {
  MutexLock lock(&mu_);
  if (d <= Duration::zero()) return;
  mono_ += d;
  wall_ += std::chrono::duration_cast<WallTime::duration>(d);
  slept_ += d;
}

void FakeClock::Advance(Duration d) {
  MutexLock lock(&mu_);
  mono_ += d;
  wall_ += std::chrono::duration_cast<WallTime::duration>(d);
}

void FakeClock::SetUnix(int64_t unix_seconds) {
  MutexLock lock(&mu_);
  wall_ = WallTime() + std::chrono::seconds(unix_seconds);
}

Duration FakeClock::total_slept() const {
  MutexLock lock(&mu_);
  return slept_;
}

}  // namespace vodfs
