// Clock: the only source of "now" and the only way to sleep.
//
// Code that reasons about time (URL expiry, TTLs, backoff, rate limits) takes
// a Clock& so tests can drive it with FakeClock. Two readings are offered:
// monotonic time for intervals, and wall time (Unix seconds) for anything
// compared with a server (signing timestamps, URL expiry).
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>

#include "vodfs/util/mutex.h"

namespace vodfs {

using MonoTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Duration = std::chrono::nanoseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime Now() const = 0;
  virtual WallTime WallNow() const = 0;
  // Blocks the calling thread for `d` of this clock's time.
  virtual void SleepFor(Duration d) = 0;

  // Unix time in whole seconds.
  int64_t UnixNow() const {
    return std::chrono::duration_cast<std::chrono::seconds>(WallNow().time_since_epoch()).count();
  }
};

// The real clocks.
class SystemClock final : public Clock {
 public:
  MonoTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  void SleepFor(Duration d) override;

  // A process-wide instance for composition roots.
  static SystemClock& Get();
};

// A clock that moves only when told to. SleepFor() advances the clock by the
// requested amount at once (so retry loops run instantly in tests) and
// records the total slept time.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t unix_seconds = 1700000000);

  MonoTime Now() const override;
  WallTime WallNow() const override;
  void SleepFor(Duration d) override;

  void Advance(Duration d);
  void SetUnix(int64_t unix_seconds);
  Duration total_slept() const;

 private:
  mutable Mutex mu_;
  MonoTime mono_ GUARDED_BY(mu_);
  WallTime wall_ GUARDED_BY(mu_);
  Duration slept_ GUARDED_BY(mu_){0};
};

}  // namespace vodfs
