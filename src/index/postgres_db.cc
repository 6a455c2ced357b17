// The PostgreSQL engine (libpq): a pool of connections to one database that
// every mount of a fleet shares, each keeping its prepared statements; the
// writer lock as a session advisory lock kept alive by a heartbeat; change
// announcements by NOTIFY, watched with LISTEN.
//
// Queries arrive with `?` placeholders and are sent with `$n` ones. Values
// travel as text and take their types from the statement (the server
// infers each parameter's type where it is compared or stored), which is
// what lets one set of queries run on both engines.
//
// The password of the connection string is registered as a secret with
// the logger and cut out of every error message this engine makes.
#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <list>
#include <thread>
#include <unordered_map>

#include "index/postgres_keys.h"
#include "vodfs/index/db.h"
#include "vodfs/util/log.h"
#include "vodfs/util/mutex.h"
#include "vodfs/util/strings.h"

namespace vodfs::index {

namespace {

// Statements kept prepared per connection: the index runs a few dozen
// distinct queries; beyond that the least recently used is deallocated.
constexpr size_t kStatementCache = 64;

// What a connection string says, for messages: no password.
struct Where {
  std::string description;  // "postgresql://vodfs@127.0.0.1:5432/vod"
  std::string password;     // cut out of every message
};

std::string Scrub(std::string msg, const Where& w) {
  if (!w.password.empty()) {
    for (size_t p = msg.find(w.password); p != std::string::npos; p = msg.find(w.password, p)) {
      msg.replace(p, w.password.size(), "<redacted>");
    }
  }
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

// SQLSTATE classes (PostgreSQL manual, appendix A) to the index's codes.
ErrorCode CodeOf(const char* sqlstate, bool connection_ok) {
  if (!sqlstate) return connection_ok ? ErrorCode::kInternal : ErrorCode::kUnavailable;
  const std::string_view s(sqlstate);
  if (s.starts_with("23")) return ErrorCode::kAlreadyExists;  // integrity constraint violation
  if (s.starts_with("08") ||                                   // connection exception
      s.starts_with("53") ||                                   // insufficient resources
      s.starts_with("57P") ||                                  // shutdown, cannot connect now
      s.starts_with("58") ||                                   // system error (I/O)
      s == "40001" || s == "40P01" ||                          // serialization failure, deadlock
      s == "55P03") {                                          // lock not available
    return ErrorCode::kUnavailable;
  }
  if (s == "XX001" || s == "XX002") return ErrorCode::kDataLoss;  // data or index corrupted
  return ErrorCode::kInternal;
}

Error ResultError(PGconn* c, const PGresult* r, std::string_view what, const Where& w) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const bool ok = PQstatus(c) == CONNECTION_OK;
  std::string detail = r ? PQresultErrorMessage(r) : "";
  if (detail.empty()) detail = PQerrorMessage(c);
  return Error(CodeOf(state, ok), Scrub(std::string(what) + " (" + w.description + "): " + detail, w));
}

// Logs the server's notices (e.g. "relation already exists, skipping") at
// debug level rather than letting libpq print them to stderr.
void OnNotice(void*, const char* message) { VODFS_LOG(kDebug) << "PostgreSQL: " << str::Trim(message); }

// `?` placeholders to `$1`, `$2`..., outside quoted text. Sets `count`.
std::string Dollars(std::string_view sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  char quote = 0;
  int n = 0;
  for (char ch : sql) {
    if (quote) {
      if (ch == quote) quote = 0;
      out += ch;
    } else if (ch == '\'' || ch == '"') {
      quote = ch;
      out += ch;
    } else if (ch == '?') {
      out += '$' + std::to_string(++n);
    } else {
      out += ch;
    }
  }
  *count = n;
  return out;
}

std::string TextOf(const Value& v) {
  if (const auto* n = std::get_if<int64_t>(&v)) return std::to_string(*n);
  if (const auto* d = std::get_if<double>(&v)) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), *d);  // shortest text that reads back exactly
    return ec == std::errc() ? std::string(buf, end) : std::string("0");
  }
  return std::get<std::string>(v);
}

