#include "support/services.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

namespace vodfs::testing {

namespace {

namespace fs = std::filesystem;

// Where each started server's pid is recorded for the cleanup fixture.
std::string RegistryDir() {
  const fs::path dir = fs::temp_directory_path() / "vodfs-test-services";
  std::error_code ec;
  fs::create_directories(dir, ec);
  return dir.string();
}

void Register(pid_t pid, const std::string& what) {
  std::ofstream(RegistryDir() + "/" + std::to_string(pid)) << what << "\n";
}

void Unregister(pid_t pid) {
  std::error_code ec;
  fs::remove(RegistryDir() + "/" + std::to_string(pid), ec);
}

// The unprivileged user a server runs as when the tests run as root.
struct User {
  uid_t uid = 0;
  gid_t gid = 0;
};
User ServiceUser(const char* name) {
  if (geteuid() != 0) return {geteuid(), getegid()};
  const passwd* pw = getpwnam(name);
  if (!pw) throw std::runtime_error(std::string("no user ") + name + ": run scripts/install-deps.sh");
  return {pw->pw_uid, pw->pw_gid};
}

// Starts argv as `user`, output to `log`; the child dies with the test.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log, const User* user) {
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    setpgid(0, 0);
    if (user && geteuid() == 0) {
      if (setgid(user->gid) != 0 || setuid(user->uid) != 0) _exit(126);
    }
    // After the change of user: changing credentials clears the setting.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

int WaitExit(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool Exited(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == pid;
}

// Ends `pid` with `sig`, then SIGKILL after `grace`; reaps it.
void Terminate(pid_t pid, int sig, std::chrono::seconds grace) {
  if (pid <= 0) return;
  kill(pid, sig);
  kill(pid, SIGCONT);  // a stopped process acts on its signal only once running
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Exited(pid)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

std::string PostgresBin() {
  for (const char* v : {"17", "16", "15", "14"}) {
    const std::string dir = std::string("/usr/lib/postgresql/") + v + "/bin";
    if (fs::exists(dir + "/postgres") && fs::exists(dir + "/initdb")) return dir;
  }
  throw std::runtime_error("PostgreSQL is not installed: run scripts/install-deps.sh");
}

std::string RandomHex(size_t n) {
  std::random_device rd;
  std::string s;
  const char* digits = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) s += digits[rd() % 16];
  return s;
}

bool CanConnect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

}  // namespace

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = 0;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  close(fd);
  return ntohs(a.sin_port);
}

// ---------------------------------------------------------------------------
// PostgreSQL

PostgresServer::PostgresServer() : bin_(PostgresBin()), password_("pw-" + RandomHex(16)) {
  const User user = ServiceUser("postgres");
  // The cluster's directory belongs to its user (PostgreSQL insists).
  if (chown(dir_.path().c_str(), user.uid, user.gid) != 0) throw std::runtime_error("cannot chown the cluster dir");
  const std::string data = dir_.path() + "/data";
  const pid_t init = Spawn({bin_ + "/initdb", "-D", data, "-U", "postgres", "-E", "UTF8", "--locale=C", "-N",
                            "--auth-local=trust", "--auth-host=scram-sha-256"},
                           dir_.path() + "/initdb.log", &user);
  if (WaitExit(init) != 0) {
    throw std::runtime_error("initdb failed: " + ReadFile(dir_.path() + "/initdb.log"));
  }
  Launch();
  Admin(std::string("CREATE ROLE ") + kUser + " LOGIN CREATEDB PASSWORD '" + password_ + "'");
}

PostgresServer::~PostgresServer() { Stop(); }

namespace {
PostgresServer* shared_server = nullptr;
pid_t shared_owner = 0;
}  // namespace

PostgresServer& PostgresServer::Shared() {
  // Stopped at the exit of the process that started it, and only there: a
  // forked test child that calls exit() must not stop its parent's server.
  // A process that dies without exit() takes it along (PR_SET_PDEATHSIG).
  if (!shared_server) {
    shared_server = new PostgresServer();
    shared_owner = getpid();
    std::atexit([] {
      if (getpid() == shared_owner) shared_server->Stop();
    });
  }
  return *shared_server;
}

void PostgresServer::Launch() {
  const User user = ServiceUser("postgres");
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (port_ == 0 || attempt > 0) port_ = FreeLoopbackPort();
    // Durability is of no use to a throw-away cluster: no fsync, small
    // buffers (the machine is shared), connections for several mounts.
    pid_ = Spawn({bin_ + "/postgres", "-D", dir_.path() + "/data", "-p", std::to_string(port_), "-c",
                  "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + dir_.path(), "-c", "fsync=off",
                  "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "shared_buffers=16MB", "-c",
                  "max_connections=200"},
                 dir_.path() + "/postgres.log", &user);
    Register(pid_, "postgres " + dir_.path());
    const std::string ping = "host=" + dir_.path() + " port=" + std::to_string(port_) + " dbname=postgres user=postgres";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (PQping(ping.c_str()) == PQPING_OK) return;
      if (Exited(pid_)) break;  // the port was taken meanwhile: another one
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Terminate(pid_, SIGQUIT, std::chrono::seconds(5));
    Unregister(pid_);
    pid_ = -1;
  }
  throw std::runtime_error("PostgreSQL did not start: " + ReadFile(dir_.path() + "/postgres.log"));
}

