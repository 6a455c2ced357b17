// Executor: a fixed pool of worker threads running posted tasks in FIFO
// order. Used for refresh-ahead of URLs, parallel metadata fetches and
// read-ahead.
//
// Threads start in Start(), not in the constructor, so that objects can be
// built before a daemonising fork (threads do not survive fork()).
//
// Thread-safety: Post() and Stop() may be called from any thread.
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "vodfs/util/mutex.h"

namespace vodfs {

class Executor {
 public:
  explicit Executor(size_t threads, std::string name = "worker");
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  void Start();
  // Runs `task` on a worker. Before Start() (or after Stop()) the task runs
  // at once on the calling thread, so callers never lose work.
  void Post(std::function<void()> task);
  // Finishes queued tasks, then joins the workers.
  void Stop();
  size_t queued() const;

 private:
  void Loop();
  const size_t n_;
  std::string name_;
  mutable Mutex mu_;
  CondVar cv_;
  std::deque<std::function<void()>> tasks_ GUARDED_BY(mu_);
  std::vector<std::thread> threads_ GUARDED_BY(mu_);
  bool running_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
};

}  // namespace vodfs