class PgRow final : public Row {
 public:
  PgRow(const PGresult* r, int row) : r_(r), row_(row) {}
  size_t size() const override { return static_cast<size_t>(PQnfields(r_)); }
  bool IsNull(size_t i) const override { return PQgetisnull(r_, row_, Col(i)) != 0; }
  int64_t Int(size_t i) const override { return std::strtoll(PQgetvalue(r_, row_, Col(i)), nullptr, 10); }
  double Real(size_t i) const override { return std::strtod(PQgetvalue(r_, row_, Col(i)), nullptr); }
  std::string Text(size_t i) const override {
    return std::string(PQgetvalue(r_, row_, Col(i)), static_cast<size_t>(PQgetlength(r_, row_, Col(i))));
  }

 private:
  static int Col(size_t i) { return static_cast<int>(i); }
  const PGresult* r_;
  int row_;
};

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// Connects with the options' bounds, then the conninfo's own settings
// (later entries win in PQconnectdbParams).
Result<PGconn*> Connect(const PostgresOptions& o, const Where& w, const std::string& application) {
  const std::string connect_timeout = std::to_string(o.connect_timeout_s);
  const std::string tcp_user_timeout = std::to_string(o.tcp_user_timeout_ms);
  const char* keys[] = {"connect_timeout", "tcp_user_timeout", "keepalives", "keepalives_idle",
                        "keepalives_interval", "keepalives_count", "application_name", "dbname", nullptr};
  const char* values[] = {connect_timeout.c_str(), tcp_user_timeout.c_str(), "1", "10", "5", "3",
                          application.c_str(), o.conninfo.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(keys, values, 1);
  if (!c) return Error(ErrorCode::kResourceExhausted, "Cannot allocate a PostgreSQL connection");
  if (PQstatus(c) != CONNECTION_OK) {
    Error e(ErrorCode::kUnavailable, Scrub("Cannot connect to the index " + w.description + ": " + PQerrorMessage(c), w));
    PQfinish(c);
    return e;
  }
  PQsetNoticeProcessor(c, OnNotice, nullptr);
  return c;
}

class PgConnection final : public Connection {
 public:
  PgConnection(PGconn* c, Where w) : c_(c), where_(std::move(w)) {}
  ~PgConnection() override { PQfinish(c_); }

  Engine engine() const override { return Engine::kPostgres; }
  bool broken() const { return PQstatus(c_) != CONNECTION_OK; }
  PGconn* raw() { return c_; }

  Result<int64_t> Run(std::string_view sql, const Params& params, const RowFn& on_row) override {
    VODFS_ASSIGN_OR_RETURN(const Entry* e, Prepare(sql));
    if (static_cast<size_t>(e->params) != params.size()) {
      return Error(ErrorCode::kInternal, "statement takes " + std::to_string(e->params) + " parameters, got " +
                                             std::to_string(params.size()));
    }
    std::vector<std::string> texts(params.size());
    std::vector<const char*> values(params.size());
    std::vector<int> lengths(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      if (std::holds_alternative<std::monostate>(params[i])) {
        values[i] = nullptr;
        continue;
      }
      texts[i] = TextOf(params[i]);
      values[i] = texts[i].c_str();
      lengths[i] = static_cast<int>(texts[i].size());
    }
    ResultPtr r(PQexecPrepared(c_, e->name.c_str(), static_cast<int>(params.size()), values.data(), lengths.data(),
                               nullptr, 0));
    const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      // A statement the server no longer knows (a pooler reset, DEALLOCATE
      // ALL) is prepared again next time.
      if (r && PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) &&
          std::string_view(PQresultErrorField(r.get(), PG_DIAG_SQLSTATE)) == "26000") {
        Forget(std::string(sql));
      }
      return ResultError(c_, r.get(), "Cannot run an index query", where_);
    }
    if (st == PGRES_TUPLES_OK && on_row) {
      const int rows = PQntuples(r.get());
      for (int i = 0; i < rows; ++i) on_row(PgRow(r.get(), i));
    }
    const char* changed = PQcmdTuples(r.get());
    return changed && *changed ? std::strtoll(changed, nullptr, 10) : int64_t{0};
  }

  Status Script(std::string_view sql) override {
    // Several statements in one simple-protocol message; the last result
    // tells how the whole went (the server stops at the first error).
    if (!PQsendQuery(c_, std::string(sql).c_str())) {
      return Error(CodeOf(nullptr, !broken()),
                   Scrub("Cannot run an index script (" + where_.description + "): " + PQerrorMessage(c_), where_));
    }
    Status outcome = Status::Ok();
    while (PGresult* raw = PQgetResult(c_)) {
      ResultPtr r(raw);
      const ExecStatusType st = PQresultStatus(r.get());
      if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && st != PGRES_EMPTY_QUERY && outcome.ok()) {
        outcome = ResultError(c_, r.get(), "Cannot run an index script", where_);
      }
    }
    return outcome;
  }

  Status Announce(int64_t seq) override {
    return Run(std::string("SELECT pg_notify('") + kPgChannel + "', ?)", {std::to_string(seq)}, {}).status();
  }

 private:
  struct Entry {
    std::string name;
    int params = 0;
    std::list<std::string>::iterator lru;
  };

  Result<const Entry*> Prepare(std::string_view sql) {
    std::string key(sql);
    auto it = statements_.find(key);
    if (it != statements_.end()) {
      order_.splice(order_.begin(), order_, it->second.lru);
      return &it->second;
    }
    int n = 0;
    const std::string text = Dollars(sql, &n);
    const std::string name = "s" + std::to_string(++serial_);
    ResultPtr r(PQprepare(c_, name.c_str(), text.c_str(), 0, nullptr));
    if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      return ResultError(c_, r.get(), "Cannot prepare an index query", where_);
    }
    if (statements_.size() >= kStatementCache) {
      auto victim = statements_.find(order_.back());
      ResultPtr gone(PQexec(c_, ("DEALLOCATE " + victim->second.name).c_str()));
      statements_.erase(victim);
      order_.pop_back();
    }
    order_.push_front(key);
    auto [pos, added] = statements_.emplace(std::move(key), Entry{name, n, order_.begin()});
    (void)added;
    return &pos->second;
  }

  void Forget(const std::string& key) {
    auto it = statements_.find(key);
    if (it == statements_.end()) return;
    order_.erase(it->second.lru);
    statements_.erase(it);
  }

  PGconn* c_;
  const Where where_;
  std::unordered_map<std::string, Entry> statements_;
  std::list<std::string> order_;  // front = most recently used
  uint64_t serial_ = 0;
};

