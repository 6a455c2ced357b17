#include "emulator/sts.h"

#include <regex>

#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"

namespace vodfs::emu {

using nlohmann::json;

namespace {

Error StsError(int status, std::string code, std::string message) {
  Error e(ErrorCode::kUnknown, std::move(message));
  e.http_status = status;
  e.service_code = std::move(code);
  return e;
}

std::string Param(const std::map<std::string, std::string>& p, const char* name) {
  auto it = p.find(name);
  return it == p.end() ? "" : it->second;
}

// acs:ram::<account>:role/<name>
const std::regex kRoleArn(R"(acs:ram::(\d+):role/([A-Za-z0-9._-]{1,64}))", std::regex::icase);
const std::regex kOidcProviderArn(R"(acs:ram::\d+:oidc-provider/[A-Za-z0-9._-]{1,128})", std::regex::icase);
const std::regex kSessionName(R"([A-Za-z0-9_.@-]{2,64})");

// The checks and the answer both actions share.
Result<json> Assume(const std::map<std::string, std::string>& p, const StsMint& mint, bool session_required) {
  const std::string role_arn = Param(p, "RoleArn");
  if (role_arn.empty()) return StsError(400, "MissingRoleArn", "RoleArn is mandatory for this action.");
  std::smatch m;
  if (!std::regex_match(role_arn, m, kRoleArn)) {
    return StsError(400, "InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed.");
  }
  const std::string account = m[1];
  const std::string role = m[2];
  std::string session = Param(p, "RoleSessionName");
  if (session.empty() && session_required) {
    return StsError(400, "MissingRoleSessionName", "RoleSessionName is mandatory for this action.");
  }
  if (session.empty()) session = "oidc-session";
  if (!std::regex_match(session, kSessionName)) {
    return StsError(400, "InvalidParameter.RoleSessionName", "The parameter RoleSessionName is wrongly formed.");
  }
  int64_t duration = 3600;
  if (const std::string d = Param(p, "DurationSeconds"); !d.empty()) {
    auto n = str::ParseInt64(d);
    // 900 s is STS's minimum; 3600 s the default maximum session of a role.
    if (!n || *n < 900 || *n > 3600) {
      return StsError(400, "InvalidParameter.DurationSeconds", "The Min/Max value of DurationSeconds is 15min/1hr.");
    }
    duration = *n;
  }
  if (str::StartsWith(str::ToLower(role), "deny")) {
    return StsError(403, "NoPermission",
                    "You are not authorized to do this action. You should be authorized by RAM.");
  }
  const StsCredential c = mint(duration);
  const std::string role_id = "3" + account.substr(0, std::min<size_t>(account.size(), 16));
  return json{{"AssumedRoleUser",
               {{"Arn", "acs:ram::" + account + ":assumed-role/" + role + "/" + session},
                {"AssumedRoleId", role_id + ":" + session}}},
              {"Credentials",
               {{"AccessKeyId", c.access_key_id},
                {"AccessKeySecret", c.access_key_secret},
                {"SecurityToken", c.security_token},
                {"Expiration", timefmt::FormatIso8601(c.expiration)}}}};
}

// The JWT payload's "exp", if it has one that can be read.
std::optional<int64_t> TokenExpiry(const std::string& token) {
  const auto parts = str::Split(token, '.');
  if (parts.size() != 3) return std::nullopt;
  std::string b64 = parts[1];
  for (char& c : b64) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (b64.size() % 4) b64.push_back('=');
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : b64) {
    if (c == '=') break;
    const size_t v = kAlphabet.find(c);
    if (v == std::string::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  json j = json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("exp") || !j["exp"].is_number_integer()) return std::nullopt;
  return j["exp"].get<int64_t>();
}

}  // namespace

Result<json> StsAssumeRole(const std::map<std::string, std::string>& params, const std::string& caller,
                           const StsMint& mint, int64_t) {
  (void)caller;  // any account of the emulator may assume any role but "deny*"
  return Assume(params, mint, true);
}

Result<json> StsAssumeRoleWithOidc(const std::map<std::string, std::string>& params, const StsMint& mint,
                                   int64_t now) {
  const std::string provider = Param(params, "OIDCProviderArn");
  if (provider.empty()) return StsError(400, "MissingOIDCProviderArn", "OIDCProviderArn is mandatory for this action.");
  if (!std::regex_match(provider, kOidcProviderArn)) {
    return StsError(400, "InvalidParameter.OIDCProviderArn", "The parameter OIDCProviderArn is wrongly formed.");
  }
  const std::string token = Param(params, "OIDCToken");
  if (token.empty()) return StsError(400, "MissingOIDCToken", "OIDCToken is mandatory for this action.");
  const auto parts = str::Split(token, '.');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || parts[2].empty()) {
    return StsError(400, "AuthenticationFail.OIDCToken.Invalid", "The OIDC token is invalid.");
  }
  if (auto exp = TokenExpiry(token); exp && *exp < now) {
    return StsError(400, "AuthenticationFail.OIDCToken.Expired", "The OIDC token has expired.");
  }
  return Assume(params, mint, false);
}

}  // namespace vodfs::emu
