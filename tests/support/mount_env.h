// Real processes for mount tests: the emulator and vodfs itself.
#pragma once

#include <unistd.h>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.h"
#include "vodfs/http/http_client.h"

namespace vodfs::testing {

// Why mount tests cannot run here, or "" if they can.
std::string MountUnavailableReason();
// Whether a test that cannot run must fail rather than skip
// (VODFS_NO_SKIP=1, which scripts/test.sh sets: on the machines it runs
// on, everything a test needs is there).
bool SkipsAreFailures();

}  // namespace vodfs::testing

// Skips the test (fails it under VODFS_NO_SKIP) when `why` is not empty.
#define VODFS_SKIP_UNLESS(why_expr)                                        \
  do {                                                                     \
    if (std::string vodfs_why_ = (why_expr); !vodfs_why_.empty()) {        \
      if (::vodfs::testing::SkipsAreFailures()) FAIL() << vodfs_why_;      \
      GTEST_SKIP() << vodfs_why_;                                          \
    }                                                                      \
  } while (0)
#define VODFS_SKIP_WITHOUT_FUSE() VODFS_SKIP_UNLESS(::vodfs::testing::MountUnavailableReason())
#define VODFS_SKIP_UNLESS_ROOT(what) VODFS_SKIP_UNLESS(geteuid() == 0 ? std::string() : std::string(what) + " needs root")

namespace vodfs::testing {
bool IsMounted(const std::string& path);
// The demo library made by the make_demo_library test fixture.
std::string DemoLibraryDir();

// A child process, killed (SIGKILL) and reaped on destruction.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
        const std::string& log_path);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  pid_t pid() const { return pid_; }
  bool Running();
  void Signal(int sig);
  // Waits up to `seconds` for exit; returns the exit code, or -1.
  int Wait(double seconds);

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  bool reaped_ = false;
};

// vodfs-emulator as a process.
class EmulatorProcess {
 public:
  explicit EmulatorProcess(std::vector<std::string> args);
  ~EmulatorProcess();
  std::string api() const { return addr_.value("api", ""); }
  std::string control() const { return addr_.value("control", ""); }
  nlohmann::json Control(const std::string& method, const std::string& path,
                         const nlohmann::json& body = nullptr);
  void Kill();
  // Starts it again on the same ports.
  void Restart();
  const std::string& log() const { return log_; }

 private:
  void Start(const std::vector<std::string>& extra);
  std::vector<std::string> args_;
  TempDir dir_;
  std::string log_;
  nlohmann::json addr_;
  std::unique_ptr<Child> child_;
  std::unique_ptr<http::HttpClient> http_;
};

// A mounted vodfs (foreground process), unmounted on destruction.
class VodfsMount {
 public:
  VodfsMount(const std::string& source, std::vector<std::string> options = {},
             std::map<std::string, std::string> env = {});
  ~VodfsMount();
  const std::string& path() const { return mnt_; }
  std::string operator/(const std::string& rel) const { return mnt_ + "/" + rel; }
  std::string LogText() const;
  Child& process() { return *child_; }
  // Unmounts (lazily) and waits for vodfs to exit; returns its exit code.
  int Unmount();

 private:
  TempDir dir_;
  std::string mnt_;
  std::string log_;
  std::unique_ptr<Child> child_;
  bool mounted_ = false;
};

// .vodfs/stats of the mount at `mnt`, parsed (a discarded value if unreadable).
nlohmann::json MountStats(const std::string& mnt);
// How many times the emulator answered API operation `op`.
int64_t ApiCalls(EmulatorProcess& emulator, const std::string& op);
// Entries of directory `dir` (0 if it cannot be listed).
size_t EntryCount(const std::string& dir);

// Polls `pred` every 50 ms until it holds or `seconds` pass; its last answer.
template <typename F>
bool Eventually(F pred, double seconds = 60) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

std::map<std::string, std::string> DemoCredentials();
// sha256sum of a file, by the real tool.
std::string Sha256Sum(const std::string& path);
std::string Sha256OfFile(const std::string& path);  // computed in-process

}  // namespace vodfs::testing
