#define FUSE_USE_VERSION 312
#include "fuse/fuse_adapter.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "vodfs/util/log.h"

namespace vodfs::fusefs {

int ToErrno(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return 0;
    case ErrorCode::kCancelled: return EINTR;
    case ErrorCode::kInvalidArgument: return EINVAL;
    case ErrorCode::kNotFound: return ENOENT;
    case ErrorCode::kAlreadyExists: return EEXIST;
    case ErrorCode::kPermissionDenied: return EACCES;
    case ErrorCode::kUnauthenticated: return EACCES;
    case ErrorCode::kResourceExhausted: return ENOMEM;
    case ErrorCode::kUnimplemented: return ENOSYS;
    case ErrorCode::kReadOnly: return EROFS;
    case ErrorCode::kNotADirectory: return ENOTDIR;
    case ErrorCode::kIsADirectory: return EISDIR;
    case ErrorCode::kStale: return ESTALE;
    case ErrorCode::kOutOfRange: return EINVAL;
    case ErrorCode::kUnknown:
    case ErrorCode::kDeadlineExceeded:
    case ErrorCode::kFailedPrecondition:
    case ErrorCode::kAborted:
    case ErrorCode::kInternal:
    case ErrorCode::kUnavailable:
    case ErrorCode::kDataLoss:
    case ErrorCode::kUrlExpired:
    case ErrorCode::kThrottled:
    case ErrorCode::kBadResponse:
      return EIO;
  }
  return EIO;
}

const char* FuseOpName(FuseOp op) {
  switch (op) {
    case FuseOp::kLookup:
      return "lookup";
    case FuseOp::kGetattr:
      return "getattr";
    case FuseOp::kReadlink:
      return "readlink";
    case FuseOp::kOpen:
      return "open";
    case FuseOp::kRead:
      return "read";
    case FuseOp::kRelease:
      return "release";
    case FuseOp::kOpendir:
      return "opendir";
    case FuseOp::kReaddir:
      return "readdir";
    case FuseOp::kReaddirplus:
      return "readdirplus";
    case FuseOp::kReleasedir:
      return "releasedir";
    case FuseOp::kStatfs:
      return "statfs";
    case FuseOp::kGetxattr:
      return "getxattr";
    case FuseOp::kListxattr:
      return "listxattr";
    case FuseOp::kCount:
      break;
  }
  return "unknown";
}

namespace {

core::VodFs& Fs(fuse_req_t req) { return *static_cast<UserData*>(fuse_req_userdata(req))->fs; }

void ReplyError(fuse_req_t req, const Error& e, const char* op) {
  const int err = ToErrno(e.code);
  if (err == EIO || err == ESTALE || err == EACCES) {
    VODFS_LOG(kWarn) << op << ": " << e.ToString();
  } else {
    VODFS_LOG(kDebug) << op << ": " << e.ToString();
  }
  fuse_reply_err(req, err);
}

// Runs a callback body, timing it; an escaping exception becomes EIO.
template <typename F>
void Checked(fuse_req_t req, FuseOp which, F&& body) {
  const char* op = FuseOpName(which);
  FuseOpLatencies* latencies = static_cast<UserData*>(fuse_req_userdata(req))->options->latencies;
  std::optional<ScopedLatency> timer;
  if (latencies) timer.emplace((*latencies)[which]);
  try {
    body();
  } catch (const std::exception& e) {
    VODFS_LOG(kError) << op << ": unexpected exception: " << e.what();
    fuse_reply_err(req, EIO);
  } catch (...) {
    VODFS_LOG(kError) << op << ": unexpected exception";
    fuse_reply_err(req, EIO);
  }
}

struct stat ToStat(const core::Attr& a) {
  struct stat st {};
  st.st_ino = a.ino;
  st.st_mode = a.mode;
  st.st_nlink = a.nlink;
  st.st_uid = a.uid;
  st.st_gid = a.gid;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blksize = a.blksize;
  st.st_blocks = static_cast<blkcnt_t>(a.blocks);
  st.st_mtim.tv_sec = a.mtime;
  st.st_atim.tv_sec = a.mtime;
  st.st_ctim.tv_sec = a.mtime;
  return st;
}

fuse_entry_param ToEntry(const core::Entry& e) {
  fuse_entry_param p{};
  p.ino = e.attr.ino;
  p.generation = 1;  // inode numbers are never reused while mounted
  p.attr = ToStat(e.attr);
  p.attr_timeout = e.attr_timeout;
  p.entry_timeout = e.entry_timeout;
  return p;
}

void OpInit(void* userdata, fuse_conn_info* conn) {
  const SessionOptions* opts = static_cast<UserData*>(userdata)->options;
  // Readdirplus where attributes are used (ls -l, find -type), plain
  // readdir where they are not: `ls -f` of 2,000,000 entries then makes the
  // kernel build no inodes for them.
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  if (conn->capable & FUSE_CAP_READDIRPLUS_AUTO) conn->want |= FUSE_CAP_READDIRPLUS_AUTO;
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;  // vodfs says when content changes
  conn->max_read = opts->max_read;  // must equal the max_read mount option
  if (opts->max_readahead) conn->max_readahead = opts->max_readahead;
  // Reads of up to 1 MiB per request need max_pages = 256, which libfuse
  // derives from max_write; it already defaults to its 1 MiB buffer.
  conn->max_background = opts->max_background;
  conn->congestion_threshold = opts->max_background * 3 / 4;
  conn->time_gran = 1000000000;  // whole seconds
}

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Checked(req, FuseOp::kLookup, [&] {
    auto r = Fs(req).Lookup(parent, name);
    if (r.ok()) {
      fuse_entry_param p = ToEntry(*r);
      fuse_reply_entry(req, &p);
    } else if (r.code() == ErrorCode::kNotFound) {
      // A negative entry: the kernel remembers the absence for a while.
      fuse_entry_param p{};
      p.entry_timeout = Fs(req).negative_timeout();
      fuse_reply_entry(req, &p);
    } else {
      ReplyError(req, r.error(), "lookup");
    }
  });
}

