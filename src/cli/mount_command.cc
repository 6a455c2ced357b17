#include <iostream>

#include "cli/commands.h"

namespace vodfs::cli {

int RunMount(const Options& o) {
  if (o.positional.size() != 2) {
    std::cerr << "usage: vodfs [OPTIONS] SOURCE MOUNTPOINT (see vodfs --help)\n";
    return 2;
  }
  std::cerr << "vodfs: mounting is not available in this build\n";
  return 1;
}

}  // namespace vodfs::cli
