#include "vodfs/util/result.h"

#include <gtest/gtest.h>

#include <set>

namespace vodfs {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Error(ErrorCode::kInvalidArgument, "odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  VODFS_ASSIGN_OR_RETURN(int h, Half(x));
  VODFS_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckEven(int x) {
  VODFS_RETURN_IF_ERROR(Half(x).status());
  return Status::Ok();
}

TEST(ResultTest, ValueAndErrorPropagation) {
  EXPECT_EQ(Quarter(8).value(), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message, "odd");
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(3).code(), ErrorCode::kInvalidArgument);
}

TEST(ResultTest, ErrorToStringCarriesServiceContext) {
  Error e(ErrorCode::kNotFound, "The video does not exist.");
  e.service_code = "InvalidVideo.NotFound";
  e.http_status = 404;
  e.request_id = "R1";
  EXPECT_EQ(e.ToString(),
            "not_found: The video does not exist. (Code InvalidVideo.NotFound, HTTP 404, "
            "RequestId R1)");
  EXPECT_EQ(Status().ToString(), "ok");
}

TEST(ResultTest, EveryCodeHasADistinctName) {
  std::set<std::string_view> names;
  for (int c = 0; c <= static_cast<int>(ErrorCode::kBadResponse); ++c) {
    names.insert(ErrorCodeName(static_cast<ErrorCode>(c)));
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(ErrorCode::kBadResponse) + 1);
}

}  // namespace
}  // namespace vodfs
