#include "cli/startup_checks.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "cli/api_errors.h"
#include "support/temp_dir.h"

namespace vodfs::cli {
namespace {

TEST(StartupChecksTest, MountPointMustBeAnEmptyDirectory) {
  testing::TempDir dir;
  EXPECT_TRUE(CheckMountPoint(dir.path(), false).ok());

  Status missing = CheckMountPoint(dir.path() + "/nope", false);
  EXPECT_EQ(missing.code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos);

  dir.Write("file", "x");
  Status file = CheckMountPoint(dir.path() + "/file", false);
  EXPECT_EQ(file.code(), ErrorCode::kNotADirectory);
  EXPECT_NE(file.error().message.find("is not a directory"), std::string::npos) << file.error().message;
  EXPECT_EQ(CheckMountPoint(dir.path() + "/file", true).code(), ErrorCode::kNotADirectory)
      << "nonempty does not make a file a directory";

  // dir now holds "file": not empty.
  Status full = CheckMountPoint(dir.path(), false);
  EXPECT_EQ(full.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(full.error().message.find("-o nonempty"), std::string::npos) << full.error().message;
  EXPECT_TRUE(CheckMountPoint(dir.path(), true).ok());

  // A hidden file counts too.
  testing::TempDir hidden;
  hidden.Write(".keep", "");
  EXPECT_FALSE(CheckMountPoint(hidden.path(), false).ok());
}

TEST(StartupChecksTest, OwnerWithoutAllowOtherIsWarnedAbout) {
  Options o;
  EXPECT_TRUE(MountWarnings(o, 1000, 1000).empty());
  o.uid = 1000;
  o.gid = 1000;
  EXPECT_TRUE(MountWarnings(o, 1000, 1000).empty()) << "the mounting user itself";
  o.uid = 33;
  auto w = MountWarnings(o, 1000, 1000);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("uid=33 without allow_other"), std::string::npos) << w[0];
  o.uid.reset();
  o.gid = 33;
  w = MountWarnings(o, 1000, 1000);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("gid=33"), std::string::npos) << w[0];
  o.allow_other = true;
  o.uid = 33;
  EXPECT_TRUE(MountWarnings(o, 1000, 1000).empty());
}

TEST(StartupChecksTest, ConfigFileWithASecretReadableByOthersIsWarnedAbout) {
  testing::TempDir dir;
  dir.Write("vodfs.conf", "access_key_secret = S3cretValue\n");
  Options o;
  o.config = dir.path() + "/vodfs.conf";
  o.config_holds_secret = true;
  ASSERT_EQ(::chmod(o.config.c_str(), 0644), 0);
  auto w = MountWarnings(o, 0, 0);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("mode 0644"), std::string::npos) << w[0];
  EXPECT_NE(w[0].find("chmod 600"), std::string::npos) << w[0];
  EXPECT_EQ(w[0].find("S3cretValue"), std::string::npos);
  ASSERT_EQ(::chmod(o.config.c_str(), 0640), 0);
  EXPECT_FALSE(ConfigFileWarning(o).empty()) << "group-readable counts";
  ASSERT_EQ(::chmod(o.config.c_str(), 0600), 0);
  EXPECT_TRUE(ConfigFileWarning(o).empty());
  ASSERT_EQ(::chmod(o.config.c_str(), 0644), 0);
  o.config_holds_secret = false;
  EXPECT_TRUE(ConfigFileWarning(o).empty()) << "no secret, nothing to hide";
}

TEST(ApiErrorsTest, ExplanationsNameTheFixAndNeverTheStringToSign) {
  Error sig(ErrorCode::kUnauthenticated,
            "GetCategories: Specified signature is not matched with our calculation. server string to sign "
            "is:POST&%2F&AccessKeyId%3DLTAI5tKey");
  sig.service_code = "SignatureDoesNotMatch";
  sig.http_status = 400;
  sig.request_id = "R-1";
  auto x = ExplainApiError(sig, "https://vod.cn-shanghai.aliyuncs.com", "LTAI5tExampleKey");
  EXPECT_EQ(x.topic, "credentials");
  EXPECT_NE(x.text.find("AccessKey secret does not match LTAI****Key"), std::string::npos) << x.text;
  EXPECT_NE(x.text.find("RequestId R-1"), std::string::npos) << x.text;
  EXPECT_EQ(x.text.find("POST&"), std::string::npos) << x.text;

  Error clock(ErrorCode::kFailedPrecondition, "x");
  clock.service_code = "InvalidTimeStamp.Expired";
  clock.http_status = 400;
  EXPECT_EQ(ExplainApiError(clock, "e", "k").topic, "clock");

  Error net(ErrorCode::kUnavailable, "connection refused");
  EXPECT_EQ(ExplainApiError(net, "http://127.0.0.1:1", "k").topic, "endpoint");

  Error other(ErrorCode::kInternal, "Op: boom. server string to sign is:GET&%2F&Secret");
  other.service_code = "InternalError";
  other.http_status = 500;
  auto o = ExplainApiError(other, "e", "k");
  EXPECT_EQ(o.topic, "api");
  EXPECT_EQ(o.text.find("GET&"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("Op: boom."), std::string::npos) << o.text;
}

}  // namespace
}  // namespace vodfs::cli