void OpForget(fuse_req_t req, fuse_ino_t, uint64_t) { fuse_reply_none(req); }
void OpForgetMulti(fuse_req_t req, size_t, fuse_forget_data*) { fuse_reply_none(req); }

void OpGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Checked(req, FuseOp::kGetattr, [&] {
    auto r = Fs(req).GetAttr(ino);
    if (!r.ok()) return ReplyError(req, r.error(), "getattr");
    struct stat st = ToStat(*r);
    fuse_reply_attr(req, &st, Fs(req).options().attr_timeout);
  });
}

void OpReadlink(fuse_req_t req, fuse_ino_t ino) {
  Checked(req, FuseOp::kReadlink, [&] {
    auto r = Fs(req).ReadLink(ino);
    if (!r.ok()) return ReplyError(req, r.error(), "readlink");
    fuse_reply_readlink(req, r->c_str());
  });
}

void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Checked(req, FuseOp::kOpen, [&] {
    auto r = Fs(req).Open(ino, fi->flags);
    if (!r.ok()) return ReplyError(req, r.error(), "open");
    fi->fh = r->fh;
    fi->keep_cache = r->keep_cache;
    fi->direct_io = r->direct_io;
    fi->noflush = 1;
    fuse_reply_open(req, fi);
  });
}

void OpRead(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  Checked(req, FuseOp::kRead, [&] {
    // The reply is gathered straight from the cached blocks: no copy here.
    auto r = Fs(req).ReadRef(fi->fh, static_cast<uint64_t>(off), size);
    if (!r.ok()) return ReplyError(req, r.error(), "read");
    thread_local std::vector<iovec> iov;
    iov.clear();
    for (const auto& p : r->pieces) iov.push_back({const_cast<char*>(p.data), p.size});
    fuse_reply_iov(req, iov.data(), static_cast<int>(iov.size()));
  });
}

void OpRelease(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Checked(req, FuseOp::kRelease, [&] {
    Fs(req).Release(fi->fh);
    fuse_reply_err(req, 0);
  });
}

void OpOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Checked(req, FuseOp::kOpendir, [&] {
    auto r = Fs(req).OpenDir(ino);
    if (!r.ok()) return ReplyError(req, r.error(), "opendir");
    fi->fh = *r;
    fi->cache_readdir = 0;
    fuse_reply_open(req, fi);
  });
}

