// Retry policy: bounded attempts with exponential backoff and full jitter.
//
// Used by the API client and the media fetcher. Whether an error is worth
// retrying is decided by the caller; this only decides how long to wait.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

#include "vodfs/util/clock.h"
#include "vodfs/util/mutex.h"

namespace vodfs {

struct RetryOptions {
  int max_attempts = 5;  // total attempts including the first
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  double multiplier = 2.0;
  // Total time budget across attempts; a retry that would start after the
  // budget is not made.
  std::chrono::milliseconds budget{60000};
};

class Backoff {
 public:
  explicit Backoff(const RetryOptions& options, uint64_t seed = 0);
  // Delay before retry number `retry` (1 = first retry): uniform in
  // [cap/2, cap] where cap = min(max_backoff, initial * multiplier^(retry-1)).
  // Half-jitter keeps retries spread out without ever retrying at once.
  Duration DelayFor(int retry);
  // A server-provided floor (e.g. Retry-After) raises the delay.
  Duration DelayFor(int retry, Duration at_least);

 private:
  RetryOptions options_;
  Mutex mu_;
  std::mt19937_64 rng_ GUARDED_BY(mu_);
};

}  // namespace vodfs
