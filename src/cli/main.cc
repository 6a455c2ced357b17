#include <iostream>

#include "cli/api_stack.h"
#include "cli/commands.h"
#include "vodfs/http/http_client.h"
#include "vodfs/util/log.h"
#include "vodfs/version.h"

namespace vodfs::cli {

int RunMount(const Options& o);  // mount_command.cc

int Main(int argc, char** argv) {
  http::GlobalInit();
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = ParseArgs(args);
  if (!parsed.ok()) {
    std::cerr << "vodfs: " << log::Redact(parsed.error().message) << "\n";
    return 2;
  }
  Options& o = *parsed;
  if (o.help) {
    std::cout << CommandHelpText(o.positional.empty() ? "" : o.positional[0]);
    return 0;
  }
  if (o.version) {
    std::cout << "vodfs " << kVersion;
    if (kGitDescribe[0]) std::cout << " (" << kGitDescribe << ")";
    std::cout << "\n";
    return 0;
  }
  const std::string cmd = o.positional.empty() ? "" : o.positional[0];
  if (cmd == "cache") return RunCache(o, std::cout, std::cerr);
  if (cmd == "prefetch") return RunPrefetch(o, std::cout, std::cerr);
  if (cmd == "index") {
    if (Status s = SetUpLogging(o, false); !s.ok()) {
      std::cerr << "vodfs: " << s.error().message << "\n";
      return 2;
    }
    return RunIndex(o, std::cout, std::cerr);
  }
  if (cmd == "api" || cmd == "check") {
    if (Status s = SetUpLogging(o, false); !s.ok()) {
      std::cerr << "vodfs: " << s.error().message << "\n";
      return 2;
    }
    return cmd == "api" ? RunApi(o, std::cout, std::cerr) : RunCheck(o, std::cout);
  }
  return RunMount(o);
}

}  // namespace vodfs::cli
