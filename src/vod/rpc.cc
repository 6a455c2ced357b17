#include "vodfs/vod/rpc.h"

#include <nlohmann/json.hpp>
#include <set>

#include "vodfs/auth/crypto.h"
#include "vodfs/auth/rpc_signer.h"
#include "vodfs/util/log.h"
#include "vodfs/util/mutex.h"
#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"
#include "vodfs/util/url.h"

namespace vodfs::vod {

using nlohmann::json;

std::string EndpointForRegion(std::string_view region, bool vpc) {
  static const std::set<std::string, std::less<>> kOwn = {
      "cn-shanghai", "cn-beijing",     "cn-shenzhen",    "cn-hongkong", "ap-northeast-1",
      "ap-southeast-1", "ap-southeast-5", "eu-central-1", "us-west-1",   "ap-south-1"};
  std::string r(region);
  if (r == "cn-hangzhou") r = "cn-shanghai";
  if (!kOwn.count(r)) return "https://vod.aliyuncs.com";
  return "https://vod" + std::string(vpc ? "-vpc." : ".") + r + ".aliyuncs.com";
}

double DocumentedQps(std::string_view action) {
  static const std::map<std::string, double, std::less<>> kQps = {
      {"GetPlayInfo", 360},   {"GetVideoInfo", 100},     {"GetVideoInfos", 100},
      {"GetVideoList", 100},  {"GetMezzanineInfo", 100}, {"SearchMedia", 50},
      {"GetCategories", 50},  {"GetImageInfos", 10},     {"GetImageInfo", 100},
      {"ListSnapshots", 100}};
  auto it = kQps.find(action);
  // Unknown operations get the most common documented limit.
  return it == kQps.end() ? 100 : it->second;
}

http::Request BuildSignedRequest(const RequestSpec& spec) {
  http::Request req;
  req.method = spec.http_method;
  const auth::Credentials& c = spec.credentials;
  const std::string ts = timefmt::FormatIso8601(spec.timestamp);
  std::string base = spec.endpoint;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (spec.signature == SignatureVersion::kV2) {
    auth::RpcParams p(spec.params.begin(), spec.params.end());
    p["Action"] = spec.action;
    p["Version"] = kApiVersion;
    p["Format"] = "JSON";
    p["AccessKeyId"] = c.access_key_id;
    p["SignatureMethod"] = "HMAC-SHA1";
    p["SignatureVersion"] = "1.0";
    p["SignatureNonce"] = spec.nonce;
    p["Timestamp"] = ts;
    if (!c.security_token.empty()) p["SecurityToken"] = c.security_token;
    auth::RpcV2Sign(spec.http_method, c.access_key_secret, p);
    const std::string query = auth::CanonicalizedQuery(p);
    if (spec.http_method == "GET") {
      req.url = base + "/?" + query;
    } else {
      req.url = base + "/";
      req.body = query;
      req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    }
    req.headers.emplace_back("x-acs-action", spec.action);
    req.headers.emplace_back("x-acs-version", kApiVersion);
    return req;
  }
  // V3: operation parameters in the query, signature in Authorization.
  auto url = Url::Parse(base);
  std::string host = url ? url->host : base;
  if (url && url->port && url->port != (url->scheme == "https" ? 443 : 80)) {
    host += ":" + std::to_string(url->port);
  }
  auth::RpcV3Request vr;
  vr.method = spec.http_method;
  vr.query = auth::RpcParams(spec.params.begin(), spec.params.end());
  vr.headers = {{"host", host},
                {"x-acs-action", spec.action},
                {"x-acs-version", kApiVersion},
                {"x-acs-date", ts},
                {"x-acs-signature-nonce", spec.nonce},
                {"x-acs-content-sha256", auth::Sha256Hex("")}};
  if (!c.security_token.empty()) vr.headers["x-acs-security-token"] = c.security_token;
  auth::RpcV3Signature s = auth::RpcV3Sign(vr, c.access_key_id, c.access_key_secret);
  const std::string query = auth::CanonicalizedQuery(vr.query);
  req.url = base + "/" + (query.empty() ? "" : "?" + query);
  for (const auto& [k, v] : vr.headers) {
    if (k != "host") req.headers.emplace_back(k, v);
  }
  req.headers.emplace_back("Authorization", s.authorization);
  return req;
}

namespace {

ErrorCode MapServiceCode(const std::string& code, int status) {
  auto starts = [&code](const char* p) { return str::StartsWith(code, p); };
  if (code == "InvalidAccessKeyId.NotFound" || starts("InvalidAccessKeyId") ||
      starts("SignatureDoesNotMatch") || starts("IncompleteSignature") ||
      starts("InvalidSecurityToken") || code == "MissingSecurityToken" ||
      code == "Forbidden.AccessKeyDisabled" || starts("InvalidSignature")) {
    return ErrorCode::kUnauthenticated;
  }
  if (code == "InvalidAction.NotFound") return ErrorCode::kUnimplemented;
  if (starts("Throttling")) return ErrorCode::kThrottled;
  if (code == "SignatureNonceUsed") return ErrorCode::kAborted;
  if (starts("InvalidTimeStamp")) return ErrorCode::kFailedPrecondition;
  if (code == "Forbidden.IllegalStatus" || code == "Forbidden.AliyunVoDEncryption") {
    return ErrorCode::kFailedPrecondition;
  }
  if (code == "InvalidVideo.NoneStream" || str::EndsWith(code, ".NotFound") ||
      code == "NoSuchResource") {
    return ErrorCode::kNotFound;
  }
  if (starts("Forbidden") || starts("OperationDenied")) return ErrorCode::kPermissionDenied;
  if (code == "MissingParameter" || starts("InvalidParameter") || str::EndsWith(code, "ExceededMax") ||
      code == "InvalidVersion") {
    return ErrorCode::kInvalidArgument;
  }
  if (code == "InternalError" || str::EqualsIgnoreCase(code, "ServiceUnavailable") || status >= 500) {
    return ErrorCode::kUnavailable;
  }
  if (status == 404) return ErrorCode::kNotFound;
  if (status == 403) return ErrorCode::kPermissionDenied;
  return ErrorCode::kUnknown;
}

std::string XmlField(std::string_view body, const std::string& name) {
  size_t a = body.find("<" + name + ">");
  if (a == std::string_view::npos) return "";
  a += name.size() + 2;
  size_t b = body.find("</" + name + ">", a);
  return b == std::string_view::npos ? "" : std::string(body.substr(a, b - a));
}

}  // namespace

Error DecodeApiError(std::string_view action, int http_status, std::string_view body) {
  Error e;
  e.http_status = http_status;
  json j = json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    auto field = [&j](const char* name) {
      return j.contains(name) && j[name].is_string() ? j[name].get<std::string>() : std::string();
    };
    e.service_code = field("Code");
    e.message = field("Message");
    e.request_id = field("RequestId");
  } else if (body.find("<Code>") != std::string_view::npos) {
    e.service_code = XmlField(body, "Code");
    e.message = XmlField(body, "Message");
    e.request_id = XmlField(body, "RequestId");
  }
  e.code = MapServiceCode(e.service_code, http_status);
  if (e.service_code.empty() && e.message.empty()) {
    e.message = "unexpected HTTP " + std::to_string(http_status) + " without an error body";
    if (http_status == 200) e.code = ErrorCode::kBadResponse;
  }
  // A server echoes the string to sign (with the STS token and every
  // parameter) in the Message of SignatureDoesNotMatch: it says nothing a
  // person can act on, so it is cut, and what remains is redacted too.
  if (size_t echo = e.message.find("string to sign is"); echo != std::string::npos) {
    e.message = std::string(str::Trim(e.message.substr(0, echo)));
    if (str::EndsWith(e.message, "server")) e.message = std::string(str::Trim(e.message.substr(0, e.message.size() - 6)));
  }
  e.message = std::string(action) + ": " + log::Redact(e.message);
  if (e.code == ErrorCode::kFailedPrecondition && str::StartsWith(e.service_code, "InvalidTimeStamp")) {
    e.message += " (is the system clock right? The API accepts 15 minutes of skew)";
  }
  return e;
}

