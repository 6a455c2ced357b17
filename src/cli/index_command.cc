// vodfs index status|sync|clear: the library index from the command line.
//
//   status   what the index holds, when it was synced, and the progress of
//            a sync running in any process (followed on a terminal)
//   sync     a sync now: in this process, or, when a mount holds the
//            writer lock, by asking that mount (SIGHUP) and following it
//   clear    deletes the index (refused while a process syncs it)
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/api_stack.h"
#include "cli/commands.h"
#include "cli/index_setup.h"
#include "cli/progress.h"
#include "vodfs/sync/syncer.h"
#include "vodfs/util/executor.h"
#include "vodfs/util/log.h"
#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"

namespace vodfs::cli {

namespace {

using index::MediaKind;

std::string When(const std::optional<std::string>& unix) {
  const int64_t t = str::ParseInt64(unix.value_or("0")).value_or(0);
  return t > 0 ? timefmt::FormatIso8601(t) : "never";
}

bool Exists(const std::string& path) {
  if (index::IsPostgresLocation(path)) return true;  // a database: opening it tells
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// The progress a syncing process left in the index, if one is running.
struct Running {
  int64_t pid = 0;     // on this machine
  std::string holder;  // "pid 4242", or a mount of another machine of a fleet: "node7 pid 4242"
  nlohmann::json progress;
};

std::optional<Running> RunningSync(index::IndexStore& store) {
  const int64_t pid = store.db().WriterPid();
  Running r;
  r.pid = pid;
  r.holder = pid ? "pid " + std::to_string(pid) : store.db().WriterHolder();
  if (r.holder.empty()) return std::nullopt;
  auto p = store.GetMeta("sync.progress");
  if (p.ok() && *p) r.progress = nlohmann::json::parse(**p, nullptr, false);
  return r;
}

std::string ProgressLine(const nlohmann::json& p) {
  if (!p.is_object()) return "starting";
  const double done = static_cast<double>(p.value("done", int64_t{0}));
  const double total = static_cast<double>(p.value("total", int64_t{0}));
  std::string line = std::string(p.value("full", false) ? "full listing" : "sync") + ", " +
                     p.value("phase", std::string()) + " ";
  line += Bar(done, total) + " " + std::to_string(static_cast<int64_t>(done));
  if (total > 0) line += " / " + std::to_string(static_cast<int64_t>(total));
  const int64_t started = p.value("started_at", int64_t{0});
  const double secs = static_cast<double>(std::time(nullptr) - started);
  if (started > 0 && done > 0 && total > done) line += "  ETA " + FormatEta(secs * (total - done) / done);
  return line;
}

// Which sync the index was last left by: its time and its serial number
// (two syncs can end within one second).
std::string SyncMark(index::IndexStore& store) {
  auto at = store.GetMeta("sync.at");
  auto serial = store.GetMeta("sync.serial");
  return (at.ok() ? at->value_or("") : "") + "#" + (serial.ok() ? serial->value_or("") : "");
}

// Follows the progress another process writes into the index until its
// sync ends; returns whether a sync other than the one `after` marks
// completed.
bool Follow(index::IndexStore& store, const std::string& after, std::ostream& err) {
  const bool tty = ::isatty(STDERR_FILENO);
  for (int quiet = 0;;) {
    if (SyncMark(store) != after) {
      if (tty) err << "\n";
      return true;
    }
    auto running = RunningSync(store);
    if (!running) {
      if (tty) err << "\n";
      return false;
    }
    if (tty || ++quiet % 25 == 1) err << (tty ? "\r" : "") << ProgressLine(running->progress) << (tty ? "   " : "\n");
    err.flush();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

int Status_(const Options& o, std::ostream& out, std::ostream& err) {
  const std::string path = IndexPath(o);
  if (!Exists(path)) {
    out << "index      " << ShownIndexPath(path) << "\n"
        << "state      none yet: the first mount (or vodfs index sync) lists the library\n";
    return 0;
  }
  auto store = OpenIndex(path);
  if (!store.ok()) {
    err << "vodfs index: " << log::Redact(store.error().message) << "\n";
    return 1;
  }
  index::IndexStore& s = **store;
  auto gen = s.GetMeta("sync.generation");
  const int64_t generation = str::ParseInt64(gen.ok() ? gen->value_or("0") : "0").value_or(0);
  out << "index      " << ShownIndexPath(path) << " (schema version " << s.schema_version() << ")\n";
  if (auto id = s.GetMeta("sync.identity"); id.ok() && *id) out << "library    " << **id << "\n";
  out << "state      "
      << (generation > 0 ? "complete (" + std::to_string(generation) + " full listings)" : "not listed completely yet")
      << "\n";
  out << "entries   ";
  for (MediaKind k : index::kAllKinds) {
    auto n = s.CountMedia(k);
    out << " " << (n.ok() ? *n : -1) << " " << index::MediaKindName(k) << (k == MediaKind::kImage ? "s" : "");
    if (k != MediaKind::kImage) out << ",";
  }
  auto cats = s.Categories();
  out << ", " << (cats.ok() ? cats->size() : 0) << " categories\n";
  out << "last sync  " << When(s.GetMeta("sync.at").ok() ? *s.GetMeta("sync.at") : std::nullopt) << "\n";
  out << "last full  " << When(s.GetMeta("sync.full_at").ok() ? *s.GetMeta("sync.full_at") : std::nullopt) << "\n";
  if (auto e = s.GetMeta("sync.last_error"); e.ok() && *e && !(*e)->empty()) out << "last error " << **e << "\n";
  if (auto off = s.GetMeta("sync.offline_since"); off.ok() && *off && **off != "0") {
    out << "offline    since " << When(*off) << "\n";
  }
  if (const std::string holder = s.db().WriterHolder(); !holder.empty()) out << "writer     " << holder << "\n";
  auto running = RunningSync(s);
  if (!running) {
    out << "syncing    no process syncs it now\n";
    return 0;
  }
  out << "syncing    " << running->holder << ": " << ProgressLine(running->progress) << "\n";
  out.flush();
  if (::isatty(STDERR_FILENO) && running->progress.is_object()) {
    Follow(s, SyncMark(s), err);
  }
  return 0;
}

// A shared index: its tables are dropped (the database stays), unless a
// mount of the fleet syncs it.
int ClearShared(const std::string& location, std::ostream& out, std::ostream& err) {
  auto db = index::OpenPostgres({.conninfo = location});
  if (!db.ok()) {
    err << "vodfs index: " << log::Redact(db.error().message) << "\n";
    return 1;
  }
  auto lock = (*db)->TryLockWriter();
  if (!lock.ok() || !*lock) {
    err << "vodfs index: the index " << ShownIndexPath(location) << " is in use ("
        << (lock.ok() ? (*db)->WriterHolder() + " syncs it" : log::Redact(lock.error().message))
        << "): unmount the fleet first\n";
    return 1;
  }
  auto c = (*db)->Acquire();
  Status s = c.ok() ? (*c)->Script("DROP TABLE IF EXISTS media, media_next, categories, details, objects, changes, meta")
                    : c.status();
  if (!s.ok()) {
    err << "vodfs index: " << log::Redact(s.error().message) << "\n";
    return 1;
  }
  out << "cleared " << ShownIndexPath(location) << "\n";
  return 0;
}

int Clear(const Options& o, std::ostream& out, std::ostream& err) {
  const std::string path = IndexPath(o);
  if (!Exists(path)) {
    out << "no index at " << ShownIndexPath(path) << "\n";
    return 0;
  }
  if (index::IsPostgresLocation(path)) return ClearShared(path, out, err);
  {
    auto db = index::OpenSqlite({.path = path});
    if (db.ok()) {
      auto lock = (*db)->TryLockWriter();
      if (lock.ok() && !*lock) {
        err << "vodfs index: the index " << path << " is in use (pid " << (*db)->WriterPid()
            << " syncs it): unmount first\n";
        return 1;
      }
    }
  }
  for (const char* suffix : {"", "-wal", "-shm", ".sync-lock"}) std::remove((path + suffix).c_str());
  out << "cleared " << path << "\n";
  return 0;
}

int Sync(const Options& o, std::ostream& out, std::ostream& err) {
  const std::string source = o.positional.size() > 2 ? o.positional[2] : "";
  SystemClock& clock = SystemClock::Get();
  auto built = BuildApiStack(o, source, clock);
  if (!built.ok()) {
    err << "vodfs index: " << log::Redact(built.error().ToString()) << "\n";
    return 1;
  }
  ApiStack& api = **built;
  auto creds = api.credentials->Get();
  if (!creds.ok()) {
    err << "vodfs index: " << log::Redact(creds.error().message) << "\n";
    return 1;
  }
  const std::string path = IndexPath(o);
  auto opened = OpenIndex(path);
  if (!opened.ok()) {
    err << "vodfs index: " << log::Redact(opened.error().message) << "\n";
    return 1;
  }
  index::IndexStore& store = **opened;
  Executor io(8, "vodfs-io");
  io.Start();
  sync::SyncOptions so;
  so.id_names = o.name_scheme == "id";
  so.interval = o.sync_interval;
  so.full_interval = o.full_sync_interval;
  so.identity = LibraryIdentity(api.endpoint, creds->access_key_id);
  sync::Syncer syncer(*api.vod, store, clock, io, so);
  if (Status s = syncer.Init(); !s.ok()) {
    err << "vodfs index: " << log::Redact(s.ToString()) << "\n";
    return 1;
  }
  const std::string after = SyncMark(store);
  // Progress on stderr while this process syncs.
  std::atomic<bool> done{false};
  std::thread progress([&] {
    const bool tty = ::isatty(STDERR_FILENO);
    int tick = 0;
    while (!done.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      const sync::SyncProgress p = syncer.Progress();
      if (!p.running || (!tty && ++tick % 25 != 0)) continue;
      nlohmann::json j = {{"phase", p.phase}, {"done", p.done}, {"total", p.total}, {"full", p.full},
                          {"started_at", p.started_at}};
      err << (tty ? "\r" : "") << ProgressLine(j) << (tty ? "   " : "\n");
      err.flush();
    }
  });
  Status s = syncer.SyncNow(o.full);
  done = true;
  progress.join();
  if (::isatty(STDERR_FILENO)) err << "\n";
  if (s.code() == ErrorCode::kAborted) {
    // A mount syncs this index: ask it to sync now, and follow it.
    const int64_t pid = store.db().WriterPid();
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), SIGHUP) == 0) {
      out << "asked the process that syncs the index (pid " << pid << ") to sync now\n";
    } else if (const std::string holder = store.db().WriterHolder(); !holder.empty()) {
      // A mount of another machine of the fleet: asked through the index.
      if (Status r = syncer.Request(o.full); !r.ok()) {
        err << "vodfs index: cannot ask " << holder << " to sync: " << log::Redact(r.ToString()) << "\n";
        return 1;
      }
      out << "asked the mount that syncs the index (" << holder << ") to sync now\n";
    } else {
      err << "vodfs index: " << s.error().message << ", and it cannot be asked to sync\n";
      return 1;
    }
    out.flush();
    if (!Follow(store, after, err)) {
      err << "vodfs index: the sync of " << (pid > 0 ? "pid " + std::to_string(pid) : store.db().WriterHolder())
          << " ended without completing (see its log)\n";
      return 1;
    }
    s = Status::Ok();
  }
  if (!s.ok()) {
    err << "vodfs index: cannot sync: " << log::Redact(s.ToString()) << "\n";
    return 1;
  }
  const sync::SyncStats st = syncer.Stats();
  out << "synced " << ShownIndexPath(path) << ": " << st.last_calls << " API calls in " << static_cast<int64_t>(st.last_duration * 1000)
      << " ms, " << st.last_changes << " changes\n";
  return 0;
}

}  // namespace

int RunIndex(const Options& o, std::ostream& out, std::ostream& err) {
  const std::string what = o.positional.size() > 1 ? o.positional[1] : "";
  if (what == "status") return Status_(o, out, err);
  if (what == "sync") return Sync(o, out, err);
  if (what == "clear") return Clear(o, out, err);
  err << "usage: vodfs index status|clear [--index PATH | --cache_dir DIR]\n"
         "       vodfs index sync [--full] [SOURCE]\n";
  return 2;
}

}  // namespace vodfs::cli
