#include "cli/api_errors.h"

#include "cli/api_stack.h"
#include "vodfs/util/strings.h"

namespace vodfs::cli {

namespace {

// "Specified signature is not matched with our calculation. server string
// to sign is:POST&%2F&AccessKeyId..." -> the part before the echo.
std::string WithoutStringToSign(const std::string& message) {
  for (const char* marker : {"server string to sign is", "string to sign is", "StringToSign"}) {
    const size_t at = message.find(marker);
    if (at != std::string::npos) return std::string(str::Trim(message.substr(0, at)));
  }
  return message;
}

}  // namespace

ApiErrorExplanation ExplainApiError(const Error& e, const std::string& endpoint, const std::string& key_id) {
  const std::string& c = e.service_code;
  const std::string tail = e.request_id.empty() ? "" : " (RequestId " + e.request_id + ")";
  if (e.http_status == 0) {
    return {"endpoint", "cannot reach " + endpoint + ": " + WithoutStringToSign(e.message) +
                            ". Check the region/--endpoint, DNS, proxy variables and firewall."};
  }
  if (c == "SignatureDoesNotMatch" || c == "IncompleteSignature") {
    return {"credentials", "the service rejected the signature: the AccessKey secret does not match " +
                               MaskKeyId(key_id) + ". Check the secret (no stray spaces or quotes)." + tail};
  }
  if (str::StartsWith(c, "InvalidAccessKeyId")) {
    return {"credentials", "the AccessKey " + MaskKeyId(key_id) + " is unknown or disabled (" + c +
                               "). Create or enable it in the RAM console." + tail};
  }
  if (str::StartsWith(c, "InvalidSecurityToken") || c == "MissingSecurityToken") {
    return {"credentials",
            "the STS token was refused (" + c + "). Refresh the temporary credentials or check their source." + tail};
  }
  if (str::StartsWith(c, "InvalidTimeStamp")) {
    return {"clock", "the service refused the request time (" + c +
                         "). Synchronise the clock (timedatectl set-ntp true)." + tail};
  }
  if (str::StartsWith(c, "Forbidden") || str::StartsWith(c, "OperationDenied")) {
    return {"permission", "the account may not call the VOD API (" + c +
                              "). Grant read access to VOD, e.g. the AliyunVODReadOnlyAccess policy." + tail};
  }
  if (str::StartsWith(c, "Throttling")) {
    return {"api", "throttled (" + c + "); try again later or lower --qps-scale." + tail};
  }
  Error shown = e;
  shown.message = WithoutStringToSign(e.message);
  return {"api", shown.ToString()};
}

}  // namespace vodfs::cli
