// The SQL engine under the library index: one small interface, two engines
// (SQLite embedded, PostgreSQL shared by a fleet), one set of queries.
//
// Queries are written once, with `?` placeholders, in the SQL both engines
// accept (ON CONFLICT upserts, LIMIT/OFFSET, BIGINT, TEXT). What differs
// (DDL details, placeholder syntax, error classes) stays inside the
// engines. Errors are typed: a constraint violation is kAlreadyExists, a
// database that cannot be reached or is busy kUnavailable, a damaged one
// kDataLoss; callers decide on the code, never on a message.
//
// A Connection is used by one thread at a time; Database hands them out
// from a pool (Lease) and takes them back when the lease ends.
//
// Thread-safety: Database is safe to share; a Connection is not.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "vodfs/util/result.h"

namespace vodfs::index {

// A parameter: NULL, an integer, a real or text (bytes, may hold any data).
using Value = std::variant<std::monostate, int64_t, double, std::string>;
using Params = std::vector<Value>;

// One result row, valid during the callback that receives it.
class Row {
 public:
  virtual ~Row() = default;
  virtual size_t size() const = 0;
  virtual bool IsNull(size_t i) const = 0;
  virtual int64_t Int(size_t i) const = 0;
  virtual double Real(size_t i) const = 0;
  virtual std::string Text(size_t i) const = 0;
};
using RowFn = std::function<void(const Row&)>;

enum class Engine { kSqlite, kPostgres };

class Connection {
 public:
  virtual ~Connection() = default;
  // Runs one statement with `?` placeholders bound to `params`; each result
  // row goes to `on_row`. Returns the number of rows it changed.
  virtual Result<int64_t> Run(std::string_view sql, const Params& params = {}, const RowFn& on_row = {}) = 0;
  // Runs statements without parameters, separated by `;` (schema scripts).
  virtual Status Script(std::string_view sql) = 0;
  virtual Engine engine() const = 0;
  // Tells every process watching this database (WatchChanges) that the
  // change log grew to `seq`, when the current transaction commits (and
  // not at all if it rolls back). A no-op where the engine has no such
  // channel (SQLite: its readers poll).
  virtual Status Announce(int64_t seq) {
    (void)seq;
    return Status::Ok();
  }
};

// Announcements of changes committed by any process (Connection::
// Announce), for a process that follows the index. Owns a connection of
// its own. Used by one thread at a time.
class ChangeWatch {
 public:
  virtual ~ChangeWatch() = default;
  // Waits up to `timeout` for an announcement. True when one (or more)
  // arrived, or when the watch had to reconnect (what was announced
  // meanwhile is lost, so the caller must look); false on a timeout; an
  // error when the database cannot be reached (after waiting `timeout`).
  virtual Result<bool> Wait(std::chrono::milliseconds timeout) = 0;
};

class Database {
 public:
  virtual ~Database() = default;

  // A connection for the holder's exclusive use, returned to the pool when
  // the lease ends (a lease that saw a broken connection discards it).
  class Lease {
   public:
    Lease() = default;
    Lease(Database* db, std::unique_ptr<Connection> c, bool bulk = false)
        : db_(db), c_(std::move(c)), bulk_(bulk) {}
    Lease(Lease&& o) noexcept = default;
    Lease& operator=(Lease&& o) noexcept {
      Release();
      db_ = o.db_;
      c_ = std::move(o.c_);
      bulk_ = o.bulk_;
      return *this;
    }
    ~Lease() { Release(); }
    Connection* operator->() const { return c_.get(); }
    Connection& operator*() const { return *c_; }

   private:
    void Release() {
      if (db_ && c_) db_->Return(std::move(c_), bulk_);
    }
    Database* db_ = nullptr;
    std::unique_ptr<Connection> c_;
    bool bulk_ = false;
  };

  virtual Result<Lease> Acquire() = 0;
  // The connection for bulk writes (a sync's pages and its final apply),
  // one at a time: with a page cache large enough that a transaction of
  // thousands of rows writes each page it touches once.
  virtual Result<Lease> AcquireBulk() = 0;
  virtual Engine engine() const = 0;
  // Closes the connections not in use. Before a fork (daemonising): a
  // connection must never be used by a process that did not open it (the
  // database's locks belong to the process), so none may cross a fork.
  virtual void CloseIdle() = 0;

