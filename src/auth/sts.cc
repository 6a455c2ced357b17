#include "vodfs/auth/sts.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "vodfs/auth/rpc_signer.h"
#include "vodfs/util/log.h"
#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"

namespace vodfs::auth {

using nlohmann::json;

namespace {

std::string FormBody(const RpcParams& params) {
  std::string body;
  for (const auto& [k, v] : params) {
    if (!body.empty()) body += "&";
    body += str::PercentEncode(k) + "=" + str::PercentEncode(v);
  }
  return body;
}

RpcParams CommonParams(const std::string& action, Clock& clock) {
  return {{"Action", action},
          {"Version", "2015-04-01"},
          {"Format", "JSON"},
          {"Timestamp", timefmt::FormatIso8601(clock.UnixNow())}};
}

Result<Credentials> Post(http::HttpClient& http, const std::string& endpoint, const RpcParams& params,
                         const std::string& source) {
  http::Request req;
  req.method = "POST";
  req.url = endpoint + "/";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
  req.body = FormBody(params);
  // STS answers in well under a second; 10 s covers a slow link without
  // holding a mount's start for long.
  req.timeout = std::chrono::seconds(10);
  auto r = http.Send(req, 1 << 20);
  if (!r.ok()) return Error(ErrorCode::kUnavailable, source + ": cannot reach STS at " + endpoint + ": " + r.error().message);
  return ParseStsAnswer(r->status, r->body, source);
}

}  // namespace

std::string StsEndpoint(const std::string& explicit_endpoint, const Getenv& getenv) {
  std::string e = explicit_endpoint;
  if (e.empty()) e = getenv("ALIBABA_CLOUD_STS_ENDPOINT").value_or("");
  if (e.empty()) {
    auto vpc = getenv("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED");
    const std::string prefix = vpc && str::EqualsIgnoreCase(*vpc, "true") ? "sts-vpc" : "sts";
    auto region = getenv("ALIBABA_CLOUD_STS_REGION");
    e = region ? prefix + "." + *region + ".aliyuncs.com" : "sts.aliyuncs.com";
  }
  if (!str::StartsWith(e, "http://") && !str::StartsWith(e, "https://")) e = "https://" + e;
  while (!e.empty() && e.back() == '/') e.pop_back();
  return e;
}

std::string RoleSessionName(const std::string& configured, const Getenv& getenv, Clock& clock) {
  if (!configured.empty()) return configured;
  if (auto n = getenv("ALIBABA_CLOUD_ROLE_SESSION_NAME")) return *n;
  return "vodfs-" + std::to_string(clock.UnixNow());
}

Result<Credentials> ParseStsAnswer(int http_status, const std::string& body, const std::string& source) {
  json j = json::parse(body, nullptr, false);
  if (http_status != 200) {
    std::string code, message;
    if (!j.is_discarded() && j.is_object()) {
      if (j.contains("Code") && j["Code"].is_string()) code = j["Code"].get<std::string>();
      if (j.contains("Message") && j["Message"].is_string()) message = j["Message"].get<std::string>();
    }
    std::string hint;
    if (code == "NoPermission" || code == "EntityNotExist.Role" || str::StartsWith(code, "InvalidParameter.RoleArn")) {
      hint = " Check the role ARN and that the role's trust policy lets this identity assume it.";
    } else if (str::StartsWith(code, "AuthenticationFail.OIDCToken")) {
      hint = " The OIDC token file is expired or not the provider's (is the pod's projected token mounted?).";
    } else if (str::StartsWith(code, "InvalidParameter.DurationSeconds")) {
      hint = " The role's maximum session duration is shorter than the one asked.";
    }
    ErrorCode ec = http_status == 403 || http_status == 401 ? ErrorCode::kPermissionDenied
                   : http_status >= 500                     ? ErrorCode::kUnavailable
                                                            : ErrorCode::kInvalidArgument;
    Error e(ec, source + ": STS refused (" + (code.empty() ? "HTTP " + std::to_string(http_status) : code) +
                    (message.empty() ? "" : ": " + log::Redact(message)) + ")." + hint);
    e.service_code = code;
    e.http_status = http_status;
    return e;
  }
  if (j.is_discarded() || !j.is_object() || !j.contains("Credentials") || !j["Credentials"].is_object()) {
    return Error(ErrorCode::kBadResponse, source + ": STS answered 200 without Credentials");
  }
  return ParseCredentialsJson(j["Credentials"].dump(), source);
}

Result<Credentials> AssumeRole(http::HttpClient& http, Clock& clock, const std::string& endpoint,
                               const Credentials& base, const AssumeRoleRequest& req) {
  const std::string source = "RAM role " + req.role_arn;
  RpcParams p = CommonParams("AssumeRole", clock);
  p["RoleArn"] = req.role_arn;
  p["RoleSessionName"] = req.session_name;
  p["DurationSeconds"] = std::to_string(req.duration_seconds);
  if (!req.policy.empty()) p["Policy"] = req.policy;
  if (!req.external_id.empty()) p["ExternalId"] = req.external_id;
  p["AccessKeyId"] = base.access_key_id;
  if (!base.security_token.empty()) p["SecurityToken"] = base.security_token;
  p["SignatureMethod"] = "HMAC-SHA1";
  p["SignatureVersion"] = "1.0";
  p["SignatureNonce"] = str::RandomHex(32);
  RpcV2Sign("POST", base.access_key_secret, p);
  auto c = Post(http, endpoint, p, source);
  if (c.ok()) c->source = source + " (assumed with " + base.source + ")";
  return c;
}

Result<Credentials> AssumeRoleWithOidc(http::HttpClient& http, Clock& clock, const std::string& endpoint,
                                       const OidcRequest& req) {
  const std::string source = "OIDC role " + req.role_arn;
  std::ifstream in(req.token_file);
  if (!in) return Error(ErrorCode::kNotFound, source + ": cannot read the OIDC token file " + req.token_file);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string token(str::Trim(ss.str()));
  if (token.empty()) return Error(ErrorCode::kInvalidArgument, source + ": the OIDC token file " + req.token_file + " is empty");
  log::RegisterSecret(token);
  RpcParams p = CommonParams("AssumeRoleWithOIDC", clock);
  p["RoleArn"] = req.role_arn;
  p["OIDCProviderArn"] = req.oidc_provider_arn;
  p["OIDCToken"] = token;
  p["RoleSessionName"] = req.session_name;
  p["DurationSeconds"] = std::to_string(req.duration_seconds);
  if (!req.policy.empty()) p["Policy"] = req.policy;
  auto c = Post(http, endpoint, p, source);
  if (c.ok()) c->source = source + " (OIDC token " + req.token_file + ")";
  return c;
}

}  // namespace vodfs::auth
