#include "vodfs/vod/rpc.h"

#include <gtest/gtest.h>

#include <set>

#include "support/fake_http.h"
#include "vodfs/auth/rpc_signer.h"
#include "vodfs/util/log.h"
#include "vodfs/util/url.h"

namespace vodfs::vod {
namespace {

using testing::FakeHttpClient;

const std::string kOk = R"({"RequestId":"r","Total":0})";

std::string ErrBody(const std::string& code) {
  return R"({"RequestId":"req-1","HostId":"vod.cn-shanghai.aliyuncs.com","Code":")" + code +
         R"(","Message":"msg for )" + code + R"("})";
}

class RpcTest : public ::testing::Test {
 protected:
  RpcTest() : creds_({"LTAIkey", "s3cret-value", "", std::nullopt, "test"}) {}
  RpcClient Make(RpcOptions o = {}) {
    o.endpoint = "https://vod.cn-shanghai.aliyuncs.com";
    return RpcClient(http_, creds_, clock_, o);
  }
  FakeHttpClient http_;
  FakeClock clock_{1700000000};
  auth::StaticCredentialsProvider creds_;
};

// Params of a V2 request (POST body or GET query).
std::map<std::string, std::string> ParamsOf(const http::Request& r) {
  std::string raw = r.method == "POST" ? r.body : Url::Parse(r.url)->query;
  std::map<std::string, std::string> out;
  for (auto& [k, v] : ParseQuery(raw, false)) out[k] = v;
  return out;
}

