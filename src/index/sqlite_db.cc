// The SQLite engine: a pool of connections to one database file in WAL
// mode (readers never wait for the writer, the writer never waits for
// readers), each keeping its prepared statements.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <list>
#include <unordered_map>

#include "vodfs/index/db.h"
#include "vodfs/util/log.h"
#include "vodfs/util/mutex.h"

namespace vodfs::index {

namespace {

// Statements kept prepared per connection: the index runs a few dozen
// distinct queries; beyond that the least recently used is finalised.
constexpr size_t kStatementCache = 64;

Error SqliteError(sqlite3* db, int rc, std::string_view what) {
  const int primary = rc & 0xff;
  ErrorCode code = ErrorCode::kInternal;
  switch (primary) {
    case SQLITE_CONSTRAINT: code = ErrorCode::kAlreadyExists; break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM: code = ErrorCode::kUnavailable; break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: code = ErrorCode::kDataLoss; break;
    default: break;
  }
  std::string msg = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  return Error(code, msg);
}

class SqliteRow final : public Row {
 public:
  explicit SqliteRow(sqlite3_stmt* s) : s_(s) {}
  size_t size() const override { return static_cast<size_t>(sqlite3_column_count(s_)); }
  bool IsNull(size_t i) const override { return sqlite3_column_type(s_, Col(i)) == SQLITE_NULL; }
  int64_t Int(size_t i) const override { return sqlite3_column_int64(s_, Col(i)); }
  double Real(size_t i) const override { return sqlite3_column_double(s_, Col(i)); }
  std::string Text(size_t i) const override {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, Col(i)));
    const int n = sqlite3_column_bytes(s_, Col(i));
    return p ? std::string(p, static_cast<size_t>(n)) : std::string();
  }

 private:
  static int Col(size_t i) { return static_cast<int>(i); }
  sqlite3_stmt* s_;
};

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() override {
    for (auto& [sql, entry] : statements_) sqlite3_finalize(entry.stmt);
    sqlite3_close_v2(db_);
  }

  Engine engine() const override { return Engine::kSqlite; }

  Result<int64_t> Run(std::string_view sql, const Params& params, const RowFn& on_row) override {
    VODFS_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(sql));
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (static_cast<size_t>(sqlite3_bind_parameter_count(s)) != params.size()) {
      return Error(ErrorCode::kInternal, "statement takes " + std::to_string(sqlite3_bind_parameter_count(s)) +
                                             " parameters, got " + std::to_string(params.size()));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const int k = static_cast<int>(i) + 1;
      int rc = SQLITE_OK;
      if (std::holds_alternative<std::monostate>(params[i])) {
        rc = sqlite3_bind_null(s, k);
      } else if (const auto* n = std::get_if<int64_t>(&params[i])) {
        rc = sqlite3_bind_int64(s, k, *n);
      } else if (const auto* d = std::get_if<double>(&params[i])) {
        rc = sqlite3_bind_double(s, k, *d);
      } else {
        const std::string& t = std::get<std::string>(params[i]);
        rc = sqlite3_bind_text64(s, k, t.data(), t.size(), SQLITE_STATIC, SQLITE_UTF8);
      }
      if (rc != SQLITE_OK) return SqliteError(db_, rc, "Cannot bind a parameter");
    }
    SqliteRow row(s);
    while (true) {
      const int rc = sqlite3_step(s);
      if (rc == SQLITE_ROW) {
        if (on_row) on_row(row);
        continue;
      }
      if (rc == SQLITE_DONE) break;
      Error e = SqliteError(db_, rc, "Cannot run an index query");
      sqlite3_reset(s);
      return e;
    }
    const int64_t changed = sqlite3_changes64(db_);
    sqlite3_reset(s);
    return changed;
  }

  Status Script(std::string_view sql) override {
    char* err = nullptr;
    const std::string text(sql);
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      Error e = SqliteError(db_, rc, "Cannot run an index script");
      if (err) {
        e.message += std::string(" (") + err + ")";
        sqlite3_free(err);
      }
      return e;
    }
    return Status::Ok();
  }

 private:
  struct Entry {
    sqlite3_stmt* stmt;
    std::list<std::string>::iterator lru;
  };

  Result<sqlite3_stmt*> Prepare(std::string_view sql) {
    std::string key(sql);
    auto it = statements_.find(key);
    if (it != statements_.end()) {
      order_.splice(order_.begin(), order_, it->second.lru);
      return it->second.stmt;
    }
    sqlite3_stmt* s = nullptr;
    const int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()), SQLITE_PREPARE_PERSISTENT,
                                      &s, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, "Cannot prepare an index query");
    if (statements_.size() >= kStatementCache) {
      auto victim = statements_.find(order_.back());
      sqlite3_finalize(victim->second.stmt);
      statements_.erase(victim);
      order_.pop_back();
    }
    order_.push_front(key);
    statements_.emplace(std::move(key), Entry{s, order_.begin()});
    return s;
  }

  sqlite3* db_;
  std::unordered_map<std::string, Entry> statements_;
  std::list<std::string> order_;  // front = most recently used
};

