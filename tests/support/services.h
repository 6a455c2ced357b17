// Throw-away PostgreSQL and memcached servers for tests: really started,
// on 127.0.0.1 and a free port, in a temporary directory, and stopped when
// the object dies, whatever the test's outcome.
//
// Three guards against leftovers: the destructor stops the server; the
// server gets SIGKILL if the test process dies first (PR_SET_PDEATHSIG);
// and each server's pid is recorded under <tmp>/vodfs-test-services/, which
// the CTest cleanup fixture `services` (tests/support/stop-services.sh)
// reads to stop whatever a crashed test left running.
//
// PostgreSQL runs as its own unprivileged user (`postgres`, when the tests
// run as root: initdb refuses root) in a cluster made by initdb for this
// object; tests connect over TCP as a role with a password (so that the
// password's redaction can be tested) and administer it as the superuser
// over the cluster's private Unix socket.
//
// The binaries come from scripts/install-deps.sh (postgresql, memcached);
// a missing one fails the test with that advice rather than skipping it.
//
// Thread-safety: none; one test thread drives a server.
#pragma once

#include <sys/types.h>

#include <string>

#include "support/temp_dir.h"

namespace vodfs::testing {

// A port on 127.0.0.1 that nothing listened on a moment ago.
int FreeLoopbackPort();

class PostgresServer {
 public:
  PostgresServer();  // initdb + start; throws std::runtime_error on failure
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // One server for the whole test binary, started on first use.
  static PostgresServer& Shared();

  int port() const { return port_; }
  const std::string& password() const { return password_; }
  static constexpr const char* kUser = "vodfs_test";

  // A new, empty database owned by kUser; returns its connection URI
  // (with the password).
  std::string CreateDatabase();
  std::string Url(const std::string& database) const;
  // Runs `sql` as the superuser on `database`; returns the first column of
  // the first row ("" when none); throws on an error.
  std::string Admin(const std::string& sql, const std::string& database = "postgres") const;

  // Stops the server (fast shutdown: sessions are cut) and starts it again
  // on the same port and data, for tests of a database that goes away.
  void Stop();
  void Start();
  bool running() const { return pid_ > 0; }

 private:
  void Launch();
  TempDir dir_;
  std::string bin_;  // the directory of initdb, postgres
  int port_ = 0;
  std::string password_;
  pid_t pid_ = -1;
  int databases_ = 0;
};

class MemcachedServer {
 public:
  MemcachedServer();  // throws std::runtime_error on failure
  ~MemcachedServer();
  MemcachedServer(const MemcachedServer&) = delete;
  MemcachedServer& operator=(const MemcachedServer&) = delete;

  int port() const { return port_; }
  std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }
  // SIGKILL, as a crash; Start() again on the same port (empty).
  void Kill();
  // SIGSTOP / SIGCONT: a server that holds its connections and answers
  // nothing (a hung machine).
  void Pause();
  void Resume();
  void Start();
  bool running() const { return pid_ > 0; }

 private:
  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace vodfs::testing
