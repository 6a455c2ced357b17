// RateLimiter: spaces events at most `rate` per second (GCRA, no burst
// beyond `burst` events), shared by any number of threads.
//
// A server that enforces "N per second" with a token bucket of capacity N
// never throttles a client that spaces its calls at 1/N apart, whatever the
// network jitter, which is why the client side allows only a small burst.
#pragma once


#include "vodfs/util/clock.h"
#include "vodfs/util/mutex.h"

namespace vodfs {

class RateLimiter {
 public:
  // rate <= 0 means unlimited.
  RateLimiter(Clock& clock, double rate_per_second, double burst = 1.0);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Blocks until the caller may proceed.
  void Acquire();
  // Returns how long the caller would have to wait, reserving the slot.
  Duration Reserve();
  void SetRate(double rate_per_second);
  double rate() const;

 private:
  Clock& clock_;
  mutable Mutex mu_;
  double rate_ GUARDED_BY(mu_);
  double burst_ GUARDED_BY(mu_);
  MonoTime tat_ GUARDED_BY(mu_);  // theoretical arrival time of the next event
};

}  // namespace vodfs