// The writer lock: a session advisory lock on a connection of its own. A
// heartbeat thread keeps the session busy (the server ends sessions idle
// for longer than lock_idle_timeout_s, which is what frees the lock of a
// holder that hangs or is cut off) and notices when the session is gone.
class PgWriterLock final : public Database::WriterLock {
 public:
  PgWriterLock(std::unique_ptr<PgConnection> c, int heartbeat_s) : c_(std::move(c)), heartbeat_s_(heartbeat_s) {
    beat_ = std::thread([this] { Beat(); });
  }
  ~PgWriterLock() override {
    {
      MutexLock lock(&mu_);
      stop_ = true;
      cv_.SignalAll();
    }
    beat_.join();
    // Unlocked at once rather than when the server sees the socket close.
    if (held_.load()) {
      (void)c_->Run("SELECT pg_advisory_unlock(?, ?)", {int64_t{kPgLockSpace}, int64_t{kPgSyncLock}}, {});
    }
  }
  bool Held() override { return held_.load(); }

 private:
  void Beat() {
    MutexLock lock(&mu_);
    while (!stop_ && held_.load()) {
      cv_.WaitFor(&mu_, std::chrono::seconds(heartbeat_s_));
      if (stop_) return;
      lock.Unlock();
      Status s = c_->Run("SELECT 1", {}, {}).status();
      lock.Lock();
      if (!s.ok()) {
        VODFS_LOG(kWarn) << "Lost the index's writer lock: " << s.ToString();
        held_.store(false);
      }
    }
  }

  std::unique_ptr<PgConnection> c_;  // used by the heartbeat thread only, once constructed
  const int heartbeat_s_;
  std::atomic<bool> held_{true};
  Mutex mu_;
  CondVar cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread beat_;
};

class PgChangeWatch final : public ChangeWatch {
 public:
  PgChangeWatch(std::function<Result<std::unique_ptr<PgConnection>>()> connect, std::unique_ptr<PgConnection> c)
      : connect_(std::move(connect)), c_(std::move(c)) {}

  static Status Listen(PgConnection& c) { return c.Script(std::string("LISTEN ") + kPgChannel); }