void ReadDir(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi, bool plus) {
  // No entry takes less than 32 bytes of the reply (a 24-byte header and a
  // name, 8-aligned): more than size/32 entries never fit.
  auto r = Fs(req).ReadDir(fi->fh, static_cast<uint64_t>(off), size / 32 + 1);
  if (!r.ok()) return ReplyError(req, r.error(), "readdir");
  std::vector<char> buf(size);
  size_t used = 0;
  uint64_t next = static_cast<uint64_t>(off);
  for (const auto& e : *r) {
    ++next;
    struct stat st = ToStat(e.attr);
    size_t n;
    if (plus) {
      core::Entry entry{e.attr, Fs(req).options().attr_timeout, Fs(req).options().entry_timeout};
      fuse_entry_param p = ToEntry(entry);
      if (e.name == "." || e.name == "..") {
        // No lookup count for these: give the kernel attributes only.
        p.attr_timeout = 0;
        p.entry_timeout = 0;
      }
      n = fuse_add_direntry_plus(req, buf.data() + used, size - used, e.name.c_str(), &p,
                                 static_cast<off_t>(next));
    } else {
      n = fuse_add_direntry(req, buf.data() + used, size - used, e.name.c_str(), &st,
                            static_cast<off_t>(next));
    }
    if (n > size - used) break;
    used += n;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void OpReaddir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  Checked(req, FuseOp::kReaddir, [&] { ReadDir(req, size, off, fi, false); });
}

void OpReaddirplus(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  Checked(req, FuseOp::kReaddirplus, [&] { ReadDir(req, size, off, fi, true); });
}

void OpReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Checked(req, FuseOp::kReleasedir, [&] {
    Fs(req).ReleaseDir(fi->fh);
    fuse_reply_err(req, 0);
  });
}

void OpStatfs(fuse_req_t req, fuse_ino_t) {
  Checked(req, FuseOp::kStatfs, [&] {
    core::FsStats s = Fs(req).StatFs();
    struct statvfs v {};
    v.f_bsize = s.block_size;
    v.f_frsize = s.block_size;
    v.f_files = s.files;
    v.f_namemax = s.name_max;
    v.f_flag = ST_RDONLY;
    fuse_reply_statfs(req, &v);
  });
}

void OpGetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Checked(req, FuseOp::kGetxattr, [&] {
    auto r = Fs(req).GetXattr(ino, name);
    if (!r.ok()) return fuse_reply_err(req, r.code() == ErrorCode::kNotFound ? ENODATA : ToErrno(r.code())),
                         void();
    if (size == 0) return fuse_reply_xattr(req, r->size()), void();
    if (size < r->size()) return fuse_reply_err(req, ERANGE), void();
    fuse_reply_buf(req, r->data(), r->size());
  });
}

void OpListxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Checked(req, FuseOp::kListxattr, [&] {
    auto r = Fs(req).ListXattr(ino);
    if (!r.ok()) return ReplyError(req, r.error(), "listxattr");
    std::string names;
    for (const auto& n : *r) {
      names += n;
      names.push_back('\0');
    }
    if (size == 0) return fuse_reply_xattr(req, names.size()), void();
    if (size < names.size()) return fuse_reply_err(req, ERANGE), void();
    fuse_reply_buf(req, names.data(), names.size());
  });
}

// Everything that would change the filesystem.
void Erofs(fuse_req_t req) { fuse_reply_err(req, EROFS); }
void OpSetattr(fuse_req_t req, fuse_ino_t, struct stat*, int, fuse_file_info*) { Erofs(req); }
void OpMknod(fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) { Erofs(req); }
void OpMkdir(fuse_req_t req, fuse_ino_t, const char*, mode_t) { Erofs(req); }
void OpUnlink(fuse_req_t req, fuse_ino_t, const char*) { Erofs(req); }
void OpRmdir(fuse_req_t req, fuse_ino_t, const char*) { Erofs(req); }
void OpSymlink(fuse_req_t req, const char*, fuse_ino_t, const char*) { Erofs(req); }
void OpRename(fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned int) { Erofs(req); }
void OpLink(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) { Erofs(req); }
void OpWrite(fuse_req_t req, fuse_ino_t, const char*, size_t, off_t, fuse_file_info*) { Erofs(req); }
void OpCreate(fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) { Erofs(req); }
void OpSetxattr(fuse_req_t req, fuse_ino_t, const char*, const char*, size_t, int) { Erofs(req); }
void OpRemovexattr(fuse_req_t req, fuse_ino_t, const char*) { Erofs(req); }
void OpFallocate(fuse_req_t req, fuse_ino_t, int, off_t, off_t, fuse_file_info*) { Erofs(req); }
void OpFlush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }
void OpFsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) { fuse_reply_err(req, 0); }

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops{};
  ops.init = OpInit;
  ops.lookup = OpLookup;
  ops.forget = OpForget;
  ops.forget_multi = OpForgetMulti;
  ops.getattr = OpGetattr;
  ops.readlink = OpReadlink;
  ops.open = OpOpen;
  ops.read = OpRead;
  ops.release = OpRelease;
  ops.opendir = OpOpendir;
  ops.readdir = OpReaddir;
  ops.readdirplus = OpReaddirplus;
  ops.releasedir = OpReleasedir;
  ops.statfs = OpStatfs;
  ops.getxattr = OpGetxattr;
  ops.listxattr = OpListxattr;
  ops.setattr = OpSetattr;
  ops.mknod = OpMknod;
  ops.mkdir = OpMkdir;
  ops.unlink = OpUnlink;
  ops.rmdir = OpRmdir;
  ops.symlink = OpSymlink;
  ops.rename = OpRename;
  ops.link = OpLink;
  ops.write = OpWrite;
  ops.create = OpCreate;
  ops.setxattr = OpSetxattr;
  ops.removexattr = OpRemovexattr;
  ops.fallocate = OpFallocate;
  ops.flush = OpFlush;
  ops.fsync = OpFsync;
  return ops;
}

}  // namespace

