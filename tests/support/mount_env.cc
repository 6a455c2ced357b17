#include "support/mount_env.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/process.h"
#include "vodfs/auth/crypto.h"
#include "vodfs/util/strings.h"

extern char** environ;

namespace vodfs::testing {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

bool SkipsAreFailures() {
  const char* v = std::getenv("VODFS_NO_SKIP");
  return v != nullptr && std::string(v) == "1";
}

std::string MountUnavailableReason() {
  if (access("/dev/fuse", R_OK | W_OK) != 0) return "/dev/fuse is not usable";
  if (access("/usr/bin/fusermount3", X_OK) != 0 && access("/bin/fusermount3", X_OK) != 0) {
    return "fusermount3 is not installed";
  }
  return "";
}

bool IsMounted(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    auto f = str::Split(line, ' ');
    if (f.size() > 4 && f[4] == path) return true;
  }
  return false;
}

std::string DemoLibraryDir() { return BuildPath("demo-library"); }

std::map<std::string, std::string> DemoCredentials() {
  return {{"ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI5tEmulatorDemoKey"},
          {"ALIBABA_CLOUD_ACCESS_KEY_SECRET", "EmulatorDemoSecret0123456789abcd"},
          {"ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true"}};
}

Child::Child(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
             const std::string& log_path) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : env) merged[k] = v;
  std::vector<std::string> env_strings, args = argv;
  for (const auto& [k, v] : merged) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, cargs;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  for (auto& s : args) cargs.push_back(s.data());
  cargs.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  int rc = posix_spawn(&pid_, cargs[0], &fa, nullptr, cargs.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
}

Child::~Child() {
  if (!reaped_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    Wait(10);
  }
}

bool Child::Running() {
  if (reaped_) return false;
  int st;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    status_ = st;
    return false;
  }
  return true;
}

void Child::Signal(int sig) {
  if (!reaped_) kill(pid_, sig);
}

int Child::Wait(double seconds) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (!reaped_) {
    int st;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      status_ = st;
      break;
    }
    if (Clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling for exit
  }
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + (WIFSIGNALED(status_) ? WTERMSIG(status_) : 0);
}

EmulatorProcess::EmulatorProcess(std::vector<std::string> args)
    : args_(std::move(args)), http_(http::NewCurlHttpClient()) {
  log_ = dir_.path() + "/emulator.log";
  Start({});
}

EmulatorProcess::~EmulatorProcess() { Kill(); }

void EmulatorProcess::Start(const std::vector<std::string>& extra) {
  const std::string addr_file = dir_.path() + "/addresses.json";
  unlink(addr_file.c_str());
  std::vector<std::string> argv = {BuildPath("src/emulator/vodfs-emulator"), "--address-file", addr_file};
  argv.insert(argv.end(), args_.begin(), args_.end());
  argv.insert(argv.end(), extra.begin(), extra.end());
  child_ = std::make_unique<Child>(argv, std::map<std::string, std::string>{}, log_);
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (true) {
    std::ifstream in(addr_file);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      addr_ = json::parse(ss.str(), nullptr, false);
      if (!addr_.is_discarded() && addr_.contains("api")) break;
    }
    if (!child_->Running()) throw std::runtime_error("the emulator exited: " + ReadFile(log_));
    if (Clock::now() > deadline) throw std::runtime_error("the emulator did not start");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // waiting for its address file
  }
}

void EmulatorProcess::Kill() {
  if (child_) {
    child_->Signal(SIGKILL);
    child_->Wait(10);
    child_.reset();
  }
}

void EmulatorProcess::Restart() {
  auto port = [this](const char* name) {
    std::string url = addr_.value(name, "");
    return url.substr(url.rfind(':') + 1);
  };
  std::vector<std::string> ports = {"--api-port", port("api"), "--oss-port", port("oss"),
                                    "--cdn-port", port("cdn"), "--control-port", port("control")};
  Kill();
  Start(ports);
}

json EmulatorProcess::Control(const std::string& method, const std::string& path, const json& body) {
  http::Request req;
  req.method = method;
  req.url = control() + path;
  if (!body.is_null()) req.body = body.dump();
  auto r = http_->Send(req, 1 << 26);
  if (!r.ok() || r->status != 200) {
    throw std::runtime_error("control " + path + " failed: " + (r.ok() ? r->body : r.error().ToString()));
  }
  return json::parse(r->body, nullptr, false);
}

VodfsMount::VodfsMount(const std::string& source, std::vector<std::string> options,
                       std::map<std::string, std::string> env) {
  mnt_ = dir_.path() + "/mnt";
  mkdir(mnt_.c_str(), 0755);
  log_ = dir_.path() + "/vodfs.log";
  std::vector<std::string> argv = {BuildPath("mount/vodfs"), source, mnt_, "-f",
                                   "--cache_dir", dir_.path() + "/cache"};
  argv.insert(argv.end(), options.begin(), options.end());
  auto e = DemoCredentials();
  e["HOME"] = dir_.path();
  for (auto& [k, v] : env) e[k] = v;
  child_ = std::make_unique<Child>(argv, e, log_);
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (!IsMounted(mnt_)) {
    if (!child_->Running()) throw std::runtime_error("vodfs exited before mounting:\n" + LogText());
    if (Clock::now() > deadline) throw std::runtime_error("vodfs did not mount in time:\n" + LogText());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling for the mount to appear
  }
  mounted_ = true;
}

VodfsMount::~VodfsMount() { Unmount(); }

int VodfsMount::Unmount() {
  if (mounted_ || IsMounted(mnt_)) {
    RunProcess({"/usr/bin/fusermount3", "-u", "-z", mnt_});
    mounted_ = false;
  }
  int code = child_->Wait(30);
  if (code == -1) {
    child_->Signal(SIGKILL);
    code = child_->Wait(10);
  }
  return code;
}

std::string VodfsMount::LogText() const { return ReadFile(log_); }

std::string Sha256Sum(const std::string& path) {
  auto r = RunProcess({"/usr/bin/sha256sum", "-b", path}, {}, 600);
  if (r.exit_code != 0) return "sha256sum failed: " + r.err;
  return r.out.substr(0, 64);
}

std::string Sha256OfFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  auth::Sha256Hasher h;
  std::string buf(1 << 20, '\0');
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.Update(std::string_view(buf.data(), static_cast<size_t>(in.gcount())));
  }
  return h.FinalHex();
}

nlohmann::json MountStats(const std::string& mnt) {
  std::ifstream in(mnt + "/.vodfs/stats");
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str(), nullptr, false);
}

int64_t ApiCalls(EmulatorProcess& emulator, const std::string& op) {
  const nlohmann::json c = emulator.Control("GET", "/counters");
  return c["api"]["calls"].value(op, int64_t{0});
}

size_t EntryCount(const std::string& dir) {
  std::error_code ec;
  size_t n = 0;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    ++n;
  }
  return ec ? 0 : n;
}

}  // namespace vodfs::testing