  Result<bool> Wait(std::chrono::milliseconds timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    if (!c_ || c_->broken()) {
      c_.reset();
      auto made = connect_();
      if (made.ok()) {
        if (Status s = Listen(**made); s.ok()) {
          c_ = std::move(made).value();
          return true;  // what was announced while it was away is not known
        } else {
          made = s.error();
        }
      }
      std::this_thread::sleep_until(deadline);
      return made.error();
    }
    while (true) {
      if (Drain()) return true;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{PQsocket(c_->raw()), POLLIN, 0};
      const int n = poll(&p, 1, static_cast<int>(left.count()));
      if (n < 0 && errno != EINTR) return Error(ErrorCode::kInternal, std::string("poll: ") + std::strerror(errno));
      if (n > 0 && !PQconsumeInput(c_->raw())) {
        c_.reset();
        return Error(ErrorCode::kUnavailable, "the index's change announcements were cut off");
      }
    }
  }

 private:
  bool Drain() {
    bool any = false;
    while (PGnotify* n = PQnotifies(c_->raw())) {
      any = true;
      PQfreemem(n);
    }
    return any;
  }

  std::function<Result<std::unique_ptr<PgConnection>>()> connect_;
  std::unique_ptr<PgConnection> c_;
};

class PgDatabase final : public Database {
 public:
  PgDatabase(PostgresOptions o, Where w) : o_(std::move(o)), where_(std::move(w)) {}

  Engine engine() const override { return Engine::kPostgres; }
  std::string Describe() const override { return where_.description; }

  Result<std::unique_ptr<PgConnection>> Connect(const std::string& application = "vodfs") {
    VODFS_ASSIGN_OR_RETURN(PGconn * raw, index::Connect(o_, where_, application));
    auto c = std::make_unique<PgConnection>(raw, where_);
    // Names compare byte-wise (the columns say COLLATE "C"); numbers and
    // text are sent as text, read back exactly with these settings.
    VODFS_RETURN_IF_ERROR(c->Script("SET client_encoding = 'UTF8'; SET extra_float_digits = 3"));
    return c;
  }

