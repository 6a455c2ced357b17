// The man pages say what --help says: every option of one is in the other.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

#include "cli/options.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace vodfs::cli {
namespace {

// Troff source as text: "\-" is a minus, "\fB"/"\fI"/"\fR" change fonts.
std::string Untroff(std::string t) {
  t = std::regex_replace(t, std::regex(R"(\\f[BIRP])"), "");
  t = std::regex_replace(t, std::regex(R"(\\-)"), "-");
  return t;
}

// Every "--name" in a text.
std::set<std::string> OptionTokens(const std::string& text) {
  std::set<std::string> out;
  const std::regex token(R"((^|[^a-z0-9-])(--[a-z][a-z0-9-]*))");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), token); it != std::sregex_iterator(); ++it) {
    out.insert((*it)[2]);
  }
  return out;
}

std::string Man(const std::string& page) {
  const std::string text = testing::ReadFile(testing::SourcePath("docs/man/" + page));
  EXPECT_FALSE(text.empty()) << "docs/man/" << page << " is missing";
  return Untroff(text);
}

void ExpectSameOptions(const std::set<std::string>& help, const std::set<std::string>& man, const std::string& page) {
  for (const auto& o : help) EXPECT_TRUE(man.count(o)) << o << " is in --help but not in " << page;
  for (const auto& o : man) EXPECT_TRUE(help.count(o)) << o << " is in " << page << " but not in --help";
}

TEST(ManPagesTest, VodfsManPageListsEveryOptionOfHelp) {
  std::string help = HelpText();
  for (const auto& c : Commands()) help += CommandHelpText(c);
  const std::set<std::string> help_options = OptionTokens(help);
  ASSERT_GT(help_options.size(), 50u);
  ExpectSameOptions(help_options, OptionTokens(Man("vodfs.1")), "vodfs.1");
  // Each option has an entry of its own (a .TP paragraph starting with it).
  const std::string man = Man("vodfs.1");
  for (const auto& d : OptionTable()) {
    EXPECT_NE(man.find(".TP\n--" + DashedName(d.name)), std::string::npos) << d.name << " has no entry in vodfs.1";
  }
}

TEST(ManPagesTest, EmulatorManPageListsEveryOptionOfItsHelp) {
  // The emulator's --help is the kUsage text of its main.cc.
  const std::string src = testing::ReadFile(testing::SourcePath("src/emulator/main.cc"));
  const size_t open = src.find("kUsage = R\"(");
  ASSERT_NE(open, std::string::npos);
  const size_t close = src.find(")\";", open);
  ASSERT_NE(close, std::string::npos);
  const std::set<std::string> help = OptionTokens(src.substr(open, close - open));
  ASSERT_GT(help.size(), 30u);
  ExpectSameOptions(help, OptionTokens(Man("vodfs-emulator.1")), "vodfs-emulator.1");
}

TEST(ManPagesTest, MountHelperManPageShowsTheFstabForms) {
  const std::string man = Man("mount.vodfs.8");
  EXPECT_NE(man.find("mount -t vodfs"), std::string::npos);
  EXPECT_NE(man.find("x-systemd.automount"), std::string::npos);
  // Every option it names is a vodfs option or one mount(8) passes.
  for (const auto& o : OptionTokens(man)) ADD_FAILURE() << "mount.vodfs.8 names " << o;
}

}  // namespace
}  // namespace vodfs::cli
