// The process_* metrics every Prometheus client library exports (the
// names and meanings of client_golang's and client_python's process
// collectors), read from /proc, so that dashboards made for any exporter
// work on vodfs: memory, CPU, file descriptors, start time.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace vodfs::cli {

struct ProcessStats {
  double cpu_seconds = 0;          // user + system
  uint64_t resident_bytes = 0;     // RSS
  uint64_t virtual_bytes = 0;
  double start_time_seconds = 0;   // Unix time the process started
  uint64_t open_fds = 0;
  uint64_t max_fds = 0;            // the soft RLIMIT_NOFILE
};

// Parses the text of /proc/<pid>/stat. `ticks` is sysconf(_SC_CLK_TCK),
// `page_size` sysconf(_SC_PAGESIZE), `boot_time` /proc/stat's btime. The
// command name may hold spaces and parentheses: fields are counted from the
// last ')'. nullopt for text that is not such a line.
std::optional<ProcessStats> ParseProcStat(std::string_view stat, long ticks, long page_size, int64_t boot_time);

// This process, now. Fields that cannot be read stay 0.
ProcessStats ReadProcessStats();

}  // namespace vodfs::cli