void PostgresServer::Stop() {
  if (pid_ <= 0) return;
  Terminate(pid_, SIGINT, std::chrono::seconds(20));  // fast shutdown: sessions are cut
  Unregister(pid_);
  pid_ = -1;
}

void PostgresServer::Start() {
  if (pid_ > 0) return;
  Launch();
}

std::string PostgresServer::Url(const std::string& database) const {
  return std::string("postgresql://") + kUser + ":" + password_ + "@127.0.0.1:" + std::to_string(port_) + "/" +
         database;
}

std::string PostgresServer::CreateDatabase() {
  const std::string name = "t" + std::to_string(getpid()) + "_" + std::to_string(++databases_);
  Admin("CREATE DATABASE " + name + " OWNER " + kUser);
  return Url(name);
}

std::string PostgresServer::Admin(const std::string& sql, const std::string& database) const {
  const std::string conninfo =
      "host=" + dir_.path() + " port=" + std::to_string(port_) + " dbname=" + database + " user=postgres";
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string e = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("cannot connect as the superuser: " + e);
  }
  PGresult* r = PQexec(c, sql.c_str());
  const ExecStatusType st = PQresultStatus(r);
  std::string out;
  if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && PQnfields(r) > 0) out = PQgetvalue(r, 0, 0);
  std::string err = (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) ? "" : PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
  if (!err.empty()) throw std::runtime_error("admin query failed: " + sql + ": " + err);
  return out;
}

// ---------------------------------------------------------------------------
// memcached

MemcachedServer::MemcachedServer() { Start(); }

MemcachedServer::~MemcachedServer() {
  if (pid_ > 0) {
    Terminate(pid_, SIGTERM, std::chrono::seconds(5));
    Unregister(pid_);
  }
}

void MemcachedServer::Start() {
  if (pid_ > 0) return;
  const char* binary = "/usr/bin/memcached";
  if (!fs::exists(binary)) throw std::runtime_error("memcached is not installed: run scripts/install-deps.sh");
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (port_ == 0 || attempt > 0) port_ = FreeLoopbackPort();
    // 64 MiB, one worker thread: a test's blocks, on a shared machine.
    // Started as its own user (memcached refuses root) by Spawn rather than
    // with -u: a process that changes its user itself loses the
    // parent-death signal that ends it with a crashed test.
    const User user = ServiceUser("memcache");
    pid_ = Spawn({binary, "-l", "127.0.0.1", "-p", std::to_string(port_), "-U", "0", "-m", "64", "-t", "1"},
                 dir_.path() + "/memcached.log", &user);
    Register(pid_, "memcached " + dir_.path());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (CanConnect(port_)) return;
      if (Exited(pid_)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Terminate(pid_, SIGKILL, std::chrono::seconds(1));
    Unregister(pid_);
    pid_ = -1;
  }
  throw std::runtime_error("memcached did not start: " + ReadFile(dir_.path() + "/memcached.log"));
}

void MemcachedServer::Pause() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
}

void MemcachedServer::Resume() {
  if (pid_ > 0) kill(pid_, SIGCONT);
}

void MemcachedServer::Kill() {
  if (pid_ <= 0) return;
  Terminate(pid_, SIGKILL, std::chrono::seconds(1));
  Unregister(pid_);
  pid_ = -1;
}

}  // namespace vodfs::testing
