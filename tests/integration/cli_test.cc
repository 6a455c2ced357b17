// The vodfs binary's api and check commands, run as processes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/emulator_env.h"
#include "support/mini_library.h"
#include "support/process.h"

namespace vodfs::testing {
namespace {

using nlohmann::json;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ids_ = WriteMiniLibrary(dir_);
    env_ = std::make_unique<EmulatorEnv>(std::move(emu::LoadManifestLibrary(dir_.path())).value());
  }
  ProcessResult Vodfs(std::vector<std::string> args, std::map<std::string, std::string> extra = {}) {
    args.insert(args.begin(), BuildPath("mount/vodfs"));
    std::map<std::string, std::string> e = {
        {"ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI5tEmulatorDemoKey"},
        {"ALIBABA_CLOUD_ACCESS_KEY_SECRET", "EmulatorDemoSecret0123456789abcd"},
        {"ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true"},
        {"HOME", dir_.path()}};
    for (auto& [k, v] : extra) e[k] = v;
    return RunProcess(args, e);
  }
  TempDir dir_;
  MiniLibraryIds ids_;
  std::unique_ptr<EmulatorEnv> env_;
};

TEST_F(CliTest, ApiPrintsTheJsonOfOneCall) {
  auto r = Vodfs({"api", "GetVideoInfo", "VideoId=" + ids_.full, "--endpoint", env_->emulator().api_url()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["Video"]["Title"], "Full video");
  auto v3 = Vodfs({"api", "GetCategories", "--endpoint", env_->emulator().api_url(), "--signature_version", "v3"});
  EXPECT_EQ(v3.exit_code, 0) << v3.err;
  auto bad = Vodfs({"api", "GetVideoInfo", "VideoId=nope", "--endpoint", env_->emulator().api_url()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("InvalidVideo.NotFound"), std::string::npos) << bad.err;
  auto usage = Vodfs({"api"});
  EXPECT_EQ(usage.exit_code, 2);
  auto malformed = Vodfs({"api", "GetVideoInfo", "VideoId"});
  EXPECT_EQ(malformed.exit_code, 2);
}

TEST_F(CliTest, CheckPassesOnAHealthySetup) {
  auto r = Vodfs({"check", env_->emulator().api_url()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* what : {"credentials", "network", "clock", "signature", "listing", "media"}) {
    EXPECT_NE(r.out.find(std::string("ok    ") + what), std::string::npos) << what << "\n" << r.out;
  }
  EXPECT_NE(r.out.find("6 videos, 1 audio, 2 images"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("EmulatorDemoSecret"), std::string::npos);
}

TEST_F(CliTest, CheckExplainsWrongSecretSkewAndMissingCredentials) {
  auto wrong = Vodfs({"check", env_->emulator().api_url()}, {{"ALIBABA_CLOUD_ACCESS_KEY_SECRET", "bad-secret"}});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.out.find("FAIL  credentials  the service rejected the signature"), std::string::npos) << wrong.out;
  EXPECT_EQ(wrong.out.find("bad-secret"), std::string::npos);

  env_->emulator().AdvanceClock(20 * 60);
  auto skew = Vodfs({"check", env_->emulator().api_url()});
  EXPECT_EQ(skew.exit_code, 1);
  EXPECT_NE(skew.out.find("FAIL  clock"), std::string::npos) << skew.out;
  EXPECT_NE(skew.out.find("behind the service"), std::string::npos) << skew.out;
  env_->emulator().AdvanceClock(-20 * 60);

  auto none = Vodfs({"check", env_->emulator().api_url()},
                    {{"ALIBABA_CLOUD_ACCESS_KEY_ID", ""}, {"ALIBABA_CLOUD_ACCESS_KEY_SECRET", ""}});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.out.find("FAIL  credentials  No credentials found"), std::string::npos) << none.out;
}

TEST_F(CliTest, CheckReportsAHotlinkProtectedOrigin) {
  TempDir d2;
  WriteMiniLibrary(d2);
  emu::EmulatorOptions o;
  o.referer_allow = {"example.com"};
  EmulatorEnv guarded(std::move(emu::LoadManifestLibrary(d2.path())).value(), o);
  auto r = Vodfs({"check", guarded.emulator().api_url()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("--referer"), std::string::npos) << r.out;
  auto fixed = Vodfs({"check", guarded.emulator().api_url(), "--referer", "https://www.example.com/"});
  EXPECT_EQ(fixed.exit_code, 0) << fixed.out;
}

TEST_F(CliTest, HelpAndVersion) {
  auto h = Vodfs({"--help"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("--auth-timeout"), std::string::npos);
  auto v = Vodfs({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("vodfs ", 0), 0u);
  auto bad = Vodfs({"--nonsense"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("unknown option --nonsense"), std::string::npos);
}

TEST_F(CliTest, ApiExplainsAWrongSecretLikeCheck) {
  auto wrong = Vodfs({"api", "GetCategories", "--endpoint", env_->emulator().api_url()},
                     {{"ALIBABA_CLOUD_ACCESS_KEY_SECRET", "bad-secret"}});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("the service rejected the signature"), std::string::npos) << wrong.err;
  // Neither the secret nor the string-to-sign the service echoes.
  EXPECT_EQ(wrong.err.find("bad-secret"), std::string::npos) << wrong.err;
  EXPECT_EQ(wrong.err.find("string to sign"), std::string::npos) << wrong.err;
  EXPECT_EQ(wrong.err.find("AccessKeyId%3D"), std::string::npos) << wrong.err;
}

TEST_F(CliTest, CommandsHaveTheirOwnHelp) {
  auto api = Vodfs({"api", "--help"});
  EXPECT_EQ(api.exit_code, 0);
  EXPECT_EQ(api.out.rfind("Usage: vodfs api OPERATION", 0), 0u) << api.out;
  auto typo = Vodfs({"--acess-key-id", "x"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("did you mean --access-key-id?"), std::string::npos) << typo.err;
}

TEST_F(CliTest, MountRefusesAFileOrANonEmptyMountPoint) {
  // Checked before anything is mounted or asked of the API.
  dir_.Write("file", "x");
  auto file = Vodfs({env_->emulator().api_url(), dir_.path() + "/file", "-f"});
  EXPECT_EQ(file.exit_code, 1);
  EXPECT_NE(file.err.find("is not a directory"), std::string::npos) << file.err;
  dir_.Write("full/keep", "x");
  auto full = Vodfs({env_->emulator().api_url(), dir_.path() + "/full", "-f"});
  EXPECT_EQ(full.exit_code, 1);
  EXPECT_NE(full.err.find("is not empty"), std::string::npos) << full.err;
  auto missing = Vodfs({env_->emulator().api_url(), dir_.path() + "/nowhere", "-f"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("does not exist"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace vodfs::testing