TEST_F(RpcTest, SignsAValidV2PostRequest) {
  http_.Push(FakeHttpClient::Reply(200, kOk));
  RpcClient rpc = Make();
  auto r = rpc.Call("GetVideoList", {{"PageSize", "100"}});
  ASSERT_TRUE(r.ok());
  auto reqs = http_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].url, "https://vod.cn-shanghai.aliyuncs.com/");
  auto p = ParamsOf(reqs[0]);
  EXPECT_EQ(p["Action"], "GetVideoList");
  EXPECT_EQ(p["Version"], "2017-03-21");
  EXPECT_EQ(p["Format"], "JSON");
  EXPECT_EQ(p["PageSize"], "100");
  EXPECT_EQ(p["Timestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(p["SignatureNonce"].size(), 36u);
  auth::RpcParams check(p.begin(), p.end());
  EXPECT_EQ(p["Signature"], auth::RpcV2Signature("s3cret-value", auth::RpcV2StringToSign("POST", check)));
}

TEST_F(RpcTest, GetAndV3Forms) {
  http_.Push(FakeHttpClient::Reply(200, kOk));
  RpcOptions o;
  o.http_method = "GET";
  RpcClient get = Make(o);
  ASSERT_TRUE(get.Call("GetVideoList", {}).ok());
  EXPECT_NE(http_.requests()[0].url.find("Signature="), std::string::npos);
  o.signature = SignatureVersion::kV3;
  o.http_method = "POST";
  RpcClient v3 = Make(o);
  ASSERT_TRUE(v3.Call("GetVideoInfo", {{"VideoId", "abc"}}).ok());
  const http::Request req = http_.requests()[1];
  auto auth = http::FindHeader(req.headers, "Authorization");
  ASSERT_TRUE(auth);
  EXPECT_TRUE(auth->rfind("ACS3-HMAC-SHA256 Credential=LTAIkey,SignedHeaders=host;", 0) == 0);
  EXPECT_EQ(http::FindHeader(req.headers, "x-acs-action"), "GetVideoInfo");
  EXPECT_NE(req.url.find("VideoId=abc"), std::string::npos);
}

TEST_F(RpcTest, RetriesServerErrorsAndThrottlingWithBackoff) {
  http_.Push(FakeHttpClient::Reply(503, ErrBody("ServiceUnavailable")));
  http_.Push(FakeHttpClient::Reply(500, ErrBody("InternalError")));
  http_.Push(FakeHttpClient::Reply(400, ErrBody("Throttling.User")));
  http_.Push(Error(ErrorCode::kUnavailable, "connection reset"));
  http_.Push(Error(ErrorCode::kDeadlineExceeded, "timed out"));
  http_.Push(FakeHttpClient::Reply(200, kOk));
  RpcClient rpc = Make();
  auto r = rpc.Call("SearchMedia", {});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(http_.requests().size(), 6u);
  EXPECT_EQ(rpc.Stats().retries, 5u);
  EXPECT_EQ(rpc.Stats().throttled, 1u);
  // Five backoffs, at least half of 200+400+800(throttle floor 500)+1600+3200 ms.
  EXPECT_GE(clock_.total_slept(), std::chrono::milliseconds(100 + 200 + 500 + 800 + 1600));
  std::set<std::string> nonces;
  for (const auto& req : http_.requests()) nonces.insert(ParamsOf(req)["SignatureNonce"]);
  EXPECT_EQ(nonces.size(), 6u);  // every attempt is signed afresh
}

TEST_F(RpcTest, ClientErrorsAreNotRetried) {
  for (const char* code : {"SignatureDoesNotMatch", "InvalidAccessKeyId.NotFound", "MissingParameter",
                           "InvalidParameter", "InvalidVideo.NotFound", "Forbidden.RAM",
                           "InvalidTimeStamp.Expired"}) {
    FakeHttpClient http;
    http.Push(FakeHttpClient::Reply(400, ErrBody(code)));
    RpcOptions o;
    o.endpoint = "https://e";
    RpcClient rpc(http, creds_, clock_, o);
    auto r = rpc.Call("GetPlayInfo", {{"VideoId", "v"}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().service_code, code);
    EXPECT_EQ(r.error().request_id, "req-1");
    EXPECT_EQ(http.requests().size(), 1u) << code;
  }
  EXPECT_EQ(clock_.total_slept(), Duration::zero());
}

TEST_F(RpcTest, NonceUsedIsRetriedAtOnceWithANewNonce) {
  http_.Push(FakeHttpClient::Reply(400, ErrBody("SignatureNonceUsed")));
  http_.Push(FakeHttpClient::Reply(200, kOk));
  RpcOptions o;
  o.qps_scale = 0;  // no rate-limit spacing either
  RpcClient rpc = Make(o);
  ASSERT_TRUE(rpc.Call("GetVideoList", {}).ok());
  auto reqs = http_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(ParamsOf(reqs[0])["SignatureNonce"], ParamsOf(reqs[1])["SignatureNonce"]);
  EXPECT_EQ(clock_.total_slept(), Duration::zero());
}

class CountingProvider final : public auth::CredentialsProvider {
 public:
  Result<auth::Credentials> Get() override {
    return auth::Credentials{"STS.id" + std::to_string(generation_), "secret" + std::to_string(generation_),
                             "token" + std::to_string(generation_), 1700003600, "counting"};
  }
  void Invalidate() override { ++generation_; }
  std::string Describe() const override { return "counting"; }
  int generation_ = 0;
};

TEST_F(RpcTest, ExpiredStsTokenRefreshesCredentialsOnce) {
  CountingProvider p;
  http_.Push(FakeHttpClient::Reply(400, ErrBody("InvalidSecurityToken.Expired")));
  http_.Push(FakeHttpClient::Reply(200, kOk));
  RpcOptions o;
  o.endpoint = "https://e";
  RpcClient rpc(http_, p, clock_, o);
  ASSERT_TRUE(rpc.Call("GetVideoList", {}).ok());
  EXPECT_EQ(p.generation_, 1);
  auto reqs = http_.requests();
  EXPECT_EQ(ParamsOf(reqs[0])["SecurityToken"], "token0");
  EXPECT_EQ(ParamsOf(reqs[1])["SecurityToken"], "token1");
  // A second expiry in the same call is an error, not a loop.
  FakeHttpClient again;
  again.Push(FakeHttpClient::Reply(400, ErrBody("InvalidSecurityToken.Expired")));
  RpcClient rpc2(again, p, clock_, o);
  auto r = rpc2.Call("GetVideoList", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(again.requests().size(), 2u);
}

TEST_F(RpcTest, GivesUpWithinAttemptsAndBudget) {
  http_.Push(FakeHttpClient::Reply(503, ErrBody("ServiceUnavailable")));
  RpcOptions o;
  o.retry.max_attempts = 50;
  o.retry.budget = std::chrono::seconds(20);
  RpcClient rpc = Make(o);
  auto r = rpc.Call("GetVideoList", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_LE(clock_.total_slept(), std::chrono::seconds(20));
  EXPECT_LT(http_.requests().size(), 50u);
  EXPECT_EQ(rpc.Stats().failures["GetVideoList"], 1u);
}

TEST_F(RpcTest, ErrorCodeInA200BodyAndNonJsonBodies) {
  http_.Push(FakeHttpClient::Reply(200, ErrBody("Forbidden.IllegalStatus")));
  http_.Push(FakeHttpClient::Reply(200, "<html>proxy page</html>"));
  RpcClient rpc = Make();
  auto a = rpc.Call("GetPlayInfo", {});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().service_code, "Forbidden.IllegalStatus");
  auto b = rpc.Call("GetPlayInfo", {});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::kBadResponse);
}

TEST(DecodeApiErrorTest, MapsCodesAndRedacts) {
  struct Case {
    const char* code;
    int status;
    ErrorCode expect;
  } cases[] = {{"InvalidVideo.NotFound", 404, ErrorCode::kNotFound},
               {"InvalidVideo.NoneStream", 404, ErrorCode::kNotFound},
               {"Forbidden.IllegalStatus", 403, ErrorCode::kFailedPrecondition},
               {"Forbidden.RAM", 403, ErrorCode::kPermissionDenied},
               {"OperationDenied.Suspended", 403, ErrorCode::kPermissionDenied},
               {"Throttling.User", 400, ErrorCode::kThrottled},
               {"Throttling", 400, ErrorCode::kThrottled},
               {"SignatureNonceUsed", 400, ErrorCode::kAborted},
               {"SignatureDoesNotMatch", 400, ErrorCode::kUnauthenticated},
               {"InvalidAccessKeyId.NotFound", 404, ErrorCode::kUnauthenticated},
               {"InvalidSecurityToken.Expired", 400, ErrorCode::kUnauthenticated},
               {"InvalidTimeStamp.Expired", 400, ErrorCode::kFailedPrecondition},
               {"MissingParameter", 400, ErrorCode::kInvalidArgument},
               {"VideoListExceededMax", 400, ErrorCode::kInvalidArgument},
               {"InvalidAction.NotFound", 404, ErrorCode::kUnimplemented},
               {"InternalError", 500, ErrorCode::kUnavailable},
               {"ServiceUnAvailable", 503, ErrorCode::kUnavailable}};
  for (const auto& c : cases) {
    Error e = DecodeApiError("Op", c.status, ErrBody(c.code));
    EXPECT_EQ(e.code, c.expect) << c.code;
    EXPECT_EQ(e.service_code, c.code);
    EXPECT_EQ(e.http_status, c.status);
  }
  Error xml = DecodeApiError("Op", 404,
                             "<?xml version=\"1.0\"?><Error><RequestId>X</RequestId><Code>"
                             "InvalidVideo.NotFound</Code><Message>gone</Message></Error>");
  EXPECT_EQ(xml.service_code, "InvalidVideo.NotFound");
  EXPECT_EQ(xml.request_id, "X");
  Error bare = DecodeApiError("Op", 502, "Bad Gateway");
  EXPECT_EQ(bare.code, ErrorCode::kUnavailable);
  log::RegisterSecret("tok/en+=secret");
  Error echo = DecodeApiError("Op", 400,
                              R"({"Code":"SignatureDoesNotMatch","Message":"server string to sign is:GET&%2F&SecurityToken%3Dtok%252Fen%252B%253Dsecret"})");
  EXPECT_EQ(echo.message.find("secret"), std::string::npos) << echo.message;
  log::ClearRegisteredSecrets();
  // The whole string-to-sign is cut, not only its secrets.
  Error service = DecodeApiError(
      "GetCategories", 400,
      R"({"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation. )"
      R"(server string to sign is:POST&%2F&AccessKeyId%3DLTAI5tKey%26Action%3DGetCategories"})");
  EXPECT_EQ(service.message, "GetCategories: Specified signature is not matched with our calculation.");
  EXPECT_EQ(service.service_code, "SignatureDoesNotMatch");
}

