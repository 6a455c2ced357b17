// vodfs prefetch PATH...: warms the cache of a mounted vodfs by reading the
// files through it, with a progress line (bytes, rate, ETA). What would not
// fit in the disk cache's quota is left out.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/progress.h"
#include "vodfs/util/strings.h"

namespace vodfs::cli {

namespace {

namespace fs = std::filesystem;

// The root of the vodfs mount holding `p` (the directory with .vodfs/stats).
std::string MountRoot(fs::path p) {
  std::error_code ec;
  p = fs::absolute(p, ec);
  for (; !p.empty(); p = p.parent_path()) {
    if (fs::exists(p / ".vodfs" / "stats", ec)) return p.string();
    if (p == p.root_path()) break;
  }
  return "";
}

}  // namespace

int RunPrefetch(const Options& o, std::ostream& out, std::ostream& err) {
  if (o.positional.size() < 2) {
    err << "usage: vodfs prefetch PATH...   (files or directories of a mounted vodfs)\n";
    return 2;
  }
  struct File {
    std::string path;
    uint64_t size;
  };
  std::vector<File> files;
  std::string root;
  for (size_t i = 1; i < o.positional.size(); ++i) {
    const std::string p = o.positional[i];
    std::string r = MountRoot(p);
    if (r.empty()) {
      err << "vodfs prefetch: " << p << " is not inside a vodfs mount\n";
      return 2;
    }
    if (!root.empty() && r != root) {
      err << "vodfs prefetch: all paths must be in one mount\n";
      return 2;
    }
    root = r;
    std::error_code ec;
    auto add = [&](const fs::directory_entry& e) {
      if (e.is_regular_file(ec) && !e.is_symlink(ec) && e.path().string().find("/.vodfs/") == std::string::npos) {
        files.push_back({e.path().string(), static_cast<uint64_t>(e.file_size(ec))});
      }
    };
    fs::directory_entry top(p, ec);
    if (top.is_directory(ec)) {
      for (const auto& e : fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec)) add(e);
    } else {
      add(top);
    }
  }
  uint64_t total = 0;
  for (const auto& f : files) total += f.size;

  // What the mount's disk cache can hold.
  std::ifstream in(root + "/.vodfs/stats");
  std::stringstream ss;
  ss << in.rdbuf();
  auto stats = nlohmann::json::parse(ss.str(), nullptr, false);
  uint64_t room = UINT64_MAX;
  if (!stats.is_discarded() && stats["cache"]["disk"].value("enabled", false)) {
    room = stats["cache"]["disk"].value("quota", uint64_t{0});
  } else if (!stats.is_discarded()) {
    err << "vodfs prefetch: the mount has no disk cache; warming its memory cache only\n";
    room = stats["cache"]["memory"].value("budget", uint64_t{0});
  }
  if (total > room) {
    uint64_t kept = 0;
    size_t n = 0;
    while (n < files.size() && kept + files[n].size <= room) kept += files[n++].size;
    err << "vodfs prefetch: " << str::FormatSize(total) << " asked, the cache holds " << str::FormatSize(room)
        << ": prefetching the first " << n << " of " << files.size() << " files\n";
    files.resize(n);
    total = kept;
  }

  std::atomic<uint64_t> done{0};
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::condition_variable finished_cv;
  size_t finished = 0;  // GUARDED_BY(mu)
  std::vector<std::string> failures;
  const size_t workers = std::min<size_t>(4, std::max<size_t>(1, files.size()));
  auto fail = [&](const std::string& path, int e) {
    std::lock_guard<std::mutex> lock(mu);
    failures.push_back(path + ": " + std::strerror(e));
  };
  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      std::vector<char> buf(4 << 20);
      for (size_t i = next++; i < files.size(); i = next++) {
        int fd = ::open(files[i].path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
          fail(files[i].path, errno);
          continue;
        }
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        for (;;) {
          const ssize_t r = ::read(fd, buf.data(), buf.size());
          if (r < 0 && errno == EINTR) continue;
          if (r < 0) fail(files[i].path, errno);
          if (r <= 0) break;
          done += static_cast<uint64_t>(r);
        }
        // The point is the vodfs cache, not the page cache.
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
      }
      std::lock_guard<std::mutex> lock(mu);
      ++finished;
      finished_cv.notify_all();
    });
  }
  const bool tty = ::isatty(STDERR_FILENO);
  const auto t0 = std::chrono::steady_clock::now();
  auto report = [&](bool final) {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const uint64_t d = done.load();
    const double rate = secs > 0 ? static_cast<double>(d) / secs : 0;
    const std::string bar = Bar(static_cast<double>(d), static_cast<double>(total));
    const double eta = rate > 0 ? static_cast<double>(total - std::min(total, d)) / rate : -1;
    err << (tty ? "\r" : "") << bar << " " << str::FormatSize(d) << " / " << str::FormatSize(total) << "  "
        << str::FormatSize(static_cast<uint64_t>(rate)) << "/s  ETA " << (final ? "0:00" : FormatEta(eta))
        << (tty && !final ? "   " : "\n");
    err.flush();
  };
  {
    // A line every 200 ms on a terminal, every 5 s into a log.
    const auto period = std::chrono::milliseconds(tty ? 200 : 5000);
    std::unique_lock<std::mutex> lock(mu);
    while (!finished_cv.wait_for(lock, period, [&] { return finished == workers; })) {
      lock.unlock();
      report(false);
      lock.lock();
    }
  }
  for (auto& t : threads) t.join();
  report(true);
  out << "prefetched " << files.size() << " files, " << str::FormatSize(done.load()) << "\n";
  for (const auto& f : failures) err << "vodfs prefetch: " << f << "\n";
  return failures.empty() ? 0 : 1;
}

}  // namespace vodfs::cli
