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

// Every "--name" of a text; troff's "\-" read as "-" and font escapes dropped.
std::set<std::string> LongOptions(std::string text) {
  std::string plain;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '-') {
      plain.push_back('-');
      ++i;
    } else if (text[i] == '\\' && i + 2 < text.size() && text[i + 1] == 'f') {
      i += 2;
    } else {
      plain.push_back(text[i]);
    }
  }
  std::set<std::string> out;
  for (size_t at = plain.find("--"); at != std::string::npos; at = plain.find("--", at + 2)) {
    if (at > 0 && (std::isalnum(static_cast<unsigned char>(plain[at - 1])) || plain[at - 1] == '-')) continue;
    size_t end = at + 2;
    while (end < plain.size() && (std::islower(static_cast<unsigned char>(plain[end])) ||
                                  std::isdigit(static_cast<unsigned char>(plain[end])) || plain[end] == '-')) {
      ++end;
    }
    if (end > at + 2) out.insert(plain.substr(at, end - at));
  }
  return out;
}

// The man pages against what the installed binaries print for --help.
TEST(DocsTest, ManPagesMatchTheBinariesHelp) {
  for (const auto& [binary, page] : {std::pair<std::string, std::string>{"mount/vodfs", "vodfs.1"},
                                     {"src/emulator/vodfs-emulator", "vodfs-emulator.1"}}) {
    auto help = RunProcess({BuildPath(binary), "--help"});
    ASSERT_EQ(help.exit_code, 0) << binary << ": " << help.err;
    const std::set<std::string> from_help = LongOptions(help.out);
    const std::set<std::string> from_man = LongOptions(ReadFile(SourcePath("docs/man/" + page)));
    ASSERT_GT(from_help.size(), 30u) << binary;
    for (const auto& o : from_help) EXPECT_TRUE(from_man.count(o)) << binary << " --help has " << o << ", " << page << " not";
    for (const auto& o : from_man) EXPECT_TRUE(from_help.count(o)) << page << " has " << o << ", " << binary << " --help not";
  }
}

}  // namespace
}  // namespace vodfs::testing
