// Role credentials through STS (AssumeRole, AssumeRoleWithOIDC) against the
// emulator's STS, and where they sit in the credential chain. No test here
// reaches the ECS metadata service (100.100.100.200): it is disabled, or
// pointed at the emulator's.
#include "vodfs/auth/sts.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <unistd.h>

#include <map>

#include "emulator/emulator.h"
#include "support/temp_dir.h"
#include "vodfs/util/strings.h"

namespace vodfs::auth {
namespace {

using testing::TempDir;

constexpr char kRole[] = "acs:ram::1234567890123456:role/vodfs-reader";
constexpr char kProvider[] = "acs:ram::1234567890123456:oidc-provider/ack-rrsa";
constexpr char kKey[] = "LTAI5tEmulatorDemoKey";
constexpr char kSecret[] = "EmulatorDemoSecret0123456789abcd";
// A JWT whose payload is {"exp":4102444800} (2100-01-01) ...
constexpr char kToken[] = "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.c2lnbmF0dXJl";
// ... and one whose payload is {"exp":1000000000} (2001).
constexpr char kExpiredToken[] = "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjEwMDAwMDAwMDB9.c2lnbmF0dXJl";

class StsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emu::SyntheticOptions so;
    so.videos = 1;
    emulator_ = std::make_unique<emu::Emulator>(emu::EmulatorOptions{}, emu::MakeSyntheticLibrary(so));
    ASSERT_TRUE(emulator_->Start().ok());
    clock_ = std::make_unique<FakeClock>(emulator_->Now());
    env_["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true";
    home_.Write("token", kToken);
  }
  ChainOptions Opts() {
    ChainOptions o;
    o.home = home_.path();
    o.sts_endpoint = emulator_->api_url();
    o.getenv = [this](const std::string& n) -> std::optional<std::string> {
      auto it = env_.find(n);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    return o;
  }
  Result<Credentials> Resolve(ChainOptions o, std::string* describe = nullptr) {
    chain_ = MakeDefaultChain(o, *http_, *clock_);
    auto c = chain_->Get();
    if (describe) *describe = chain_->Describe();
    return c;
  }
  void WriteIni(const std::string& text) {
    home_.Write(".alibabacloud/credentials", text);
    ::chmod((home_.path() + "/.alibabacloud/credentials").c_str(), 0600);
  }
  void WriteCli(const std::string& text) {
    home_.Write(".aliyun/config.json", text);
    ::chmod((home_.path() + "/.aliyun/config.json").c_str(), 0600);
  }
  void SetOidcEnvironment() {
    env_["ALIBABA_CLOUD_ROLE_ARN"] = kRole;
    env_["ALIBABA_CLOUD_OIDC_PROVIDER_ARN"] = kProvider;
    env_["ALIBABA_CLOUD_OIDC_TOKEN_FILE"] = home_.path() + "/token";
  }

  TempDir home_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<emu::Emulator> emulator_;
  std::unique_ptr<FakeClock> clock_;
  std::unique_ptr<http::HttpClient> http_ = http::NewCurlHttpClient();
  std::unique_ptr<ChainProvider> chain_;
};

TEST_F(StsTest, RamRoleArnProfileAssumesTheRoleAndRenewsBeforeExpiry) {
  WriteIni(std::string("[default]\ntype = ram_role_arn   # AssumeRole\naccess_key_id = ") + kKey +
           "\naccess_key_secret = " + kSecret + "\nrole_arn = " + kRole + "\nrole_session_name = vodfs-test\n");
  std::string d;
  auto c = Resolve(Opts(), &d);
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_TRUE(str::StartsWith(c->access_key_id, "STS.")) << c->access_key_id;
  EXPECT_FALSE(c->security_token.empty());
  ASSERT_TRUE(c->expiration);
  EXPECT_EQ(*c->expiration, emulator_->Now() + 3600);
  EXPECT_NE(d.find("RAM role " + std::string(kRole)), std::string::npos) << d;
  // The same credentials until 5 minutes before they expire ...
  clock_->Advance(std::chrono::seconds(3000));
  emulator_->AdvanceClock(3000);
  EXPECT_EQ(chain_->Get()->access_key_id, c->access_key_id);
  // ... then new ones, asked of STS again.
  clock_->Advance(std::chrono::seconds(400));
  emulator_->AdvanceClock(400);
  auto renewed = chain_->Get();
  ASSERT_TRUE(renewed.ok()) << renewed.error().ToString();
  EXPECT_NE(renewed->access_key_id, c->access_key_id);
  EXPECT_GT(*renewed->expiration, *c->expiration);
}

TEST_F(StsTest, OidcFromTheEnvironmentComesBeforeProfiles) {
  // credentials-go's order: environment keys, then OIDC, then the profiles.
  SetOidcEnvironment();
  WriteCli(std::string(R"({"current":"p","profiles":[{"name":"p","mode":"AK","access_key_id":")") + kKey +
           R"(","access_key_secret":")" + kSecret + R"("}]})");
  std::string d;
  auto c = Resolve(Opts(), &d);
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_TRUE(str::StartsWith(c->access_key_id, "STS.")) << c->access_key_id;
  EXPECT_NE(d.find("OIDC role"), std::string::npos) << d;
  env_["ALIBABA_CLOUD_ACCESS_KEY_ID"] = kKey;
  env_["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = kSecret;
  auto env = Resolve(Opts(), &d);
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->access_key_id, kKey) << "environment keys come first";
  // Half an OIDC setup is a problem named as such.
  env_.erase("ALIBABA_CLOUD_ACCESS_KEY_ID");
  env_.erase("ALIBABA_CLOUD_ACCESS_KEY_SECRET");
  env_.erase("ALIBABA_CLOUD_ROLE_ARN");
  ::unlink((home_.path() + "/.aliyun/config.json").c_str());
  auto half = Resolve(Opts());
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.error().message.find("ALIBABA_CLOUD_ROLE_ARN"), std::string::npos) << half.error().message;
}