std::optional<Error> ApiAnswerError(std::string_view action, int http_status, std::string_view body) {
  if (http_status != 200) return DecodeApiError(action, http_status, body);
  // pop-core's rule: a 200 carrying a Code that is not a success is an error.
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error(ErrorCode::kBadResponse,
                 std::string(action) + ": the API answered 200 with a body that is not a JSON object");
  }
  static const std::set<std::string> kOk = {"200", "OK", "Success", "success"};
  if (!j.contains("Code") || !j["Code"].is_string() || kOk.count(j["Code"].get<std::string>())) {
    return std::nullopt;
  }
  return DecodeApiError(action, 200, body);
}

bool IsRetryableApiError(const Error& e) {
  switch (e.code) {
    case ErrorCode::kThrottled:
    case ErrorCode::kUnavailable:
    case ErrorCode::kDeadlineExceeded:
    case ErrorCode::kAborted:
      return true;
    default:
      return false;
  }
}

RpcClient::RpcClient(http::HttpClient& http, auth::CredentialsProvider& credentials, Clock& clock,
                     RpcOptions options)
    : http_(http),
      credentials_(credentials),
      clock_(clock),
      options_(std::move(options)),
      backoff_(options_.retry) {}

RateLimiter& RpcClient::LimiterFor(const std::string& action) {
  MutexLock lock(&mu_);
  auto& l = limiters_[action];
  if (!l) l = std::make_unique<RateLimiter>(clock_, DocumentedQps(action) * options_.qps_scale);
  return *l;
}