  // The right to sync the index: one holder at a time among every process
  // using this database. Released when the object is destroyed (or when
  // its process dies). Null when another holds it.
  class WriterLock {
   public:
    virtual ~WriterLock() = default;
    // Still held (a lock tied to a connection is lost with it).
    virtual bool Held() = 0;
  };
  virtual Result<std::unique_ptr<WriterLock>> TryLockWriter() = 0;
  // The process id of the current holder, where the engine can tell (0
  // when nobody holds it or it cannot be told).
  virtual int64_t WriterPid() = 0;
  // Who holds the writer lock, for status output ("host1 pid 4242"), empty
  // when nobody does or the engine cannot tell.
  virtual std::string WriterHolder() { return ""; }
  // A watch of announced changes, or null where the engine has none (its
  // followers poll the change log).
  virtual Result<std::unique_ptr<ChangeWatch>> WatchChanges() { return std::unique_ptr<ChangeWatch>(); }
  // Where it is, without secrets ("/var/cache/vodfs/index.db",
  // "postgresql://vodfs@db1/vod").
  virtual std::string Describe() const = 0;

 protected:
  virtual void Return(std::unique_ptr<Connection> c, bool bulk) = 0;
};

// A transaction on one connection: begun at construction, rolled back
// when it goes out of scope unless committed.
class Transaction {
 public:
  // `write`: the transaction will write (SQLite takes the write lock at
  // once, so that two writers queue instead of failing at commit).
  static Result<Transaction> Begin(Connection& c, bool write);
  Transaction(Transaction&& o) noexcept : c_(o.c_), open_(o.open_) { o.open_ = false; }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status Commit();

 private:
  explicit Transaction(Connection& c) : c_(&c), open_(true) {}
  Connection* c_;
  bool open_;
};

struct SqliteOptions {
  std::string path;
  size_t pool_size = 6;       // connections kept for readers and the writer
  int64_t cache_kib = 4096;   // page cache per connection
  int64_t bulk_cache_kib = 32768;  // page cache of the bulk writer
  int busy_timeout_ms = 10000;
};
// Opens (creating) an SQLite database in WAL mode.
Result<std::unique_ptr<Database>> OpenSqlite(const SqliteOptions& o);

struct PostgresOptions {
  // A libpq connection URI ("postgresql://vodfs:secret@db1:5432/vod") or
  // key=value string. The password in it never reaches a log line or an
  // error message (see RedactConninfo).
  std::string conninfo;
  size_t pool_size = 6;  // connections kept for readers and the writer
  // Bounds that keep a mount serving when the database is unreachable
  // rather than waiting on TCP's retransmissions (15 minutes): a connect
  // gives up after this, and an unanswered request after tcp_user_timeout.
  // Settings in `conninfo` override them.
  int connect_timeout_s = 5;
  int tcp_user_timeout_ms = 10000;
  // The writer lock's session pings the server this often; the server ends
  // a session silent for `lock_idle_timeout_s` (idle_session_timeout), so
  // a holder that hangs or is cut off loses the lock, and another mount
  // takes it at its next attempt: takeover within lock_idle_timeout_s plus
  // the followers' attempt interval (5 s), inside the 30 s promised.
  int lock_heartbeat_s = 5;
  int lock_idle_timeout_s = 20;
};
// Opens a PostgreSQL database (which must exist; the index creates its
// tables in it). One database per library: the locks and announcements
// of the index are scoped to it.
Result<std::unique_ptr<Database>> OpenPostgres(const PostgresOptions& o);

// True for an index location that names a PostgreSQL database
// ("postgresql://...", "postgres://...") rather than an SQLite file.
bool IsPostgresLocation(std::string_view location);
// `conninfo` with its password replaced by "<redacted>" (in a URI's user
// information, a URI's `password` parameter, or a key=value string).
std::string RedactConninfo(std::string_view conninfo);

}  // namespace vodfs::index