TEST_F(StsTest, RoleArnOptionAssumesTheRoleOnTopOfAnySource) {
  env_["ALIBABA_CLOUD_ACCESS_KEY_ID"] = kKey;
  env_["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = kSecret;
  ChainOptions o = Opts();
  o.role_arn = kRole;
  o.role_session_name = "nightly-backup";
  std::string d;
  auto c = Resolve(o, &d);
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_TRUE(str::StartsWith(c->access_key_id, "STS."));
  EXPECT_NE(d.find("with environment"), std::string::npos) << d;
  // Without a base, the error says what is missing.
  env_.clear();
  env_["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true";
  auto none = Resolve(o);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("No credentials found"), std::string::npos) << none.error().message;
}

TEST_F(StsTest, CliProfileModesRamRoleArnChainableAndOidc) {
  const std::string ak = std::string(R"("access_key_id":")") + kKey + R"(","access_key_secret":")" + kSecret + R"(")";
  WriteCli(R"({"current":"role","profiles":[)"
           R"({"name":"role","mode":"RamRoleArn",)" + ak + R"(,"ram_role_arn":")" + kRole +
           R"(","ram_session_name":"cli"},)"
           R"({"name":"base","mode":"AK",)" + ak + R"(},)"
           R"({"name":"chain","mode":"ChainableRamRoleArn","source_profile":"base","ram_role_arn":")" + kRole + R"("},)"
           R"({"name":"oidc","mode":"OIDC","ram_role_arn":")" + kRole + R"(","oidc_provider_arn":")" + kProvider +
           R"(","oidc_token_file":")" + home_.path() + R"(/token"},)"
           R"({"name":"long","mode":"RamRoleArn",)" + ak + R"(,"ram_role_arn":")" + kRole +
           R"(","expired_seconds":7200}]})");
  for (const char* profile : {"role", "chain", "oidc"}) {
    ChainOptions o = Opts();
    o.profile = profile;
    auto c = Resolve(o);
    ASSERT_TRUE(c.ok()) << profile << ": " << c.error().ToString();
    EXPECT_TRUE(str::StartsWith(c->access_key_id, "STS.")) << profile;
  }
  // STS's own limits come back explained.
  ChainOptions o = Opts();
  o.profile = "long";
  auto too_long = Resolve(o);
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.error().message.find("InvalidParameter.DurationSeconds"), std::string::npos)
      << too_long.error().message;
}

