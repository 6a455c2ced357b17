// The Alibaba Cloud credential chain, as the official tools resolve it.
//
// Order (first that yields credentials wins and is remembered), that of
// credentials-go's default provider (providers/default.go) after the
// options vodfs takes itself:
//   1. explicit options (access_key_id/secret[/security_token]) or an
//      explicit credentials command;
//   2. environment: ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / _SECURITY_TOKEN
//      (then ALIBABACLOUD_* and the legacy ALICLOUD_* names);
//   3. OIDC (RRSA, what pods of Alibaba Cloud's Kubernetes get):
//      ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and
//      ALIBABA_CLOUD_OIDC_TOKEN_FILE, exchanged by STS AssumeRoleWithOIDC;
//   4. the aliyun CLI's ~/.aliyun/config.json (ALIBABA_CLOUD_CONFIG_FILE):
//      profile by name, ALIBABA_CLOUD_PROFILE, or "current"; modes AK,
//      StsToken, RamRoleArn, ChainableRamRoleArn, OIDC, EcsRamRole, External;
//   5. ~/.alibabacloud/credentials (ALIBABA_CLOUD_CREDENTIALS_FILE), INI:
//      section by name, ALIBABA_CLOUD_PROFILE or "default"; types
//      access_key, sts, ram_role_arn, oidc_role_arn, ecs_ram_role,
//      credentials_uri;
//   6. the ECS instance RAM role through the metadata service (IMDSv2 token
//      first, then v1 unless ALIBABA_CLOUD_IMDSV1_DISABLED; skipped when
//      ALIBABA_CLOUD_ECS_METADATA_DISABLED=true);
//   7. ALIBABA_CLOUD_CREDENTIALS_URI (JSON credentials over HTTP).
// With `role_arn`, whatever the chain yields is only the base of an STS
// AssumeRole, and the role's credentials are used.
//
// Temporary credentials (STS) are refreshed ahead of their expiration:
// one caller renews while the others keep using the still-valid ones.
//
// Thread-safety: providers are safe to call concurrently.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vodfs/auth/credentials.h"
#include "vodfs/http/http_client.h"
#include "vodfs/util/clock.h"
#include "vodfs/util/mutex.h"

namespace vodfs::auth {

// Reads an environment variable (injectable for tests).
using Getenv = std::function<std::optional<std::string>(const std::string& name)>;
Getenv ProcessEnvironment();

// Fetches fresh temporary credentials (with expiration) from a source.
using CredentialFetcher = std::function<Result<Credentials>()>;

// Caches credentials from a fetcher and renews them before they expire.
class RefreshingProvider final : public CredentialsProvider {
 public:
  // `margin`: renew when the credentials expire within this many seconds
  // (or a quarter of their lifetime, if that is shorter).
  RefreshingProvider(CredentialFetcher fetch, std::string description, Clock& clock,
                     int64_t margin_seconds = 300);
  Result<Credentials> Get() override;
  void Invalidate() override;
  std::string Describe() const override { return description_; }

 private:
  CredentialFetcher fetch_;
  std::string description_;
  Clock& clock_;
  int64_t margin_;
  Mutex mu_;
  CondVar cv_;
  std::optional<Credentials> current_ GUARDED_BY(mu_);
  int64_t fetched_at_ GUARDED_BY(mu_) = 0;
  bool refreshing_ GUARDED_BY(mu_) = false;  // one caller fetches, the others wait or carry on
  bool invalid_ GUARDED_BY(mu_) = false;
};

struct ChainOptions {
  // Explicit credentials (options or config file).
  std::string access_key_id;
  std::string access_key_secret;
  std::string security_token;
  // An external command printing {"AccessKeyId", "AccessKeySecret",
  // "SecurityToken", "Expiration"} as JSON; run through /bin/sh -c.
  std::string credentials_command;
  std::string profile;  // CLI / INI profile name
  std::string home;     // default: $HOME
  // ECS metadata service base URL (tests point it at the emulator).
  std::string imds_endpoint = "http://100.100.100.200";
  // STS for AssumeRole / AssumeRoleWithOIDC: empty means
  // ALIBABA_CLOUD_STS_ENDPOINT, else https://sts.<ALIBABA_CLOUD_STS_REGION>
  // .aliyuncs.com (sts-vpc.* with ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true),
  // else https://sts.aliyuncs.com. A bare host gets https://.
  std::string sts_endpoint;
  // Assume this RAM role on top of the credentials the chain yields.
  std::string role_arn;
  std::string role_session_name;  // default: ALIBABA_CLOUD_ROLE_SESSION_NAME, else vodfs-<time>
  Getenv getenv = ProcessEnvironment();
};

// One candidate source in the chain.
class SourceProvider {
 public:
  virtual ~SourceProvider() = default;
  // nullptr if this source is not configured; an error if it is configured
  // but broken (unreadable file, bad JSON, missing key).
  virtual Result<std::unique_ptr<CredentialsProvider>> Resolve() = 0;
  virtual std::string Name() const = 0;
};

class ChainProvider final : public CredentialsProvider {
 public:
  // `warnings` is shared with the sources, which append to it while the
  // chain resolves (under the chain's lock).
  ChainProvider(std::vector<std::unique_ptr<SourceProvider>> sources,
                std::shared_ptr<std::vector<std::string>> warnings =
                    std::make_shared<std::vector<std::string>>());
  Result<Credentials> Get() override;
  void Invalidate() override;
  std::string Describe() const override;
  // The warnings gathered while resolving (e.g. a world-readable file).
  std::vector<std::string> Warnings() const;

 private:
  Status ResolveLocked() REQUIRES(mu_);
  mutable Mutex mu_;
  std::vector<std::unique_ptr<SourceProvider>> sources_ GUARDED_BY(mu_);
  std::unique_ptr<CredentialsProvider> chosen_ GUARDED_BY(mu_);
  // Shared with the sources, which add to it while they resolve (under mu_).
  std::shared_ptr<std::vector<std::string>> warnings_;
};

// The default chain. `http` serves the metadata service and credentials
// URI; `clock` times refreshes.
std::unique_ptr<ChainProvider> MakeDefaultChain(const ChainOptions& options, http::HttpClient& http,
                                                Clock& clock);

// The region to use: explicit, then ALIBABA_CLOUD_REGION_ID (and legacy
// names), then the CLI profile's region_id, then "cn-shanghai".
std::string ResolveRegion(const std::string& explicit_region, const ChainOptions& options);

// Warning text if `path` is readable or writable by group/others, else "".
std::string CheckPrivateFile(const std::string& path);

// Parses the JSON printed by a credentials command or served by the
// metadata service / credentials URI.
Result<Credentials> ParseCredentialsJson(const std::string& text, const std::string& source);

}  // namespace vodfs::auth
