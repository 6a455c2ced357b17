#include "vodfs/auth/credential_chain.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <map>
#include <thread>

#include "auth/credential_files.h"
#include "emulator/emulator.h"
#include "support/temp_dir.h"
#include "vodfs/util/log.h"

namespace vodfs::auth {
namespace {

using testing::TempDir;

class ChainTest : public ::testing::Test {
 protected:
  ChainTest() : http_(http::NewCurlHttpClient()) {
    // Nothing from the real machine leaks in: no metadata service probe.
    env_["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true";
  }
  ChainOptions Opts() {
    ChainOptions o;
    o.home = home_.path();
    o.getenv = [this](const std::string& n) -> std::optional<std::string> {
      auto it = env_.find(n);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    return o;
  }
  Result<Credentials> Resolve(ChainOptions o, std::string* describe = nullptr) {
    auto chain = MakeDefaultChain(o, *http_, clock_);
    auto c = chain->Get();
    if (describe) *describe = chain->Describe();
    warnings_ = chain->Warnings();
    return c;
  }
  void WriteCli(const std::string& json, mode_t mode = 0600) {
    home_.Write(".aliyun/config.json", json);
    ::chmod((home_.path() + "/.aliyun/config.json").c_str(), mode);
  }
  void WriteIni(const std::string& text, mode_t mode = 0600) {
    home_.Write(".alibabacloud/credentials", text);
    ::chmod((home_.path() + "/.alibabacloud/credentials").c_str(), mode);
  }

  TempDir home_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<http::HttpClient> http_;
  FakeClock clock_{1700000000};
  std::vector<std::string> warnings_;
};

constexpr char kCli[] = R"({
  "current": "main",
  "profiles": [
    {"name": "main", "mode": "AK", "access_key_id": "LTAIcli", "access_key_secret": "cli-secret",
     "region_id": "cn-beijing"},
    {"name": "sts", "mode": "StsToken", "access_key_id": "STS.x", "access_key_secret": "sts-secret",
     "sts_token": "tok"},
    {"name": "odd", "mode": "RsaKeyPair"}
  ]})";

TEST_F(ChainTest, NothingConfiguredIsAClearError) {
  auto c = Resolve(Opts());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(c.error().message.find("ALIBABA_CLOUD_ACCESS_KEY_ID"), std::string::npos);
}

TEST_F(ChainTest, PrecedenceOptionsEnvCliIni) {
  WriteIni("[default]\ntype = access_key\naccess_key_id = LTAIini\naccess_key_secret = ini-secret\n");
  std::string d;
  EXPECT_EQ(Resolve(Opts(), &d)->access_key_id, "LTAIini");
  EXPECT_NE(d.find(".alibabacloud/credentials [default]"), std::string::npos);
  WriteCli(kCli);
  EXPECT_EQ(Resolve(Opts(), &d)->access_key_id, "LTAIcli");
  EXPECT_NE(d.find("profile 'main' (AK)"), std::string::npos);
  env_["ALIBABA_CLOUD_ACCESS_KEY_ID"] = "LTAIenv";
  env_["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = "env-secret";
  env_["ALIBABA_CLOUD_SECURITY_TOKEN"] = "env-token";
  auto e = Resolve(Opts(), &d);
  EXPECT_EQ(e->access_key_id, "LTAIenv");
  EXPECT_EQ(e->security_token, "env-token");
  EXPECT_EQ(d, "environment (ALIBABA_CLOUD_ACCESS_KEY_ID)");
  ChainOptions o = Opts();
  o.access_key_id = "LTAIopt";
  o.access_key_secret = "opt-secret";
  EXPECT_EQ(Resolve(o, &d)->access_key_id, "LTAIopt");
  EXPECT_EQ(d, "options (access_key_id)");
}

TEST_F(ChainTest, LegacyEnvironmentNamesAndHalfSetVariables) {
  env_["ALICLOUD_ACCESS_KEY"] = "LTAIlegacy";
  env_["ALICLOUD_SECRET_KEY"] = "legacy-secret";
  EXPECT_EQ(Resolve(Opts())->access_key_id, "LTAIlegacy");
  env_["ALICLOUD_ACCESS_KEY_ID"] = "LTAIlegacy2";
  env_["ALICLOUD_ACCESS_KEY_SECRET"] = "legacy2";
  EXPECT_EQ(Resolve(Opts())->access_key_id, "LTAIlegacy2");
  env_["ALIBABA_CLOUD_ACCESS_KEY_ID"] = "LTAIhalf";
  auto c = Resolve(Opts());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("ALIBABA_CLOUD_ACCESS_KEY_SECRET is not set"), std::string::npos);
}

TEST_F(ChainTest, CliProfilesByNameEnvOrCurrent) {
  WriteCli(kCli);
  ChainOptions o = Opts();
  o.profile = "sts";
  auto c = Resolve(o);
  EXPECT_EQ(c->access_key_id, "STS.x");
  EXPECT_EQ(c->security_token, "tok");
  env_["ALIBABA_CLOUD_PROFILE"] = "sts";
  EXPECT_EQ(Resolve(Opts())->access_key_id, "STS.x");
  o.profile = "odd";
  auto odd = Resolve(o);
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.error().message.find("mode 'RsaKeyPair' is not supported"), std::string::npos);
  o.profile = "missing";
  EXPECT_FALSE(Resolve(o).ok());
  EXPECT_EQ(ResolveRegion("", Opts()), "cn-shanghai");  // the sts profile has no region
  env_.erase("ALIBABA_CLOUD_PROFILE");
  EXPECT_EQ(ResolveRegion("", Opts()), "cn-beijing");
  env_["ALIBABA_CLOUD_REGION_ID"] = "ap-southeast-1";
  EXPECT_EQ(ResolveRegion("", Opts()), "ap-southeast-1");
  EXPECT_EQ(ResolveRegion("eu-central-1", Opts()), "eu-central-1");
}

TEST_F(ChainTest, ConfigFilePathsFromEnvironment) {
  TempDir other;
  other.Write("cfg.json", kCli);
  other.Write("creds", "[p]\ntype = access_key\naccess_key_id = LTAIp\naccess_key_secret = s\n");
  ::chmod((other.path() + "/cfg.json").c_str(), 0600);
  env_["ALIBABA_CLOUD_CONFIG_FILE"] = other.path() + "/cfg.json";
  EXPECT_EQ(Resolve(Opts())->access_key_id, "LTAIcli");
  env_.erase("ALIBABA_CLOUD_CONFIG_FILE");
  env_["ALIBABA_CLOUD_CREDENTIALS_FILE"] = other.path() + "/creds";
  env_["ALIBABA_CLOUD_PROFILE"] = "p";
  EXPECT_EQ(Resolve(Opts())->access_key_id, "LTAIp");
}

TEST_F(ChainTest, ReadableSecretFilesWarn) {
  WriteCli(kCli, 0644);
  ASSERT_TRUE(Resolve(Opts()).ok());
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("chmod 600"), std::string::npos);
  WriteCli(kCli, 0600);
  ASSERT_TRUE(Resolve(Opts()).ok());
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(ChainTest, ExternalCommandsAreRunAndRefreshedBeforeExpiry) {
  // A command that counts its runs and hands out 1-hour credentials.
  home_.Write("count", "");
  home_.Write("cred.sh",
              "#!/bin/sh\necho x >> \"" + home_.path() + "/count\"\n"
              "n=$(wc -l < \"" + home_.path() + "/count\")\n"
              "printf '{\"AccessKeyId\":\"STS.cmd%s\",\"AccessKeySecret\":\"sec%s\",\"SecurityToken\":\"tok%s\","
              "\"Expiration\":\"2023-11-14T23:13:20Z\"}' $n $n $n\n");
  ::chmod((home_.path() + "/cred.sh").c_str(), 0700);
  ChainOptions o = Opts();
  o.credentials_command = home_.path() + "/cred.sh";
  auto chain = MakeDefaultChain(o, *http_, clock_);
  EXPECT_EQ(chain->Get()->access_key_id, "STS.cmd1");
  clock_.Advance(std::chrono::minutes(30));
  EXPECT_EQ(chain->Get()->access_key_id, "STS.cmd1");  // still fresh
  clock_.Advance(std::chrono::minutes(26));             // 4 minutes left: renew
  EXPECT_EQ(chain->Get()->access_key_id, "STS.cmd2");
  EXPECT_EQ(*chain->Get()->expiration, 1700003600);
  chain->Invalidate();
  EXPECT_EQ(chain->Get()->access_key_id, "STS.cmd3");

  // The aliyun CLI's External mode uses the same mechanism.
  WriteCli(R"({"current":"ext","profiles":[{"name":"ext","mode":"External","process_command":")" +
           home_.path() + R"(/cred.sh"}]})");
  std::string d;
  EXPECT_EQ(Resolve(Opts(), &d)->access_key_id, "STS.cmd4");
  EXPECT_NE(d.find("(External)"), std::string::npos);
}

