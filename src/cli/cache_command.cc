// vodfs cache info|clear
#include <iostream>

#include "cli/api_stack.h"
#include "cli/commands.h"
#include "vodfs/cache/disk_tier.h"
#include "vodfs/util/strings.h"

namespace vodfs::cli {

int RunCache(const Options& o, std::ostream& out, std::ostream& err) {
  const std::string what = o.positional.size() > 1 ? o.positional[1] : "";
  const std::string dir = CacheDir(o);
  if (what == "info") {
    auto s = cache::DiskTier::Inspect(dir);
    if (!s.ok()) {
      err << "vodfs cache: " << s.error().message << "\n";
      return 1;
    }
    out << "directory  " << dir << "\n"
        << "used       " << str::FormatSize(s->bytes) << " in " << s->extents << " extents\n"
        << "quota      " << str::FormatSize(DiskQuota(o, dir))
        << (o.disk_cache_size ? "" : " (default: 10% of the free space, 256 MiB..20 GiB)") << "\n";
    return 0;
  }
  if (what == "clear") {
    Status s = cache::DiskTier::Clear(dir);
    if (!s.ok()) {
      err << "vodfs cache: " << s.error().message << "\n";
      return 1;
    }
    out << "cleared " << dir << "\n";
    return 0;
  }
  err << "usage: vodfs cache info|clear [--cache_dir DIR]\n";
  return 2;
}

}  // namespace vodfs::cli
