#include "cli/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "vodfs/util/strings.h"

namespace vodfs::cli {

namespace {

std::string ReadText(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int64_t BootTime() {
  for (const auto& line : str::Split(ReadText("/proc/stat"), '\n', true)) {
    if (str::StartsWith(line, "btime ")) return str::ParseInt64(str::Trim(line.substr(6))).value_or(0);
  }
  return 0;
}

uint64_t OpenFds() {
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return 0;
  uint64_t n = 0;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n > 0 ? n - 1 : 0;  // not the one opendir itself holds
}

}  // namespace

std::optional<ProcessStats> ParseProcStat(std::string_view stat, long ticks, long page_size, int64_t boot_time) {
  const size_t paren = stat.rfind(')');
  if (paren == std::string_view::npos || ticks <= 0) return std::nullopt;
  // Field 3 (state) is fields[0]; field n is fields[n - 3] (proc(5)).
  std::vector<std::string> fields;
  for (const auto& f : str::Split(stat.substr(paren + 1), ' ', true)) fields.push_back(std::string(str::Trim(f)));
  if (fields.size() < 22) return std::nullopt;
  auto num = [&fields](size_t field) { return str::ParseInt64(fields[field - 3]); };
  auto utime = num(14), stime = num(15), start = num(22), vsize = num(23), rss = num(24);
  if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
  ProcessStats p;
  p.cpu_seconds = static_cast<double>(*utime + *stime) / static_cast<double>(ticks);
  p.start_time_seconds = static_cast<double>(boot_time) + static_cast<double>(*start) / static_cast<double>(ticks);
  p.virtual_bytes = static_cast<uint64_t>(*vsize);
  p.resident_bytes = static_cast<uint64_t>(*rss) * static_cast<uint64_t>(page_size);
  return p;
}

ProcessStats ReadProcessStats() {
  ProcessStats p =
      ParseProcStat(ReadText("/proc/self/stat"), ::sysconf(_SC_CLK_TCK), ::sysconf(_SC_PAGESIZE), BootTime())
          .value_or(ProcessStats{});
  p.open_fds = OpenFds();
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) p.max_fds = static_cast<uint64_t>(rl.rlim_cur);
  return p;
}

}  // namespace vodfs::cli