TEST_F(ChainTest, FailingCommandIsReportedWithoutItsOutput) {
  home_.Write("bad.sh", "#!/bin/sh\necho secret-output >&2\nexit 3\n");
  ::chmod((home_.path() + "/bad.sh").c_str(), 0700);
  ChainOptions o = Opts();
  o.credentials_command = home_.path() + "/bad.sh";
  auto c = Resolve(o);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("exit status 3"), std::string::npos);
  EXPECT_EQ(c.error().message.find("secret-output"), std::string::npos);
}

TEST(RefreshingProviderTest, OneCallerRenewsWhileOthersKeepWorking) {
  FakeClock clock(1000);
  std::atomic<int> fetches{0};
  std::atomic<bool> block{false};
  RefreshingProvider p(
      [&]() -> Result<Credentials> {
        int n = ++fetches;
        while (block.load()) std::this_thread::yield();
        return Credentials{"id" + std::to_string(n), "s", "t", clock.UnixNow() + 3600, "test"};
      },
      "test", clock, 300);
  EXPECT_EQ(p.Get()->access_key_id, "id1");
  clock.Advance(std::chrono::seconds(3400));  // inside the margin, still valid
  block = true;
  std::thread renewer([&] { EXPECT_EQ(p.Get()->access_key_id, "id2"); });
  while (fetches.load() < 2) std::this_thread::yield();
  // While the renewal is under way, other callers get the valid ones at once.
  EXPECT_EQ(p.Get()->access_key_id, "id1");
  block = false;
  renewer.join();
  EXPECT_EQ(p.Get()->access_key_id, "id2");
  EXPECT_EQ(fetches.load(), 2);
}

