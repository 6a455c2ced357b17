// Running the project's binaries from tests.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace vodfs::testing {

struct ProcessResult {
  int exit_code = -1;  // -1: did not exit normally
  std::string out;
  std::string err;
};

// Runs argv to completion with extra environment variables (added to, or
// overriding, the test's own), capturing stdout and stderr.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {},
                         int timeout_seconds = 120);

// Path of a binary in the build tree, e.g. BuildPath("mount/vodfs").
std::string BuildPath(const std::string& rel);
std::string SourcePath(const std::string& rel);

}  // namespace vodfs::testing
