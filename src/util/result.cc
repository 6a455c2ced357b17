#include "vodfs/util/result.h"

namespace vodfs {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kUnknown: return "unknown";
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kDeadlineExceeded: return "deadline_exceeded";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kAlreadyExists: return "already_exists";
    case ErrorCode::kPermissionDenied: return "permission_denied";
    case ErrorCode::kResourceExhausted: return "resource_exhausted";
    case ErrorCode::kFailedPrecondition: return "failed_precondition";
    case ErrorCode::kAborted: return "aborted";
    case ErrorCode::kOutOfRange: return "out_of_range";
    case ErrorCode::kUnimplemented: return "unimplemented";
    case ErrorCode::kInternal: return "internal";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kDataLoss: return "data_loss";
    case ErrorCode::kUnauthenticated: return "unauthenticated";
    case ErrorCode::kReadOnly: return "read_only";
    case ErrorCode::kNotADirectory: return "not_a_directory";
    case ErrorCode::kIsADirectory: return "is_a_directory";
    case ErrorCode::kStale: return "stale";
    case ErrorCode::kUrlExpired: return "url_expired";
    case ErrorCode::kThrottled: return "throttled";
    case ErrorCode::kBadResponse: return "bad_response";
  }
  return "unknown";
}

std::string Error::ToString() const {
  std::string out(ErrorCodeName(code));
  if (!message.empty()) {
    out += ": ";
    out += message;
  }
  std::string extra;
  auto add = [&extra](const std::string& s) {
    if (!extra.empty()) extra += ", ";
    extra += s;
  };
  if (!service_code.empty()) add("Code " + service_code);
  if (http_status != 0) add("HTTP " + std::to_string(http_status));
  if (!request_id.empty()) add("RequestId " + request_id);
  if (!extra.empty()) out += " (" + extra + ")";
  return out;
}

}  // namespace vodfs
