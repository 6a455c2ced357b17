// The vodfs subcommands. Each returns the process exit status.
#pragma once

#include <iosfwd>

#include "cli/options.h"

namespace vodfs::cli {

// vodfs api OPERATION [Name=Value ...]
int RunApi(const Options& o, std::ostream& out, std::ostream& err);
// vodfs check [SOURCE]
int RunCheck(const Options& o, std::ostream& out);
// vodfs cache info|clear
int RunCache(const Options& o, std::ostream& out, std::ostream& err);
// vodfs index status|sync|clear
int RunIndex(const Options& o, std::ostream& out, std::ostream& err);
// vodfs prefetch PATH...
int RunPrefetch(const Options& o, std::ostream& out, std::ostream& err);
// The entry point of the vodfs binary.
int Main(int argc, char** argv);

}  // namespace vodfs::cli