Session::Session(core::VodFs& fs, SessionOptions options)
    : fs_(fs), options_(std::move(options)), userdata_{&fs_, &options_} {}

Session::~Session() { Unmount(); }

namespace {

// The "major:minor" of the newest mount on `mountpoint`, from
// /proc/self/mountinfo (never a stat(), which would wait on this very
// filesystem before it serves requests).
std::string MountDevice(const std::string& mountpoint) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line, found;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    if (!(fields >> id >> parent >> dev >> root >> point)) continue;
    std::string unescaped;  // the kernel writes ' ', '\t', '\n', '\\' as octal escapes
    for (size_t i = 0; i < point.size(); ++i) {
      auto octal = [&](size_t k) { return k < point.size() && point[k] >= '0' && point[k] <= '7'; };
      if (point[i] == '\\' && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
        unescaped.push_back(static_cast<char>((point[i + 1] - '0') * 64 + (point[i + 2] - '0') * 8 + (point[i + 3] - '0')));
        i += 3;
      } else {
        unescaped.push_back(point[i]);
      }
    }
    if (unescaped == mountpoint) found = dev;
  }
  return found;
}

}  // namespace

void Session::TuneKernelReadahead() {
  if (options_.max_readahead == 0) return;
  const std::string dev = MountDevice(options_.mountpoint);
  const std::string path = "/sys/class/bdi/" + dev + "/read_ahead_kb";
  std::ofstream out(path);
  if (!dev.empty() && out && (out << options_.max_readahead / 1024).flush()) {
    VODFS_LOG(kDebug) << "kernel read-ahead of " << dev << " set to " << options_.max_readahead / 1024 << " KiB";
    return;
  }
  // Without it the kernel reads ahead 128 KiB per request: vodfs still
  // reads ahead on its own, with more requests to the kernel.
  VODFS_LOG(kInfo) << "the kernel's read-ahead stays at its default (" << path
                   << " is writable by root only); sequential reads cost more FUSE requests";
}

Status Session::Mount() {
  std::vector<std::string> args = {"vodfs"};
  std::string mo = "ro,default_permissions,subtype=vodfs,fsname=" + options_.fsname +
                   ",max_read=" + std::to_string(options_.max_read);
  if (options_.allow_other) mo += ",allow_other";
  if (options_.allow_root) mo += ",allow_root";
  // fusermount3 then stays behind and unmounts when our end of /dev/fuse
  // closes, however the process ended (even as root, it mounts through it).
  if (options_.auto_unmount) mo += ",auto_unmount";
  args.push_back("-o");
  args.push_back(mo);
  if (options_.debug) args.push_back("-d");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  static const fuse_lowlevel_ops ops = MakeOps();
  se_ = fuse_session_new(&fargs, &ops, sizeof(ops), &userdata_);
  // The session may have copied the arguments into a list of its own
  // (fargs.allocated): that copy is ours to free.
  fuse_opt_free_args(&fargs);
  if (!se_) return Status(ErrorCode::kInvalidArgument, "cannot create the FUSE session (bad options?)");
  // Before mounting: a SIGTERM or SIGINT between the mount and the loop
  // (while vodfs detaches and starts its threads) then ends the session,
  // and the loop, once it starts, unmounts cleanly instead of the signal
  // killing a process that leaves a dead mount behind.
  if (fuse_set_signal_handlers(se_) != 0) {
    fuse_session_destroy(se_);
    se_ = nullptr;
    return Status(ErrorCode::kInternal, "cannot set signal handlers");
  }
  signals_set_ = true;
  if (fuse_session_mount(se_, options_.mountpoint.c_str()) != 0) {
    fuse_remove_signal_handlers(se_);
    signals_set_ = false;
    fuse_session_destroy(se_);
    se_ = nullptr;
    return Status(ErrorCode::kFailedPrecondition,
                  "cannot mount on " + options_.mountpoint +
                      " (does it exist, is it empty, is /dev/fuse usable, is fusermount3 installed?)");
  }
  mounted_ = true;
  TuneKernelReadahead();
  return Status::Ok();
}

