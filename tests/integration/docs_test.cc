// Documents that make testable claims are held to them.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
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
  std::regex ref("`([A-Z][A-Za-z0-9]*Test)\\.([A-Za-z0-9_]+)`");
  size_t named = 0;
  for (std::sregex_iterator it(doc.begin(), doc.end(), ref), end; it != end; ++it) {
    const std::string name = (*it)[1].str() + "." + (*it)[2].str();
    if (name == "DocsTest.EverySemanticsPromiseNamesExistingTests") continue;
    EXPECT_TRUE(tests.count(name)) << "docs/SEMANTICS.md names " << name << ", which does not exist";
    ++named;
  }
  EXPECT_GE(named, 30u);
}

}  // namespace
}  // namespace vodfs::testing
