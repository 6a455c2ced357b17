// Role credentials from STS (Security Token Service, API version
// 2015-04-01), the two ways the Alibaba Cloud credential tools get them:
//  - AssumeRole: a RAM role assumed with other credentials (an AccessKey,
//    or temporary ones), the call signed with them (RPC signature V2);
//  - AssumeRoleWithOIDC: a RAM role assumed with an OIDC token (RRSA on
//    Alibaba Cloud's Kubernetes: the token is a file the pod's projected
//    service account volume keeps fresh, read again on every call); the
//    call is not signed, the token is the proof.
// Both answer {"Credentials": {AccessKeyId, AccessKeySecret, SecurityToken,
// Expiration}}, which RefreshingProvider renews before they expire.
//
// Thread-safety: the functions hold no state; the HttpClient must be
// usable from the calling thread.
#pragma once

#include <cstdint>
#include <string>

#include "vodfs/auth/credential_chain.h"
#include "vodfs/auth/credentials.h"
#include "vodfs/http/http_client.h"
#include "vodfs/util/clock.h"
#include "vodfs/util/result.h"

namespace vodfs::auth {

// 3600 s: the default of every Alibaba SDK; 900 s is STS's minimum.
inline constexpr int64_t kDefaultRoleSeconds = 3600;
inline constexpr int64_t kMinRoleSeconds = 900;

struct AssumeRoleRequest {
  std::string role_arn;        // acs:ram::<account>:role/<name>
  std::string session_name;
  int64_t duration_seconds = kDefaultRoleSeconds;
  std::string policy;          // optional: narrows the role's permissions
  std::string external_id;     // optional: what the role's trust policy requires
};

struct OidcRequest {
  std::string role_arn;
  std::string oidc_provider_arn;  // acs:ram::<account>:oidc-provider/<name>
  std::string token_file;         // read on every call (the pod refreshes it)
  std::string session_name;
  int64_t duration_seconds = kDefaultRoleSeconds;
  std::string policy;
};

// The STS endpoint URL: `explicit_endpoint`, else ALIBABA_CLOUD_STS_ENDPOINT,
// else https://sts.<ALIBABA_CLOUD_STS_REGION>.aliyuncs.com (sts-vpc. with
// ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true), else https://sts.aliyuncs.com
// (credentials-go's rule). A bare host gets "https://".
std::string StsEndpoint(const std::string& explicit_endpoint, const Getenv& getenv);

// A session name for roles when none is configured: ALIBABA_CLOUD_ROLE_
// SESSION_NAME, else "vodfs-<unix time>".
std::string RoleSessionName(const std::string& configured, const Getenv& getenv, Clock& clock);

Result<Credentials> AssumeRole(http::HttpClient& http, Clock& clock, const std::string& endpoint,
                               const Credentials& base, const AssumeRoleRequest& req);
Result<Credentials> AssumeRoleWithOidc(http::HttpClient& http, Clock& clock, const std::string& endpoint,
                                       const OidcRequest& req);

// An STS answer as credentials, or its error: the service's Code and
// Message (e.g. "NoPermission", "InvalidParameter.RoleArn",
// "AuthenticationFail.OIDCToken.Expired") with what to do about the common
// ones. `source` names the role for messages.
Result<Credentials> ParseStsAnswer(int http_status, const std::string& body, const std::string& source);

}  // namespace vodfs::auth