RpcStats RpcClient::Stats() const {
  MutexLock lock(&mu_);
  return stats_;
}

Result<std::string> RpcClient::Call(std::string_view action_view, const Params& params) {
  const std::string action(action_view);
  RateLimiter& limiter = LimiterFor(action);
  const MonoTime start = clock_.Now();
  bool refreshed_credentials = false;
  Error last;
  for (int attempt = 1; attempt <= options_.retry.max_attempts; ++attempt) {
    limiter.Acquire();
    auto creds = credentials_.Get();
    if (!creds.ok()) return creds.error();
    RequestSpec spec;
    spec.endpoint = options_.endpoint;
    spec.action = action;
    spec.params = params;
    spec.credentials = *creds;
    spec.http_method = options_.http_method;
    spec.signature = options_.signature;
    spec.timestamp = clock_.UnixNow();
    spec.nonce = str::RandomUuid();
    http::Request req = BuildSignedRequest(spec);
    req.timeout = options_.timeout;
    {
      MutexLock lock(&mu_);
      ++stats_.calls[action];
    }
    auto resp = http_.Send(req, 256 << 20);
    Duration floor = Duration::zero();
    if (!resp.ok()) {
      last = resp.error();
      last.message = action + ": " + last.message;
      if (last.code != ErrorCode::kUnavailable && last.code != ErrorCode::kDeadlineExceeded) break;
    } else if (resp->status == 200) {
      std::optional<Error> error = ApiAnswerError(action, 200, resp->body);
      if (!error) return std::move(resp->body);
      last = std::move(*error);
      if (!IsRetryableApiError(last)) break;  // a body that is not JSON among them
    } else {
      last = DecodeApiError(action, resp->status, resp->body);
      if (last.code == ErrorCode::kUnauthenticated && creds->temporary() && !refreshed_credentials &&
          (str::StartsWith(last.service_code, "InvalidSecurityToken") ||
           last.service_code == "InvalidAccessKeyId.NotFound")) {
        // Temporary credentials went stale under us: renew once and retry.
        VODFS_LOG(kInfo) << action << ": " << last.service_code << ", refreshing credentials from "
                         << credentials_.Describe();
        credentials_.Invalidate();
        refreshed_credentials = true;
        continue;
      }
      if (last.code == ErrorCode::kAborted) {  // SignatureNonceUsed: new nonce now
        MutexLock lock(&mu_);
        ++stats_.retries;
        continue;
      }
      if (!IsRetryableApiError(last)) break;
      if (last.code == ErrorCode::kThrottled) {
        MutexLock lock(&mu_);
        ++stats_.throttled;
        floor = std::chrono::milliseconds(500);
      }
      if (auto ra = resp->Header("Retry-After")) {
        if (auto s = str::ParseInt64(*ra); s && *s > 0 && *s < 120) floor = std::chrono::seconds(*s);
      }
    }
    if (attempt == options_.retry.max_attempts) break;
    Duration delay = backoff_.DelayFor(attempt, floor);
    if (clock_.Now() - start + delay > options_.retry.budget) break;
    VODFS_LOG(kDebug) << action << " attempt " << attempt << " failed (" << last.ToString()
                      << "); retrying in "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(delay).count() << " ms";
    {
      MutexLock lock(&mu_);
      ++stats_.retries;
    }
    clock_.SleepFor(delay);
  }
  {
    MutexLock lock(&mu_);
    ++stats_.failures[action];
  }
  return last;
}

}  // namespace vodfs::vod
