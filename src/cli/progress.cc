#include "cli/progress.h"

#include <algorithm>
#include <cstdio>

namespace vodfs::cli {

std::string FormatEta(double s) {
  // Beyond 99 hours an estimate says nothing useful.
  if (s < 0 || s > 359999) return "--:--";
  char b[32];
  const int t = static_cast<int>(s);
  if (t >= 3600) {
    std::snprintf(b, sizeof(b), "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
  } else {
    std::snprintf(b, sizeof(b), "%d:%02d", t / 60, t % 60);
  }
  return b;
}

std::string Bar(double done, double total, int width) {
  const double f = total > 0 ? std::clamp(done / total, 0.0, 1.0) : 1.0;
  const int filled = static_cast<int>(f * width);
  return "[" + std::string(filled, '#') + std::string(width - filled, '-') + "]";
}

}  // namespace vodfs::cli