TEST(RefreshingProviderTest, FailedRenewalKeepsValidCredentialsExpiredOnesError) {
  FakeClock clock(1000);
  bool fail = false;
  RefreshingProvider p(
      [&]() -> Result<Credentials> {
        if (fail) return Error(ErrorCode::kUnavailable, "down");
        return Credentials{"id", "s", "t", clock.UnixNow() + 600, "test"};
      },
      "test", clock, 300);
  ASSERT_TRUE(p.Get().ok());
  fail = true;
  clock.Advance(std::chrono::seconds(500));  // 100 s left
  EXPECT_TRUE(p.Get().ok());
  clock.Advance(std::chrono::seconds(200));  // expired
  EXPECT_FALSE(p.Get().ok());
  fail = false;
  EXPECT_TRUE(p.Get().ok());
}

TEST(RefreshingProviderTest, ShortLivedCredentialsRenewAfterThreeQuarters) {
  FakeClock clock(1000);
  int fetches = 0;
  RefreshingProvider p(
      [&]() -> Result<Credentials> {
        ++fetches;
        return Credentials{"id", "s", "t", clock.UnixNow() + 40, "test"};
      },
      "test", clock, 300);
  ASSERT_TRUE(p.Get().ok());
  clock.Advance(std::chrono::seconds(20));
  ASSERT_TRUE(p.Get().ok());
  EXPECT_EQ(fetches, 1);  // not "always expiring" for a 300 s margin
  clock.Advance(std::chrono::seconds(11));
  ASSERT_TRUE(p.Get().ok());
  EXPECT_EQ(fetches, 2);
}

TEST(CredentialFilesTest, IniSectionsKeysAndComments) {
  IniSections ini = ParseIni(
      "top = level\n[default]\n type = access_key \naccess_key_id=AK\n# comment\n; other\n"
      "no equals sign\n[ other ]\r\nrole_name = r = 1\n[empty]\n");
  EXPECT_EQ(ini[""]["top"], "level");
  EXPECT_EQ(ini["default"]["type"], "access_key");
  EXPECT_EQ(ini["default"]["access_key_id"], "AK");
  EXPECT_EQ(ini["default"].size(), 2u);
  EXPECT_EQ(ini["other"]["role_name"], "r = 1");
  EXPECT_TRUE(ini.count("empty"));
  EXPECT_TRUE(ParseIni("").empty());
}

TEST(CredentialFilesTest, IniInlineCommentsAsCredentialsGoReadsThem) {
  // The credentials-go README's example file, comments and all.
  IniSections ini = ParseIni(
      "[default]                          # default setting\n"
      "enable = true                      # Enable,Enabled by default if this option is not present\n"
      "type = access_key                  # Authentication method is access_key\n"
      "access_key_id = foo                # Key\n"
      "access_key_secret = bar            ; Secret\n"
      "quoted = \"a # b ; c\"\n"
      "tick = `x;y`\n"
      "empty = # nothing\n");
  ASSERT_TRUE(ini.count("default")) << "a section header with a comment";
  auto& d = ini["default"];
  EXPECT_EQ(d["enable"], "true");
  EXPECT_EQ(d["type"], "access_key");
  EXPECT_EQ(d["access_key_id"], "foo");
  EXPECT_EQ(d["access_key_secret"], "bar");
  EXPECT_EQ(d["quoted"], "a # b ; c");
  EXPECT_EQ(d["tick"], "x;y");
  EXPECT_EQ(d["empty"], "");
}