// The writer lock of an SQLite index: flock() on "<index>.sync-lock",
// which the kernel releases when the holder dies however it dies. The file
// holds the holder's pid, so that `vodfs index sync` can ask it to sync.
class FileWriterLock final : public Database::WriterLock {
 public:
  explicit FileWriterLock(int fd) : fd_(fd) {}
  ~FileWriterLock() override {
    if (ftruncate(fd_, 0) != 0) {
      // Only the pid hint is left behind; the lock itself goes with the fd.
    }
    close(fd_);
  }
  bool Held() override { return true; }

 private:
  int fd_;
};

class SqliteDatabase final : public Database {
 public:
  explicit SqliteDatabase(SqliteOptions o) : o_(std::move(o)) {}

  Engine engine() const override { return Engine::kSqlite; }
  std::string Describe() const override { return o_.path; }

  Result<std::unique_ptr<Connection>> Connect(int64_t cache_kib) {
    sqlite3* db = nullptr;
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(o_.path.c_str(), &db, flags, nullptr);
    if (rc != SQLITE_OK) {
      Error e = SqliteError(db, rc, "Cannot open the index " + o_.path);
      sqlite3_close_v2(db);
      return e;
    }
    auto c = std::make_unique<SqliteConnection>(db);
    sqlite3_busy_timeout(db, o_.busy_timeout_ms);
    // WAL: readers see the last commit while a sync writes. synchronous=
    // NORMAL: a commit survives a crash of vodfs (not necessarily of the
    // machine), and a transaction is atomic either way. No mmap: the
    // mapped pages would count against the process's resident memory.
    const std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA mmap_size=0;"
                                "PRAGMA cache_size=-" + std::to_string(cache_kib) + ";";
    VODFS_RETURN_IF_ERROR(c->Script(pragmas));
    return std::unique_ptr<Connection>(std::move(c));
  }

  Result<std::unique_ptr<WriterLock>> TryLockWriter() override {
    const std::string path = o_.path + ".sync-lock";
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Error(ErrorCode::kUnavailable, "Cannot open " + path + ": " + std::strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      close(fd);
      if (err == EWOULDBLOCK) return std::unique_ptr<WriterLock>();
      return Error(ErrorCode::kUnavailable, "Cannot lock " + path + ": " + std::strerror(err));
    }
    const std::string pid = std::to_string(getpid()) + "\n";
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      VODFS_LOG(kWarn) << "Cannot write the syncing process id to " << path;
    }
    return std::unique_ptr<WriterLock>(new FileWriterLock(fd));
  }

  int64_t WriterPid() override {
    const std::string path = o_.path + ".sync-lock";
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    // Held by somebody? A shared lock succeeds only when nobody holds it.
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
      flock(fd, LOCK_UN);
      close(fd);
      return 0;
    }
    char buf[32] = {};
    const ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    if (n <= 0) return 0;
    return std::strtoll(buf, nullptr, 10);
  }

  void CloseIdle() override {
    std::vector<std::unique_ptr<Connection>> closing;
    std::unique_ptr<Connection> bulk;
    MutexLock lock(&mu_);
    closing.swap(idle_);
    if (!bulk_busy_) bulk = std::move(bulk_);
  }

  Result<Lease> Acquire() override {
    {
      MutexLock lock(&mu_);
      if (!idle_.empty()) {
        std::unique_ptr<Connection> c = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(c));
      }
    }
    VODFS_ASSIGN_OR_RETURN(std::unique_ptr<Connection> c, Connect(o_.cache_kib));
    return Lease(this, std::move(c));
  }

  Result<Lease> AcquireBulk() override {
    std::unique_ptr<Connection> c;
    {
      MutexLock lock(&mu_);
      while (bulk_busy_) bulk_cv_.Wait(&mu_);
      bulk_busy_ = true;
      c = std::move(bulk_);
    }
    if (!c) {
      auto made = Connect(o_.bulk_cache_kib);
      if (!made.ok()) {
        MutexLock lock(&mu_);
        bulk_busy_ = false;
        bulk_cv_.Signal();
        return made.error();
      }
      c = std::move(made).value();
    }
    return Lease(this, std::move(c), true);
  }

 protected:
  void Return(std::unique_ptr<Connection> c, bool bulk) override {
    std::unique_ptr<Connection> dropped;
    MutexLock lock(&mu_);
    if (bulk) {
      bulk_ = std::move(c);
      bulk_busy_ = false;
      bulk_cv_.Signal();
    } else if (idle_.size() < o_.pool_size) {
      idle_.push_back(std::move(c));
    } else {
      dropped = std::move(c);
    }
  }

 private:
  SqliteOptions o_;
  Mutex mu_;
  CondVar bulk_cv_;
  std::vector<std::unique_ptr<Connection>> idle_ GUARDED_BY(mu_);
  std::unique_ptr<Connection> bulk_ GUARDED_BY(mu_);
  bool bulk_busy_ GUARDED_BY(mu_) = false;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenSqlite(const SqliteOptions& o) {
  auto db = std::make_unique<SqliteDatabase>(o);
  // One connection now: a file that is not a database (or cannot be made
  // one) fails here rather than at the first query.
  VODFS_ASSIGN_OR_RETURN(auto c, db->Acquire());
  VODFS_RETURN_IF_ERROR(c->Run("SELECT count(*) FROM sqlite_master").status());
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace vodfs::index
