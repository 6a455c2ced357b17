#include "vodfs/util/rate_limiter.h"
#include "vodfs/util/mutex.h"

#include <algorithm>

namespace vodfs {

RateLimiter::RateLimiter(Clock& clock, double rate_per_second, double burst)
    : clock_(clock), rate_(rate_per_second), burst_(std::max(1.0, burst)), tat_(clock.Now()) {}

Duration RateLimiter::Reserve() {
  MutexLock lock(&mu_);
  if (rate_ <= 0) return Duration::zero();
  const auto interval = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(1.0 / rate_));
  const MonoTime now = clock_.Now();
  // Allow up to `burst_` events to be scheduled ahead of now.
  const auto tolerance =
      std::chrono::duration_cast<Duration>(interval * (burst_ - 1.0));
  MonoTime start = std::max(tat_, now);
  tat_ = start + interval;
  Duration wait = start - now;
  wait -= tolerance;
  return wait > Duration::zero() ? wait : Duration::zero();
}

void RateLimiter::Acquire() {
  Duration wait = Reserve();
  if (wait > Duration::zero()) clock_.SleepFor(wait);
}

void RateLimiter::SetRate(double rate_per_second) {
  MutexLock lock(&mu_);
  rate_ = rate_per_second;
}

double RateLimiter::rate() const {
  MutexLock lock(&mu_);
  return rate_;
}

}  // namespace vodfs
