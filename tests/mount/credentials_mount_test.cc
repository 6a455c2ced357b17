// Mounts whose credentials come from STS: OIDC (RRSA) from the environment,
// and --role-arn on top of AccessKeys. The emulator's STS mints them; its
// counters show the exchange happened, and the listing that the VOD API
// only gives to valid credentials shows they work.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/mount_env.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace vodfs::testing {
namespace {

namespace fs = std::filesystem;

size_t Entries(const std::string& dir) {
  size_t n = 0;
  for (auto it = fs::directory_iterator(dir); it != fs::directory_iterator(); ++it) ++n;
  return n;
}

int64_t Calls(EmulatorProcess& emulator, const std::string& action) {
  auto c = emulator.Control("GET", "/counters");
  return c["api"]["calls"].value(action, int64_t{0});
}

TEST(CredentialsMountTest, OidcFromTheEnvironmentMounts) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--synthetic", "4", "--synthetic-size", "8K"});
  TempDir dir;
  // A JWT whose payload is {"exp":4102444800} (2100).
  dir.Write("token", "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.c2lnbmF0dXJl");
  VodfsMount m(emulator.api(), {"--sts-endpoint", emulator.api()},
               {{"ALIBABA_CLOUD_ACCESS_KEY_ID", ""},
                {"ALIBABA_CLOUD_ACCESS_KEY_SECRET", ""},
                {"ALIBABA_CLOUD_ROLE_ARN", "acs:ram::1234567890123456:role/vodfs-reader"},
                {"ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "acs:ram::1234567890123456:oidc-provider/ack-rrsa"},
                {"ALIBABA_CLOUD_OIDC_TOKEN_FILE", dir.path() + "/token"}});
  EXPECT_EQ(Entries(m.path() + "/videos"), 4u) << m.LogText();
  EXPECT_EQ(Calls(emulator, "AssumeRoleWithOIDC"), 1) << m.LogText();
  EXPECT_EQ(m.Unmount(), 0) << m.LogText();
}

TEST(CredentialsMountTest, RoleArnOnTopOfAccessKeysMounts) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--synthetic", "3", "--synthetic-size", "8K"});
  VodfsMount m(emulator.api(), {"--sts-endpoint", emulator.api(), "--role-arn",
                                "acs:ram::1234567890123456:role/vodfs-reader"});
  EXPECT_EQ(Entries(m.path() + "/videos"), 3u) << m.LogText();
  EXPECT_EQ(Calls(emulator, "AssumeRole"), 1) << m.LogText();
  EXPECT_EQ(m.Unmount(), 0) << m.LogText();
}

TEST(CredentialsMountTest, RefusedRoleFailsBeforeMounting) {
  VODFS_SKIP_WITHOUT_FUSE();
  EmulatorProcess emulator({"--synthetic", "1", "--synthetic-size", "8K"});
  TempDir dir;
  fs::create_directory(dir.path() + "/mnt");
  auto r = RunProcess({BuildPath("mount/vodfs"), emulator.api(), dir.path() + "/mnt", "-f", "--cache-dir",
                       dir.path() + "/cache", "--sts-endpoint", emulator.api(), "--role-arn",
                       "acs:ram::1234567890123456:role/deny-everyone"},
                      DemoCredentials());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("NoPermission"), std::string::npos) << r.err;
  EXPECT_FALSE(IsMounted(dir.path() + "/mnt"));
}

}  // namespace
}  // namespace vodfs::testing