TEST(ApiAnswerErrorTest, SuccessesFailureCodesAndBodiesThatAreNotJson) {
  EXPECT_FALSE(ApiAnswerError("Op", 200, kOk));
  EXPECT_FALSE(ApiAnswerError("Op", 200, R"({"Code":"Success","Total":0})"));
  EXPECT_FALSE(ApiAnswerError("Op", 200, R"({"Code":7})"));  // not a string: not a Code
  auto coded = ApiAnswerError("Op", 200, ErrBody("Throttling.User"));
  ASSERT_TRUE(coded);
  EXPECT_EQ(coded->code, ErrorCode::kThrottled);
  EXPECT_EQ(coded->http_status, 200);
  for (const char* body : {"<html>proxy page</html>", "[1,2]", ""}) {
    auto bad = ApiAnswerError("Op", 200, body);
    ASSERT_TRUE(bad) << body;
    EXPECT_EQ(bad->code, ErrorCode::kBadResponse) << body;
    EXPECT_EQ(bad->message.rfind("Op: ", 0), 0u) << bad->message;
  }
  auto gone = ApiAnswerError("Op", 404, ErrBody("InvalidVideo.NotFound"));
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->code, ErrorCode::kNotFound);
  EXPECT_EQ(gone->service_code, "InvalidVideo.NotFound");
}

TEST_F(RpcTest, ClientSideRateLimitSpacesCallsAtTheDocumentedQps) {
  http_.Push(FakeHttpClient::Reply(200, kOk));
  RpcClient rpc = Make();
  const MonoTime start = clock_.Now();
  for (int i = 0; i < 11; ++i) ASSERT_TRUE(rpc.Call("GetImageInfos", {}).ok());  // 10/s
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now() - start).count(), 1000);
}

TEST(EndpointTest, RegionsFollowTheSdkMap) {
  EXPECT_EQ(EndpointForRegion("cn-shanghai"), "https://vod.cn-shanghai.aliyuncs.com");
  EXPECT_EQ(EndpointForRegion("cn-hangzhou"), "https://vod.cn-shanghai.aliyuncs.com");
  EXPECT_EQ(EndpointForRegion("ap-southeast-1", true), "https://vod-vpc.ap-southeast-1.aliyuncs.com");
  EXPECT_EQ(EndpointForRegion("cn-qingdao"), "https://vod.aliyuncs.com");
  EXPECT_EQ(DocumentedQps("GetPlayInfo"), 360);
  EXPECT_EQ(DocumentedQps("SearchMedia"), 50);
}

}  // namespace
}  // namespace vodfs::vod