Status Session::Daemonize(bool foreground) {
  if (fuse_daemonize(foreground ? 1 : 0) != 0) {
    return Status(ErrorCode::kInternal, "cannot detach into the background");
  }
  return Status::Ok();
}

namespace {

// The write end of the SIGHUP pipe, for the signal handler (which may use
// nothing but async-signal-safe calls: write() is one).
std::atomic<int> g_hangup_fd{-1};

void OnHangupSignal(int) {
  const int saved = errno;
  const int fd = g_hangup_fd.load();
  if (fd >= 0) {
    const char b = 1;
    (void)!::write(fd, &b, 1);
  }
  errno = saved;
}

}  // namespace

void Session::StartHangupThread() {
  if (!options_.on_hangup) return;
  if (::pipe2(hangup_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    VODFS_LOG(kWarn) << "Cannot watch for SIGHUP: " << std::strerror(errno);
    return;
  }
  // The reading end blocks; only the handler's end must never block.
  ::fcntl(hangup_pipe_[0], F_SETFL, 0);
  g_hangup_fd = hangup_pipe_[1];
  struct sigaction sa {};
  sa.sa_handler = OnHangupSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGHUP, &sa, nullptr);
  hangup_ = std::thread([this] {
    char b;
    while (true) {
      const ssize_t n = ::read(hangup_pipe_[0], &b, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || b == 0) return;
      options_.on_hangup();
    }
  });
}

void Session::StopHangupThread() {
  if (hangup_pipe_[1] < 0) return;
  g_hangup_fd = -1;
  struct sigaction sa {};
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGHUP, &sa, nullptr);
  const char stop = 0;
  (void)!::write(hangup_pipe_[1], &stop, 1);
  if (hangup_.joinable()) hangup_.join();
  ::close(hangup_pipe_[0]);
  ::close(hangup_pipe_[1]);
  hangup_pipe_[0] = hangup_pipe_[1] = -1;
}

Status Session::Loop() {
  if (!se_) return Status(ErrorCode::kFailedPrecondition, "not mounted");
  notifier_ = std::thread([this] { NotifyLoop(); });
  StartHangupThread();
  int rc;
  if (options_.single_thread) {
    rc = fuse_session_loop(se_);
  } else {
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_clone_fd(cfg, 0);
    fuse_loop_cfg_set_idle_threads(cfg, 16);
    fuse_loop_cfg_set_max_threads(cfg, options_.max_threads);
    rc = fuse_session_loop_mt(se_, cfg);
    fuse_loop_cfg_destroy(cfg);
  }
  StopHangupThread();
  if (signals_set_) fuse_remove_signal_handlers(se_);
  signals_set_ = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (notifier_.joinable()) notifier_.join();
  // A positive value is the signal (SIGTERM, SIGINT, SIGHUP) that ended the
  // loop: a requested, clean stop.
  if (rc > 0) VODFS_LOG(kInfo) << "stopping on signal " << rc;
  return rc >= 0 ? Status::Ok() : Status(ErrorCode::kInternal, std::string("the FUSE loop failed: ") + std::strerror(-rc));
}

void Session::Unmount() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (notifier_.joinable()) notifier_.join();
  if (se_) {
    if (signals_set_) fuse_remove_signal_handlers(se_);
    signals_set_ = false;
    if (mounted_) fuse_session_unmount(se_);
    mounted_ = false;
    fuse_session_destroy(se_);
    se_ = nullptr;
  }
}

void Session::InvalidateInode(ns::Ino ino) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  pending_.push_back({false, ino, ""});
  cv_.notify_one();
}

void Session::InvalidateEntry(ns::Ino parent, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  pending_.push_back({true, parent, name});
  cv_.notify_one();
}

void Session::NotifyLoop() {
  while (true) {
    Pending p;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (stopping_) return;
      p = std::move(pending_.front());
      pending_.pop_front();
    }
    int rc = p.entry ? fuse_lowlevel_notify_inval_entry(se_, p.ino, p.name.c_str(), p.name.size())
                     : fuse_lowlevel_notify_inval_inode(se_, p.ino, 0, 0);
    // ENOENT: the kernel had nothing cached, which is fine.
    if (rc != 0 && rc != -ENOENT) VODFS_LOG(kDebug) << "kernel invalidation failed: " << std::strerror(-rc);
  }
}

}  // namespace vodfs::fusefs
