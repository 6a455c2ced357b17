#include "cli/options.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/process.h"
#include "support/temp_dir.h"

namespace vodfs::cli {
namespace {

Result<Options> Parse(std::vector<std::string> a) { return ParseArgs(a); }

TEST(OptionsTest, FormsOfAnOption) {
  auto o = Parse({"--auth_timeout", "600", "--region=cn-beijing", "-o", "uid=1000,allow_other,name_scheme=id",
                  "--metadata-ttl", "30", "-f", "cn-shanghai", "/mnt/vod"});
  ASSERT_TRUE(o.ok()) << o.error().ToString();
  EXPECT_EQ(o->auth_timeout, 600);
  EXPECT_EQ(o->region, "cn-beijing");
  EXPECT_EQ(o->uid, 1000u);
  EXPECT_TRUE(o->allow_other);
  EXPECT_EQ(o->name_scheme, "id");
  EXPECT_EQ(o->sync_interval, 30);
  EXPECT_TRUE(o->foreground);
  EXPECT_EQ(o->positional, (std::vector<std::string>{"cn-shanghai", "/mnt/vod"}));
}

TEST(OptionsTest, MountToolOptionsAreAcceptedAndIgnored) {
  // What mount(8) hands a fuse helper from an fstab line.
  auto o = Parse({"cn-shanghai", "/mnt/vod", "-o", "rw,nodev,nosuid,_netdev,noauto,x-systemd.automount,umask=027"});
  ASSERT_TRUE(o.ok()) << o.error().ToString();
  EXPECT_EQ(o->umask, 027u);
}

TEST(OptionsTest, BadValuesAndUnknownOptionsAreNamed) {
  auto a = Parse({"--auth_timeout", "soon"});
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message.find("auth_timeout"), std::string::npos);
  auto b = Parse({"--bogus"});
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("unknown option --bogus"), std::string::npos);
  EXPECT_FALSE(Parse({"-o", "output_type=ftp"}).ok());
  EXPECT_FALSE(Parse({"-o", "umask=999"}).ok());
  EXPECT_FALSE(Parse({"--region"}).ok());  // missing value
  EXPECT_FALSE(Parse({"-x"}).ok());
  EXPECT_FALSE(Parse({"--block_size", "1k"}).ok());  // below the minimum
}

TEST(OptionsTest, FlagsTakeBooleans) {
  EXPECT_FALSE(Parse({"-o", "disk_cache=false"})->disk_cache);
  EXPECT_TRUE(Parse({"--all_streams"})->all_streams);
  EXPECT_FALSE(Parse({"--all_streams=no"})->all_streams);
  EXPECT_FALSE(Parse({"--all_streams=maybe"}).ok());
  auto d = Parse({"-d"});
  EXPECT_TRUE(d->foreground);
  EXPECT_EQ(d->log_level, "debug");
}

TEST(OptionsTest, ConfigFileIsOverriddenByTheCommandLine) {
  testing::TempDir dir;
  dir.Write("vodfs.conf", "# comment\nregion = ap-southeast-1\nauth_timeout=900\nallow_other\n\nreferer = https://example.com/\n");
  const std::string conf = dir.path() + "/vodfs.conf";
  auto o = Parse({"--config", conf, "--auth_timeout", "120"});
  ASSERT_TRUE(o.ok()) << o.error().ToString();
  EXPECT_EQ(o->region, "ap-southeast-1");
  EXPECT_EQ(o->auth_timeout, 120);
  EXPECT_TRUE(o->allow_other);
  EXPECT_EQ(o->referer, "https://example.com/");
  auto via_o = Parse({"-o", "config=" + conf});
  ASSERT_TRUE(via_o.ok());
  EXPECT_EQ(via_o->region, "ap-southeast-1");
  dir.Write("bad.conf", "region = x\nnot_an_option = 1\n");
  auto bad = Parse({"--config", dir.path() + "/bad.conf"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("bad.conf:2"), std::string::npos);
  EXPECT_FALSE(Parse({"--config", dir.path() + "/missing.conf"}).ok());
}

TEST(OptionsTest, SplitMountOptionsHonoursEscapes) {
  auto v = SplitMountOptions("a=1,b,c=x\\,y,,d=");
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].second, "1");
  EXPECT_FALSE(v[1].second);
  EXPECT_EQ(v[2].second, "x,y");
  EXPECT_EQ(v[3].second, "");
}

// --help, docs/CONFIGURATION.md and the option table must agree.
TEST(OptionsTest, HelpAndConfigurationDocListEveryOption) {
  const std::string help = HelpText();
  std::ifstream in(testing::SourcePath("docs/CONFIGURATION.md"));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  ASSERT_FALSE(doc.empty()) << "docs/CONFIGURATION.md is missing";
  for (const auto& d : OptionTable()) {
    EXPECT_NE(help.find(std::string("--") + d.name), std::string::npos) << d.name;
    EXPECT_NE(doc.find(std::string("`") + d.name + "`"), std::string::npos)
        << d.name << " is not documented in docs/CONFIGURATION.md";
  }
  // And the doc documents nothing that does not exist: every table row
  // that starts with an option name.
  for (size_t pos = doc.find("\n| `"); pos != std::string::npos; pos = doc.find("\n| `", pos + 1)) {
    const size_t start = pos + 4, end = doc.find('`', start);
    ASSERT_NE(end, std::string::npos);
    const std::string name = doc.substr(start, end - start);
    EXPECT_TRUE(FindOption(name)) << "docs/CONFIGURATION.md documents unknown option " << name;
  }
}

}  // namespace
}  // namespace vodfs::cli
