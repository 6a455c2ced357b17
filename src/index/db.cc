// What the engines share: transactions, and telling index locations apart.
#include "vodfs/index/db.h"

#include "index/postgres_keys.h"
#include "vodfs/util/log.h"

namespace vodfs::index {

Result<Transaction> Transaction::Begin(Connection& c, bool write) {
  std::string sql = "BEGIN";
  if (write) {
    if (c.engine() == Engine::kSqlite) {
      sql = "BEGIN IMMEDIATE";
    } else {
      // SQLite's one writer at a time, on PostgreSQL: a transaction-scoped
      // advisory lock, released by COMMIT or ROLLBACK. Writers queue here
      // instead of interleaving their reads-then-writes (inode prefixes
      // are chosen by reading what is taken) under READ COMMITTED.
      sql = "BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(kPgLockSpace) + ", " +
            std::to_string(kPgWriteLock) + ")";
    }
  }
  VODFS_RETURN_IF_ERROR(c.Script(sql));
  return Transaction(c);
}

Transaction::~Transaction() {
  if (!open_) return;
  Status s = c_->Script("ROLLBACK");
  if (!s.ok()) VODFS_LOG(kWarn) << "Cannot roll back an index transaction: " << s.ToString();
}

Status Transaction::Commit() {
  if (!open_) return Status(ErrorCode::kFailedPrecondition, "the transaction is not open");
  open_ = false;
  Status s = c_->Script("COMMIT");
  if (!s.ok()) {
    // A failed COMMIT leaves SQLite's transaction open; end it.
    (void)c_->Script("ROLLBACK");
  }
  return s;
}

bool IsPostgresLocation(std::string_view location) {
  return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

std::string RedactConninfo(std::string_view conninfo) {
  constexpr std::string_view kRedacted = "<redacted>";
  std::string s(conninfo);
  if (IsPostgresLocation(s)) {
    // postgresql://user:password@host...: the password runs from the first
    // ':' after the scheme to the last '@' before the path.
    const size_t start = s.find("://") + 3;
    size_t end = s.find_first_of("/?", start);
    if (end == std::string::npos) end = s.size();
    const size_t at = s.rfind('@', end);
    if (at != std::string::npos && at >= start) {
      const size_t colon = s.find(':', start);
      if (colon != std::string::npos && colon < at) s.replace(colon + 1, at - colon - 1, kRedacted);
    }
    // ...?password=secret&...
    for (size_t p = s.find("password=", start); p != std::string::npos; p = s.find("password=", p + 1)) {
      if (p > 0 && s[p - 1] != '?' && s[p - 1] != '&') continue;
      const size_t v = p + 9;
      const size_t e = s.find('&', v);
      s.replace(v, (e == std::string::npos ? s.size() : e) - v, kRedacted);
    }
    return s;
  }
  // key=value pairs: password=secret or password='se cret'.
  for (size_t p = s.find("password"); p != std::string::npos; p = s.find("password", p + 1)) {
    if (p > 0 && s[p - 1] != ' ' && s[p - 1] != '\t') continue;
    size_t v = p + 8;
    while (v < s.size() && s[v] == ' ') ++v;
    if (v >= s.size() || s[v] != '=') continue;
    ++v;
    while (v < s.size() && s[v] == ' ') ++v;
    size_t e = v;
    if (e < s.size() && s[e] == '\'') {
      ++e;
      while (e < s.size() && s[e] != '\'') e += s[e] == '\\' ? 2 : 1;
      e = std::min(e + 1, s.size());
    } else {
      while (e < s.size() && s[e] != ' ') ++e;
    }
    s.replace(v, e - v, kRedacted);
  }
  return s;
}

}  // namespace vodfs::index
