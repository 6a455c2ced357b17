// The RPC transport of the VOD API: builds and signs requests (V2 by
// default, V3 optionally), sends them through HttpClient, decodes error
// bodies, rate-limits each operation at its documented QPS and retries
// what is worth retrying.
//
// Retry classes:
//   Throttling*, 5xx, InternalError/ServiceUnavailable, timeouts, resets
//       -> jittered exponential backoff, within the retry budget;
//   SignatureNonceUsed -> at once, with a new nonce;
//   expired/invalid STS token -> credentials refreshed, one more attempt;
//   every other 4xx -> no retry (a wrong secret costs exactly one call).
//
// Thread-safety: RpcClient is safe to share between threads.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "vodfs/auth/credentials.h"
#include "vodfs/http/http_client.h"
#include "vodfs/util/clock.h"
#include "vodfs/util/mutex.h"
#include "vodfs/util/rate_limiter.h"
#include "vodfs/util/result.h"
#include "vodfs/util/retry.h"

namespace vodfs::vod {

inline constexpr const char kApiVersion[] = "2017-03-21";

enum class SignatureVersion { kV2, kV3 };

// Public endpoint for a region ("https://vod.cn-shanghai.aliyuncs.com"),
// following the SDK endpoint map (cn-hangzhou -> cn-shanghai; regions
// without their own VOD endpoint -> vod.aliyuncs.com).
std::string EndpointForRegion(std::string_view region, bool vpc = false);
// The documented client-side QPS for an operation (GetPlayInfo 360, ...).
double DocumentedQps(std::string_view action);

using Params = std::map<std::string, std::string>;

struct RequestSpec {
  std::string endpoint;  // base URL without path
  std::string action;
  Params params;  // operation parameters
  auth::Credentials credentials;
  std::string http_method = "POST";
  SignatureVersion signature = SignatureVersion::kV2;
  int64_t timestamp = 0;  // Unix seconds
  std::string nonce;
};
// Builds the signed HTTP request (no I/O). Exposed for tests that need to
// craft requests with chosen timestamps and nonces.
http::Request BuildSignedRequest(const RequestSpec& spec);

// Decodes an error answer: Code, Message, RequestId from a JSON body (or
// XML), mapped to an ErrorCode. `action` prefixes the message.
Error DecodeApiError(std::string_view action, int http_status, std::string_view body);
// What an HTTP answer of the API means: nothing for a success (a 200 whose
// body is a JSON object without a Code, or with a success Code), else the
// Error it carries: a 200 with a body that is not a JSON object is
// kBadResponse, a 200 with a failure Code and every other status are
// decoded by DecodeApiError. No I/O; what RpcClient::Call retries on.
std::optional<Error> ApiAnswerError(std::string_view action, int http_status, std::string_view body);
bool IsRetryableApiError(const Error& e);

struct RpcOptions {
  std::string endpoint;  // required
  std::string http_method = "POST";
  SignatureVersion signature = SignatureVersion::kV2;
  RetryOptions retry{.max_attempts = 8,
                     .initial_backoff = std::chrono::milliseconds(200),
                     .max_backoff = std::chrono::milliseconds(8000),
                     .multiplier = 2.0,
                     .budget = std::chrono::milliseconds(90000)};
  // Multiplies the documented per-operation QPS; 0 disables client limits.
  double qps_scale = 1.0;
  std::chrono::milliseconds timeout{30000};
};

struct RpcStats {
  std::map<std::string, uint64_t> calls;     // HTTP requests sent, by action
  std::map<std::string, uint64_t> failures;  // final failures, by action
  uint64_t retries = 0;
  uint64_t throttled = 0;
};

class RpcClient {
 public:
  RpcClient(http::HttpClient& http, auth::CredentialsProvider& credentials, Clock& clock,
            RpcOptions options);
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // Signs and sends `action`, returning the JSON body of a success.
  Result<std::string> Call(std::string_view action, const Params& params);

  RpcStats Stats() const;
  const RpcOptions& options() const { return options_; }
  auth::CredentialsProvider& credentials() { return credentials_; }

 private:
  RateLimiter& LimiterFor(const std::string& action);

  http::HttpClient& http_;
  auth::CredentialsProvider& credentials_;
  Clock& clock_;
  RpcOptions options_;
  Backoff backoff_;
  mutable Mutex mu_;
  std::map<std::string, std::unique_ptr<RateLimiter>> limiters_ GUARDED_BY(mu_);
  RpcStats stats_ GUARDED_BY(mu_);
};

}  // namespace vodfs::vod