TEST_F(StsTest, RefusalsAreExplainedWithoutSecrets) {
  WriteIni(std::string("[default]\ntype = ram_role_arn\naccess_key_id = ") + kKey + "\naccess_key_secret = " +
           kSecret + "\nrole_arn = acs:ram::1234567890123456:role/deny-all\n");
  auto denied = Resolve(Opts());
  ASSERT_FALSE(denied.ok());
  EXPECT_NE(denied.error().message.find("NoPermission"), std::string::npos) << denied.error().message;
  EXPECT_NE(denied.error().message.find("trust policy"), std::string::npos) << denied.error().message;
  EXPECT_EQ(denied.error().message.find(kSecret), std::string::npos);

  ::unlink((home_.path() + "/.alibabacloud/credentials").c_str());
  SetOidcEnvironment();
  home_.Write("token", kExpiredToken);
  auto expired = Resolve(Opts());
  ASSERT_FALSE(expired.ok());
  EXPECT_NE(expired.error().message.find("AuthenticationFail.OIDCToken.Expired"), std::string::npos)
      << expired.error().message;
  EXPECT_EQ(expired.error().message.find(kExpiredToken), std::string::npos) << "the token is a secret";

  env_["ALIBABA_CLOUD_OIDC_TOKEN_FILE"] = home_.path() + "/missing";
  auto missing = Resolve(Opts());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("cannot read the OIDC token file"), std::string::npos)
      << missing.error().message;
}

TEST(StsEndpointTest, ExplicitEnvironmentRegionVpcOrGlobal) {
  std::map<std::string, std::string> env;
  Getenv getenv = [&env](const std::string& n) -> std::optional<std::string> {
    auto it = env.find(n);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  EXPECT_EQ(StsEndpoint("", getenv), "https://sts.aliyuncs.com");
  env["ALIBABA_CLOUD_STS_REGION"] = "cn-beijing";
  EXPECT_EQ(StsEndpoint("", getenv), "https://sts.cn-beijing.aliyuncs.com");
  env["ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED"] = "true";
  EXPECT_EQ(StsEndpoint("", getenv), "https://sts-vpc.cn-beijing.aliyuncs.com");
  env["ALIBABA_CLOUD_STS_ENDPOINT"] = "sts.example.internal";
  EXPECT_EQ(StsEndpoint("", getenv), "https://sts.example.internal");
  EXPECT_EQ(StsEndpoint("http://127.0.0.1:8080/", getenv), "http://127.0.0.1:8080");
}

TEST(StsAnswerTest, CredentialsOrTheServiceError) {
  auto ok = ParseStsAnswer(200,
                           R"({"RequestId":"r","Credentials":{"AccessKeyId":"STS.a","AccessKeySecret":"s3cr3tValue",)"
                           R"("SecurityToken":"t0kenValue","Expiration":"2030-01-01T00:00:00Z"}})",
                           "RAM role x");
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(ok->access_key_id, "STS.a");
  EXPECT_EQ(*ok->expiration, 1893456000);
  auto bad = ParseStsAnswer(200, R"({"RequestId":"r"})", "RAM role x");
  EXPECT_EQ(bad.code(), ErrorCode::kBadResponse);
  auto refused = ParseStsAnswer(403, R"({"Code":"NoPermission","Message":"You are not authorized"})", "RAM role x");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(refused.error().service_code, "NoPermission");
  EXPECT_EQ(ParseStsAnswer(503, "", "RAM role x").code(), ErrorCode::kUnavailable);
}

// ECS RAM role before the credentials URI, as credentials-go has it.
TEST(StsChainOrderTest, EcsRamRoleComesBeforeTheCredentialsUri) {
  emu::SyntheticOptions so;
  so.videos = 1;
  emu::EmulatorOptions eo;
  eo.imds_port = 0;
  emu::Emulator emulator(eo, emu::MakeSyntheticLibrary(so));
  ASSERT_TRUE(emulator.Start().ok());
  TempDir home;
  std::map<std::string, std::string> env = {{"ALIBABA_CLOUD_CREDENTIALS_URI", "http://127.0.0.1:1/creds"}};
  ChainOptions o;
  o.home = home.path();
  o.imds_endpoint = emulator.imds_url();
  o.getenv = [&env](const std::string& n) -> std::optional<std::string> {
    auto it = env.find(n);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  FakeClock clock(emulator.Now());
  auto http = http::NewCurlHttpClient();
  auto chain = MakeDefaultChain(o, *http, clock);
  auto c = chain->Get();
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(chain->Describe(), "ECS RAM role");
  // With the metadata service off, the URI is next (nothing listens there).
  env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true";
  auto uri = MakeDefaultChain(o, *http, clock)->Get();
  ASSERT_FALSE(uri.ok());
  EXPECT_NE(uri.error().message.find("ALIBABA_CLOUD_CREDENTIALS_URI"), std::string::npos) << uri.error().message;
}

}  // namespace
}  // namespace vodfs::auth
