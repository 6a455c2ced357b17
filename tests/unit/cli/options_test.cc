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
  EXPECT_NE(a.error().message.find("--auth-timeout"), std::string::npos);
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

TEST(OptionsTest, OneSpellingIsShownAndBothAreAccepted) {
  const std::string help = HelpText();
  for (const auto& d : OptionTable()) {
    const std::string name = d.name;
    if (name.find('_') == std::string::npos) continue;
    EXPECT_EQ(help.find("--" + name), std::string::npos) << "--help shows the underscore spelling of " << name;
  }
  auto o = Parse({"--access-key-id", "A", "--access_key_secret", "S", "-o", "disk-cache-size=1G,allow_other"});
  ASSERT_TRUE(o.ok()) << o.error().ToString();
  EXPECT_EQ(o->access_key_id, "A");
  EXPECT_EQ(o->access_key_secret, "S");
  EXPECT_EQ(o->disk_cache_size, 1ULL << 30);
  // Messages use the dashed spelling whichever was typed.
  auto bad = Parse({"--auth_timeout=soon"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("option --auth-timeout"), std::string::npos) << bad.error().message;
  auto missing = Parse({"--access_key_id"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("option --access-key-id needs a value"), std::string::npos)
      << missing.error().message;
}

TEST(OptionsTest, MistypedOptionsGetASuggestion) {
  auto a = Parse({"--acess-key-id", "x"});
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message.find("unknown option --acess-key-id (did you mean --access-key-id?"), std::string::npos)
      << a.error().message;
  auto b = Parse({"-o", "alow_other"});
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("did you mean --allow-other?"), std::string::npos) << b.error().message;
  auto c = Parse({"-foreground"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("did you mean --foreground?"), std::string::npos) << c.error().message;
  EXPECT_EQ(SuggestOption("readonly")->name, std::string("read_only"));
  EXPECT_EQ(SuggestOption("cachedir")->name, std::string("cache_dir"));
  EXPECT_EQ(SuggestOption("zzzzzzzz"), nullptr);
  auto far = Parse({"--bogus"});
  ASSERT_FALSE(far.ok());
  EXPECT_EQ(far.error().message.find("did you mean"), std::string::npos) << far.error().message;
}

TEST(OptionsTest, FlagsOtherToolsUse) {
  // mount-s3 / rclone / gcsfuse / s3fs / ossfs spellings.
  auto o = Parse({"--read-only", "--file-mode", "0640", "--dir-mode=750", "-o", "nonempty,auto_unmount,ro",
                  "--log-level", "warning", "--log-format", "json", "src", "/mnt"});
  ASSERT_TRUE(o.ok()) << o.error().ToString();
  EXPECT_EQ(o->file_mode, 0640u);
  EXPECT_EQ(o->dir_mode, 0750u);
  EXPECT_TRUE(o->nonempty);
  EXPECT_TRUE(o->auto_unmount);
  EXPECT_EQ(o->log_level, "warning");
  EXPECT_EQ(o->log_format, "json");
  EXPECT_FALSE(Parse({"--read-only=false"}).ok());  // vodfs cannot mount read-write
  EXPECT_FALSE(Parse({"--file-mode", "0999"}).ok());
  EXPECT_FALSE(Parse({"--file-mode", "1777"}).ok());
  EXPECT_FALSE(Parse({"--log-level", "loud"}).ok());
  EXPECT_FALSE(Parse({"--log-format", "xml"}).ok());
  // --daemon and --foreground undo each other; the last one wins.
  EXPECT_TRUE(Parse({"--daemon", "-f"})->foreground);
  EXPECT_FALSE(Parse({"-f", "--daemon"})->foreground);
  EXPECT_TRUE(Parse({"--daemon=false"})->foreground);
  EXPECT_FALSE(Parse({"--foreground=false"})->foreground);
}

TEST(OptionsTest, EachCommandHasItsOwnHelp) {
  for (const auto& cmd : Commands()) {
    const std::string h = CommandHelpText(cmd);
    EXPECT_EQ(h.rfind("Usage: vodfs " + cmd, 0), 0u) << h;
    EXPECT_NE(h, HelpText());
  }
  const std::string api = CommandHelpText("api");
  EXPECT_NE(api.find("--access-key-id"), std::string::npos);
  EXPECT_EQ(api.find("--block-size"), std::string::npos) << "api does not read blocks";
  EXPECT_NE(CommandHelpText("cache").find("--cache-dir"), std::string::npos);
  EXPECT_EQ(CommandHelpText("cn-shanghai"), HelpText());  // a mount's SOURCE
  auto o = Parse({"api", "--help"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->help);
}

TEST(OptionsTest, ConfigFilesHoldingSecretsAreMarked) {
  testing::TempDir dir;
  dir.Write("plain.conf", "region = cn-beijing\n");
  dir.Write("secret.conf", "access-key-id = A\naccess_key_secret = S3cretValue\n");
  auto plain = Parse({"--config", dir.path() + "/plain.conf"});
  ASSERT_TRUE(plain.ok()) << plain.error().ToString();
  EXPECT_FALSE(plain->config_holds_secret);
  auto secret = Parse({"--config", dir.path() + "/secret.conf"});
  ASSERT_TRUE(secret.ok()) << secret.error().ToString();
  EXPECT_TRUE(secret->config_holds_secret);
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
    EXPECT_NE(help.find("--" + DashedName(d.name) + (d.arg ? " " : "")), std::string::npos) << d.name;
    EXPECT_NE(doc.find("`" + DashedName(d.name) + "`"), std::string::npos)
        << d.name << " is not documented (dashed) in docs/CONFIGURATION.md";
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
