// Error, Status and Result<T>: how every vodfs module reports failure.
//
// Libraries never throw across module boundaries; they return Status (no
// value) or Result<T> (a value or an Error). The API mirrors absl::StatusOr /
// std::expected (ok(), value(), error()) so it can be swapped later.
//
// ErrorCode is the abseil canonical set plus a few filesystem and service
// codes. The one mapping to errno lives in the fuse adapter.
//
// Thread-safety: value types; no shared state.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vodfs {

enum class ErrorCode {
  kOk = 0,
  kCancelled,
  kUnknown,
  kInvalidArgument,
  kDeadlineExceeded,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kResourceExhausted,
  kFailedPrecondition,
  kAborted,
  kOutOfRange,
  kUnimplemented,
  kInternal,
  kUnavailable,
  kDataLoss,
  kUnauthenticated,
  // Domain codes.
  kReadOnly,       // a write on the read-only filesystem
  kNotADirectory,  // a directory operation on a file
  kIsADirectory,   // a file operation on a directory
  kStale,          // the remote object changed under an open handle
  kUrlExpired,     // a signed URL was refused; internal, consumed by fetch
  kThrottled,      // the service asked us to slow down
  kBadResponse,    // a peer answered something we cannot use
};

// Stable lower-case name, e.g. "not_found"; used in logs and JSON stats.
std::string_view ErrorCodeName(ErrorCode code);

// An error with context. `service_code` and `request_id` carry what the VOD
// API said (Code, RequestId); `http_status` is the HTTP status when there
// was one. Messages must never contain secrets or signed URLs; callers build
// them from redacted material (see util/log.h).
struct Error {
  ErrorCode code = ErrorCode::kUnknown;
  std::string message;
  int http_status = 0;
  std::string service_code;
  std::string request_id;

  Error() = default;
  Error(ErrorCode c, std::string msg) : code(c), message(std::move(msg)) {}

  // "not_found: The video does not exist. (Code InvalidVideo.NotFound,
  // HTTP 404, RequestId ...)"
  std::string ToString() const;
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error e) : error_(std::move(e)) {}  // NOLINT(google-explicit-constructor)
  Status(ErrorCode c, std::string msg) : error_(Error(c, std::move(msg))) {}

  static Status Ok() { return Status(); }

  bool ok() const { return !error_.has_value(); }
  const Error& error() const {
    assert(error_);
    return *error_;
  }
  ErrorCode code() const { return error_ ? error_->code : ErrorCode::kOk; }
  std::string ToString() const { return error_ ? error_->ToString() : "ok"; }

 private:
  std::optional<Error> error_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}      // NOLINT
  Result(Status s) : v_(std::in_place_index<1>, s.error()) {         // NOLINT
    assert(!s.ok());
  }
  Result(ErrorCode c, std::string msg) : v_(std::in_place_index<1>, Error(c, std::move(msg))) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }
  ErrorCode code() const { return ok() ? ErrorCode::kOk : error().code; }
  Status status() const { return ok() ? Status() : Status(error()); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace vodfs

#define VODFS_CONCAT_INNER_(a, b) a##b
#define VODFS_CONCAT_(a, b) VODFS_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (a Status) is not ok.
#define VODFS_RETURN_IF_ERROR(expr)               \
  do {                                            \
    ::vodfs::Status vodfs_status_ = (expr);       \
    if (!vodfs_status_.ok()) return vodfs_status_.error(); \
  } while (0)

// `lhs = value of expr` or return its error from the enclosing function.
#define VODFS_ASSIGN_OR_RETURN(lhs, expr) \
  VODFS_ASSIGN_OR_RETURN_IMPL_(VODFS_CONCAT_(vodfs_result_, __LINE__), lhs, expr)
#define VODFS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.error();                 \
  lhs = std::move(tmp).value()
