#include <gtest/gtest.h>

#include <cerrno>

#include "fuse/fuse_adapter.h"

namespace vodfs::fusefs {
namespace {

TEST(ToErrnoTest, EveryCodeMapsToAnErrno) {
  EXPECT_EQ(ToErrno(ErrorCode::kOk), 0);
  EXPECT_EQ(ToErrno(ErrorCode::kNotFound), ENOENT);
  EXPECT_EQ(ToErrno(ErrorCode::kPermissionDenied), EACCES);
  EXPECT_EQ(ToErrno(ErrorCode::kUnauthenticated), EACCES);
  EXPECT_EQ(ToErrno(ErrorCode::kStale), ESTALE);
  EXPECT_EQ(ToErrno(ErrorCode::kCancelled), EINTR);
  EXPECT_EQ(ToErrno(ErrorCode::kInvalidArgument), EINVAL);
  EXPECT_EQ(ToErrno(ErrorCode::kReadOnly), EROFS);
  EXPECT_EQ(ToErrno(ErrorCode::kNotADirectory), ENOTDIR);
  EXPECT_EQ(ToErrno(ErrorCode::kIsADirectory), EISDIR);
  EXPECT_EQ(ToErrno(ErrorCode::kResourceExhausted), ENOMEM);
  for (ErrorCode c : {ErrorCode::kUnavailable, ErrorCode::kDeadlineExceeded, ErrorCode::kDataLoss,
                      ErrorCode::kInternal, ErrorCode::kBadResponse, ErrorCode::kThrottled,
                      ErrorCode::kUrlExpired, ErrorCode::kUnknown}) {
    EXPECT_EQ(ToErrno(c), EIO) << ErrorCodeName(c);
  }
  for (int c = 1; c <= static_cast<int>(ErrorCode::kBadResponse); ++c) {
    EXPECT_GT(ToErrno(static_cast<ErrorCode>(c)), 0) << ErrorCodeName(static_cast<ErrorCode>(c));
  }
}

}  // namespace
}  // namespace vodfs::fusefs
