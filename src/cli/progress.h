// Progress lines for long commands (vodfs prefetch, vodfs index sync):
// "[#####-----] 1.2 GiB / 4.0 GiB  210 MiB/s  ETA 0:13". On a terminal a
// line redraws itself; into a file or a pipe each is a line of its own.
#pragma once

#include <string>

namespace vodfs::cli {

// "m:ss" or "h:mm:ss"; "--:--" when not known.
std::string FormatEta(double seconds);
// "[####------]" for `done` of `total` (full when total is 0).
std::string Bar(double done, double total, int width = 30);

}  // namespace vodfs::cli
