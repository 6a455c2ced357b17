#include "vodfs/util/executor.h"

#include <pthread.h>

namespace vodfs {

Executor::Executor(size_t threads, std::string name) : n_(threads ? threads : 1), name_(std::move(name)) {}

Executor::~Executor() { Stop(); }

void Executor::Start() {
  MutexLock lock(&mu_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  for (size_t i = 0; i < n_; ++i) {
    threads_.emplace_back([this] { Loop(); });
    pthread_setname_np(threads_.back().native_handle(), name_.substr(0, 15).c_str());
  }
}

void Executor::Post(std::function<void()> task) {
  {
    MutexLock lock(&mu_);
    if (running_ && !stopping_) {
      tasks_.push_back(std::move(task));
      cv_.Signal();
      return;
    }
  }
  task();
}

void Executor::Stop() {
  std::vector<std::thread> threads;
  {
    MutexLock lock(&mu_);
    if (!running_) return;
    stopping_ = true;
    threads.swap(threads_);
  }
  cv_.SignalAll();
  for (auto& t : threads) t.join();
  MutexLock lock(&mu_);
  running_ = false;
}

size_t Executor::queued() const {
  MutexLock lock(&mu_);
  return tasks_.size();
}

void Executor::Loop() {
  while (true) {
    std::function<void()> task;
    {
      MutexLock lock(&mu_);
      while (!stopping_ && tasks_.empty()) cv_.Wait(&mu_);
      if (tasks_.empty()) return;  // stopping and drained
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace vodfs