TEST(CredentialFilesTest, CliConfigProfilesByNameOrCurrent) {
  const std::string text = R"({"current": "b", "profiles": [
      {"name": "a", "mode": "AK", "access_key_id": "A"},
      {"name": "b", "mode": "StsToken", "sts_token": "T", "region_id": "cn-beijing", "n": 5},
      {"name": "b", "mode": "AK"}]})";
  auto current = ParseCliConfig(text, "");
  ASSERT_TRUE(current.ok());
  EXPECT_TRUE(current->found);
  EXPECT_EQ(current->name, "b");
  EXPECT_EQ(current->Field("mode"), "StsToken");  // the first of that name
  EXPECT_EQ(current->Field("region_id"), "cn-beijing");
  EXPECT_EQ(current->Field("n"), "5");  // integers as text (expired_seconds is one)
  auto a = ParseCliConfig(text, "a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->Field("access_key_id"), "A");
  auto missing = ParseCliConfig(text, "c");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->found);
  auto fallback = ParseCliConfig(R"({"profiles": {"name": "default"}})", "");
  ASSERT_TRUE(fallback.ok());
  EXPECT_EQ(fallback->name, "default");
  EXPECT_FALSE(fallback->found);
  EXPECT_FALSE(ParseCliConfig("[]", "").ok());
  EXPECT_FALSE(ParseCliConfig("{\"profiles\": [", "").ok());
}

TEST(ParseCredentialsJsonTest, Variants) {
  auto a = ParseCredentialsJson(
      R"({"AccessKeyId":"STS.a","AccessKeySecret":"b","SecurityToken":"c","Expiration":"2030-01-01T00:00:00Z"})", "x");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a->expiration, 1893456000);
  auto cli = ParseCredentialsJson(R"({"mode":"StsToken","access_key_id":"a","access_key_secret":"b","sts_token":"c"})", "x");
  ASSERT_TRUE(cli.ok());
  EXPECT_EQ(cli->security_token, "c");
  EXPECT_FALSE(ParseCredentialsJson("nope", "x").ok());
  EXPECT_FALSE(ParseCredentialsJson(R"({"AccessKeyId":"a"})", "x").ok());
  EXPECT_FALSE(ParseCredentialsJson(R"({"Code":"Failed","AccessKeyId":"a","AccessKeySecret":"b"})", "x").ok());
  EXPECT_FALSE(ParseCredentialsJson(R"({"AccessKeyId":"a","AccessKeySecret":"b","Expiration":"soon"})", "x").ok());
}

// The ECS metadata service, served by the emulator.
class ImdsTest : public ChainTest {
 protected:
  void Start(bool require_token) {
    emu::SyntheticOptions so;
    so.videos = 1;
    emu::EmulatorOptions eo;
    eo.imds_port = 0;
    eo.imds_require_token = require_token;
    emulator_ = std::make_unique<emu::Emulator>(eo, emu::MakeSyntheticLibrary(so));
    ASSERT_TRUE(emulator_->Start().ok());
    env_.erase("ALIBABA_CLOUD_ECS_METADATA_DISABLED");
  }
  ChainOptions ImdsOpts() {
    ChainOptions o = Opts();
    o.imds_endpoint = emulator_->imds_url();
    return o;
  }
  std::unique_ptr<emu::Emulator> emulator_;
};

TEST_F(ImdsTest, RamRoleCredentialsWithTokenAndRoleDiscovery) {
  Start(true);
  std::string d;
  auto c = Resolve(ImdsOpts(), &d);
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_TRUE(c->access_key_id.rfind("STS.", 0) == 0);
  EXPECT_FALSE(c->security_token.empty());
  EXPECT_TRUE(c->expiration.has_value());
  EXPECT_EQ(d, "ECS RAM role");
  env_["ALIBABA_CLOUD_ECS_METADATA"] = "VodfsEmulatorRole";
  EXPECT_EQ(Resolve(ImdsOpts(), &d)->access_key_id, c->access_key_id);
  EXPECT_EQ(d, "ECS RAM role VodfsEmulatorRole");
  // An INI profile of type ecs_ram_role goes the same way.
  env_["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true";
  WriteIni("[default]\ntype = ecs_ram_role\nrole_name = VodfsEmulatorRole\n");
  EXPECT_TRUE(Resolve(ImdsOpts()).ok());
}

TEST_F(ImdsTest, MissingMetadataServiceIsReported) {
  Start(false);
  env_["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "false";
  ChainOptions o = Opts();
  o.imds_endpoint = "http://127.0.0.1:1";  // nothing listens there
  auto c = Resolve(o);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("ECS RAM role"), std::string::npos);
}

}  // namespace
}  // namespace vodfs::auth
