// Mutex, MutexLock and CondVar: std::mutex and std::condition_variable_any
// wrapped as Clang thread-safety capabilities, so that `GUARDED_BY`,
// `REQUIRES` and `EXCLUDES` on real declarations are checked by the compiler
// (-Wthread-safety) instead of being comments. libstdc++'s std::mutex is not
// annotated, which is why the wrapper exists (LevelDB port/port_stdcxx.h).
//
// Thread-safety: these are the synchronisation primitives themselves.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "vodfs/util/thread_annotations.h"

namespace vodfs {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  bool TryLock() TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // Tells the analysis that the caller holds the mutex (no run-time check).
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

  // BasicLockable, for std::condition_variable_any (through CondVar only).
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// Holds a Mutex for its scope. Unlock() and Lock() let go of it and take
// it again inside the scope (around a call that must not hold it).
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() {
    if (held_) mu_->Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() RELEASE() {
    held_ = false;
    mu_->Unlock();
  }
  void Lock() ACQUIRE() {
    mu_->Lock();
    held_ = true;
  }

 private:
  Mutex* const mu_;
  bool held_ = true;
};

// A condition variable used with a Mutex the caller holds.
class CondVar {
 public:
  // REQUIRES: `mu` held; it is released while waiting and held again on return.
  void Wait(Mutex* mu) REQUIRES(mu) { cv_.wait(*mu); }
  // Returns false on timeout.
  template <typename Rep, typename Period>
  bool WaitFor(Mutex* mu, std::chrono::duration<Rep, Period> d) REQUIRES(mu) {
    return cv_.wait_for(*mu, d) == std::cv_status::no_timeout;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable_any cv_;
};

}  // namespace vodfs
