// Documents that make testable claims are held to them.
#include <gtest/gtest.h>

#include <filesystem>
#include <cctype>
#include <set>

#include "support/process.h"
#include "support/temp_dir.h"
#include "vodfs/util/strings.h"

namespace vodfs::testing {
namespace {

// Every "Suite.Name" test of every test binary in the build.
std::set<std::string> AllTests() {
  std::set<std::string> out;
  for (const char* dir : {"tests/unit", "tests/integration", "tests/mount"}) {
    for (const auto& e : std::filesystem::directory_iterator(BuildPath(dir))) {
      if (!e.is_regular_file() || !str::EndsWith(e.path().string(), "_test")) continue;
      auto r = RunProcess({e.path().string(), "--gtest_list_tests"});
      std::string suite;
      for (const auto& line : str::Split(r.out, '\n', true)) {
        if (line[0] != ' ') {
          suite = line.substr(0, line.find('.'));
          // Parameterised suites list as "Prefix/Suite."
          suite = suite.substr(suite.rfind('/') + 1);
        } else {
          std::string name(str::Trim(line));
          name = name.substr(0, name.find_first_of(" /"));
          out.insert(suite + "." + name);
        }
      }
    }
  }
  return out;
}

TEST(DocsTest, EverySemanticsPromiseNamesExistingTests) {
  const std::string doc = ReadFile(SourcePath("docs/SEMANTICS.md"));
  ASSERT_FALSE(doc.empty());
  const std::set<std::string> tests = AllTests();
  ASSERT_GT(tests.size(), 100u);
  // Every `SomethingTest.Name` in backquotes.
  size_t named = 0;
  for (size_t open = doc.find('`'); open != std::string::npos; open = doc.find('`', open + 1)) {
    const size_t close = doc.find('`', open + 1);
    if (close == std::string::npos) break;
    const std::string token = doc.substr(open + 1, close - open - 1);
    open = close;
    const size_t dot = token.find('.');
    if (dot == std::string::npos || !str::EndsWith(token.substr(0, dot), "Test") || !std::isupper(token[0]) ||
        token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.") != std::string::npos) {
      continue;
    }
    const std::string& name = token;
    if (name == "DocsTest.EverySemanticsPromiseNamesExistingTests") continue;
    EXPECT_TRUE(tests.count(name)) << "docs/SEMANTICS.md names " << name << ", which does not exist";
    ++named;
  }
  EXPECT_GE(named, 30u);
}

}  // namespace
}  // namespace vodfs::testing
