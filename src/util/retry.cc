#include "vodfs/util/retry.h"
#include "vodfs/util/mutex.h"

#include <algorithm>
#include <cmath>

namespace vodfs {

Backoff::Backoff(const RetryOptions& options, uint64_t seed)
    : options_(options), rng_(seed ? seed : std::random_device{}()) {}

Duration Backoff::DelayFor(int retry) { return DelayFor(retry, Duration::zero()); }

Duration Backoff::DelayFor(int retry, Duration at_least) {
  if (retry < 1) retry = 1;
  double cap_ms = static_cast<double>(options_.initial_backoff.count()) *
                  std::pow(options_.multiplier, retry - 1);
  cap_ms = std::min(cap_ms, static_cast<double>(options_.max_backoff.count()));
  double ms;
  {
    MutexLock lock(&mu_);
    std::uniform_real_distribution<double> dist(cap_ms / 2, cap_ms);
    ms = dist(rng_);
  }
  Duration d = std::chrono::microseconds(static_cast<int64_t>(ms * 1000));
  return std::max(d, at_least);
}

}  // namespace vodfs