  // Followers try every few seconds: the session of a failed attempt is
  // kept for the next one rather than connecting (and authenticating)
  // each time. One the server ended meanwhile is replaced at once.
  Result<std::unique_ptr<WriterLock>> TryLockWriter() override {
    std::unique_ptr<PgConnection> c;
    {
      MutexLock lock(&mu_);
      c = std::move(lock_spare_);
    }
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!c || c->broken()) {
        VODFS_ASSIGN_OR_RETURN(c, Connect(HolderName()));
        Status timeout = c->Script("SET idle_session_timeout = '" + std::to_string(o_.lock_idle_timeout_s) + "s'");
        if (!timeout.ok()) {
          // PostgreSQL before 14: the lock still works, but a holder that
          // hangs keeps it until the server's TCP keepalives give up.
          VODFS_LOG(kWarn) << "The index's server cannot end silent sessions (" << timeout.ToString()
                           << "): a hung syncing mount is replaced only when TCP gives up on it";
        }
      }
      bool got = false;
      Status s = c->Run("SELECT pg_try_advisory_lock(?, ?)", {int64_t{kPgLockSpace}, int64_t{kPgSyncLock}},
                        [&got](const Row& r) { got = r.Text(0) == "t"; })
                     .status();
      if (!s.ok()) {
        c.reset();
        if (attempt == 0) continue;  // a spare the server had ended
        return s.error();
      }
      if (got) return std::unique_ptr<WriterLock>(new PgWriterLock(std::move(c), o_.lock_heartbeat_s));
      MutexLock lock(&mu_);
      lock_spare_ = std::move(c);
      return std::unique_ptr<WriterLock>();
    }
    return std::unique_ptr<WriterLock>();
  }

  // "vodfs sync <host> pid <pid>": the holder's application_name.
  static std::string HolderName() {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    return std::string("vodfs sync ") + host + " pid " + std::to_string(getpid());
  }

  std::string WriterHolder() override {
    std::string holder;
    auto c = Acquire();
    if (!c.ok()) return "";
    (void)(*c)->Run("SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = ? AND l.objid = ? AND "
                    "l.objsubid = 2 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                    {int64_t{kPgLockSpace}, int64_t{kPgSyncLock}},
                    [&holder](const Row& r) { holder = r.Text(0); })
        .status();
    constexpr std::string_view kPrefix = "vodfs sync ";
    return holder.starts_with(kPrefix) ? holder.substr(kPrefix.size()) : holder;
  }

  // The holder's pid where it runs on this host (a signal to a pid of
  // another host would reach the wrong process).
  int64_t WriterPid() override {
    const std::string holder = WriterHolder();
    const size_t p = holder.rfind(" pid ");
    if (p == std::string::npos) return 0;
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    if (holder.substr(0, p) != host) return 0;
    return str::ParseInt64(holder.substr(p + 5)).value_or(0);
  }

  Result<std::unique_ptr<ChangeWatch>> WatchChanges() override {
    auto connect = [this]() { return Connect("vodfs watch"); };
    VODFS_ASSIGN_OR_RETURN(auto c, connect());
    VODFS_RETURN_IF_ERROR(PgChangeWatch::Listen(*c));
    return std::unique_ptr<ChangeWatch>(new PgChangeWatch(connect, std::move(c)));
  }

  void CloseIdle() override {
    std::vector<std::unique_ptr<Connection>> closing;
    std::unique_ptr<Connection> bulk;
    std::unique_ptr<PgConnection> spare;
    MutexLock lock(&mu_);
    closing.swap(idle_);
    if (!bulk_busy_) bulk = std::move(bulk_);
    spare = std::move(lock_spare_);
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
    VODFS_ASSIGN_OR_RETURN(auto c, Connect());
    return Lease(this, std::unique_ptr<Connection>(std::move(c)));
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
      auto made = Connect();
      // Building the media table's indexes after a full listing sorts
      // 2,000,000 rows per index: in memory rather than in temporary files.
      if (made.ok()) {
        if (Status s = (*made)->Script("SET maintenance_work_mem = '256MB'; SET work_mem = '64MB'"); !s.ok()) {
          made = s.error();
        }
      }
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
    // A connection the server dropped is not kept: the next lease connects.
    if (static_cast<PgConnection*>(c.get())->broken()) c.reset();
    std::unique_ptr<Connection> dropped;
    MutexLock lock(&mu_);
    if (bulk) {
      bulk_ = std::move(c);
      bulk_busy_ = false;
      bulk_cv_.Signal();
    } else if (c && idle_.size() < o_.pool_size) {
      idle_.push_back(std::move(c));
    } else {
      dropped = std::move(c);
    }
  }

 private:
  const PostgresOptions o_;
  const Where where_;  // referenced by every connection: outlives them
  Mutex mu_;
  CondVar bulk_cv_;
  std::vector<std::unique_ptr<Connection>> idle_ GUARDED_BY(mu_);
  std::unique_ptr<Connection> bulk_ GUARDED_BY(mu_);
  bool bulk_busy_ GUARDED_BY(mu_) = false;
  std::unique_ptr<PgConnection> lock_spare_ GUARDED_BY(mu_);  // a failed TryLockWriter's session
};

// The description and the password of a conninfo, from libpq's own parser
// (so that every form it accepts is understood alike).
Result<Where> Describe(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (!opts) {
    std::string msg = err ? err : "not a connection string";
    if (err) PQfreemem(err);
    return Error(ErrorCode::kInvalidArgument,
                 "the index " + RedactConninfo(conninfo) + " is not a PostgreSQL connection string: " +
                     std::string(str::Trim(msg)));
  }
  std::unordered_map<std::string, std::string> v;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (o->val) v[o->keyword] = o->val;
  }
  PQconninfoFree(opts);
  Where w;
  w.password = v["password"];
  std::string d = "postgresql://";
  if (!v["user"].empty()) d += v["user"] + "@";
  d += v["host"].empty() ? (v["hostaddr"].empty() ? "localhost" : v["hostaddr"]) : v["host"];
  if (!v["port"].empty()) d += ":" + v["port"];
  d += "/" + v["dbname"];
  w.description = d;
  return w;
}

}  // namespace

Result<std::unique_ptr<Database>> OpenPostgres(const PostgresOptions& o) {
  VODFS_ASSIGN_OR_RETURN(Where w, Describe(o.conninfo));
  log::RegisterSecret(w.password);
  auto db = std::make_unique<PgDatabase>(o, std::move(w));
  // One connection now: a database that cannot be reached (or refuses the
  // credentials) fails here rather than at the first query.
  VODFS_ASSIGN_OR_RETURN(auto c, db->Acquire());
  VODFS_RETURN_IF_ERROR(c->Run("SELECT 1").status());
  c = Database::Lease();
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace vodfs::index
