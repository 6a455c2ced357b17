#include "vodfs/util/log.h"
#include "vodfs/util/log_format.h"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

namespace vodfs::log {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetSink([this](Level, std::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.emplace_back(line);
    });
    old_level_ = GetLevel();
    SetLevel(Level::kDebug);
  }
  void TearDown() override {
    SetSink(nullptr);
    SetLevel(old_level_);
    ClearRegisteredSecrets();
  }
  std::mutex mu_;
  std::vector<std::string> lines_;
  Level old_level_{};
};

TEST_F(LogTest, RegisteredSecretsAreReplacedEverywhere) {
  RegisterSecret("S3cr3t/Value+=");
  VODFS_LOG(kInfo) << "key S3cr3t/Value+= and encoded S3cr3t%2FValue%2B%3D end";
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0].find("S3cr3t"), std::string::npos) << lines_[0];
  EXPECT_NE(lines_[0].find("end"), std::string::npos);
}

TEST_F(LogTest, ShortSecretsAreIgnored) {
  RegisterSecret("ab");
  EXPECT_EQ(Redact("about"), "about");
}

TEST_F(LogTest, UrlQueriesAndPathSignaturesAreRedacted) {
  EXPECT_EQ(Redact("GET http://h/a.mp4?Expires=1&OSSAccessKeyId=x&Signature=abc failed"),
            "GET http://h/a.mp4?<redacted> failed");
  EXPECT_EQ(Redact("\"https://cdn/x/y.ts?auth_key=1-0-0-abcdef\""),
            "\"https://cdn/x/y.ts?<redacted>\"");
  EXPECT_EQ(Redact("http://cdn/202108010000/61c232c4b7ab429fd578207629617bd7/v/t.mp4"),
            "http://cdn/202108010000/<redacted>/v/t.mp4");
  EXPECT_EQ(Redact("http://cdn/6eb48814d66e1e4e56cbeafae4cafc9e/61057380/v/t.mp4"),
            "http://cdn/<redacted>/61057380/v/t.mp4");
  EXPECT_EQ(Redact("http://cdn/93ab850b4f654b6e91d24d81d44a0b1c/snapshots/1.jpg"),
            "http://cdn/93ab850b4f654b6e91d24d81d44a0b1c/snapshots/1.jpg");
  EXPECT_EQ(Redact("no url here"), "no url here");
}

TEST_F(LogTest, SensitiveKeyValuesAreRedacted) {
  EXPECT_EQ(Redact("Signature=abc%2B&SignatureMethod=HMAC-SHA1"),
            "Signature=<redacted>&SignatureMethod=HMAC-SHA1");
  EXPECT_EQ(Redact("{\"AccessKeySecret\": \"xyz\", \"AccessKeyId\": \"id\"}"),
            "{\"AccessKeySecret\": \"<redacted>\", \"AccessKeyId\": \"id\"}");
  EXPECT_EQ(Redact("Authorization: ACS3-HMAC-SHA256 Credential=a,Signature=b\nnext"),
            "Authorization: <redacted>\nnext");
  EXPECT_EQ(Redact("SecurityToken=tok/en+= rest"), "SecurityToken=<redacted> rest");
  EXPECT_EQ(Redact("--access-key-secret=hunter2"), "--access-key-secret=<redacted>");
  EXPECT_EQ(Redact("SignatureNonce=abc"), "SignatureNonce=abc");
  EXPECT_EQ(Redact("x-oss-security-token: abc\nnext"), "x-oss-security-token: <redacted>\nnext");
  // Prose keeps its words.
  EXPECT_EQ(Redact("rejected the signature: the secret is wrong"),
            "rejected the signature: the secret is wrong");
}

TEST_F(LogTest, LevelFiltering) {
  SetLevel(Level::kWarn);
  VODFS_LOG(kInfo) << "dropped";
  VODFS_LOG(kError) << "kept";
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0], "kept");
  Level l;
  EXPECT_TRUE(ParseLevel("DEBUG", &l));
  EXPECT_EQ(l, Level::kDebug);
  EXPECT_FALSE(ParseLevel("loud", &l));
}

TEST_F(LogTest, LevelAliases) {
  const std::pair<const char*, Level> cases[] = {
      {"warning", Level::kWarn}, {"WARNING", Level::kWarn}, {"trace", Level::kDebug},
      {"notice", Level::kInfo},  {"err", Level::kError},    {"critical", Level::kError},
      {"fatal", Level::kError},  {"none", Level::kOff}};
  for (const auto& [name, want] : cases) {
    Level l = Level::kInfo;
    EXPECT_TRUE(ParseLevel(name, &l)) << name;
    EXPECT_EQ(l, want) << name;
  }
}

TEST_F(LogTest, TextAndJsonLines) {
  // 2026-01-02T03:04:05.678Z
  const auto when = std::chrono::system_clock::time_point(std::chrono::milliseconds(1767323045678));
  SetFormat(Format::kText);
  EXPECT_EQ(FormatLine(Level::kWarn, "disk full", when), "2026-01-02T03:04:05.678Z WARN  disk full");
  Format f = Format::kText;
  ASSERT_TRUE(ParseFormat("json", &f));
  EXPECT_FALSE(ParseFormat("xml", &f));
  SetFormat(f);
  EXPECT_EQ(FormatLine(Level::kError, "a \"quoted\"\tname\n\x01 \xc3\xa9", when),
            "{\"time\":\"2026-01-02T03:04:05.678Z\",\"level\":\"error\","
            "\"message\":\"a \\\"quoted\\\"\\tname\\n\\u0001 \xc3\xa9\"}");
  SetFormat(Format::kText);
}

}  // namespace
}  // namespace vodfs::log
