// The FUSE adapter: the only libfuse user. Each low-level callback decodes
// its arguments, makes one VodFs call and sends the one reply libfuse
// documents for it; errors go through ToErrno(), the single errno table.
// No exception leaves a callback.
//
// Thread-safety: callbacks run on libfuse's worker threads; kernel cache
// invalidations are queued and sent from a thread of their own, never from
// inside a request (which could deadlock against the kernel's locks).
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "vodfs/core/vodfs.h"
#include "vodfs/ns/namespace.h"
#include "vodfs/util/metrics.h"
#include "vodfs/util/result.h"

struct fuse_session;

namespace vodfs::fusefs {

int ToErrno(ErrorCode code);

// The requests whose latency is measured (from the callback's start to
// its reply).
enum class FuseOp {
  kLookup,
  kGetattr,
  kReadlink,
  kOpen,
  kRead,
  kRelease,
  kOpendir,
  kReaddir,
  kReaddirplus,
  kReleasedir,
  kStatfs,
  kGetxattr,
  kListxattr,
  kCount
};
const char* FuseOpName(FuseOp op);

struct FuseOpLatencies {
  std::array<LatencyHistogram, static_cast<size_t>(FuseOp::kCount)> ops;
  LatencyHistogram& operator[](FuseOp op) { return ops[static_cast<size_t>(op)]; }
  const LatencyHistogram& operator[](FuseOp op) const { return ops[static_cast<size_t>(op)]; }
};

struct SessionOptions {
  std::string mountpoint;
  std::string fsname = "vodfs";
  bool debug = false;
  bool single_thread = false;
  bool allow_other = false;
  bool allow_root = false;
  bool auto_unmount = false;  // unmounted by fusermount3 if the process dies
  unsigned max_threads = 64;
  uint32_t max_read = 1 << 20;
  uint32_t max_readahead = 4 << 20;
  uint32_t max_background = 64;
  FuseOpLatencies* latencies = nullptr;  // where request latencies go, if anywhere
  // Called (on a thread of its own) for each SIGHUP, which then does not
  // stop the mount: what logrotate's postrotate sends.
  std::function<void()> on_hangup;
};

// What every callback gets as userdata.
struct UserData {
  core::VodFs* fs;
  const SessionOptions* options;
};

class Session final : public ns::Notifier {
 public:
  Session(core::VodFs& fs, SessionOptions options);
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Creates the session and mounts it (read-only).
  Status Mount();
  // Detaches from the terminal unless `foreground` (after Mount, before any
  // thread is started).
  Status Daemonize(bool foreground);
  // Serves requests until unmounted or SIGINT/SIGTERM/SIGHUP.
  Status Loop();
  // Unmounts (lazily, so open files do not hold it) and destroys the session.
  void Unmount();

  void InvalidateInode(ns::Ino ino) override;
  void InvalidateEntry(ns::Ino parent, const std::string& name) override;

 private:
  void NotifyLoop();
  // SIGHUP to on_hangup: the handler writes to a pipe that a thread reads.
  void StartHangupThread();
  void StopHangupThread();
  // Raises the kernel's read-ahead of this mount (its backing device info)
  // to max_readahead, where permitted.
  void TuneKernelReadahead();

  core::VodFs& fs_;
  SessionOptions options_;
  UserData userdata_;
  fuse_session* se_ = nullptr;
  bool mounted_ = false;
  bool signals_set_ = false;  // SIGTERM/SIGINT/SIGHUP end the session (from Mount on)
  std::mutex mu_;
  std::condition_variable cv_;
  struct Pending {
    bool entry;  // an entry (parent, name), else an inode
    ns::Ino ino;
    std::string name;
  };
  std::deque<Pending> pending_;
  bool stopping_ = false;
  std::thread notifier_;
  std::thread hangup_;
  int hangup_pipe_[2] = {-1, -1};
};

}  // namespace vodfs::fusefs
