#include "vodfs/auth/rpc_signer.h"

#include <gtest/gtest.h>

#include "vodfs/auth/crypto.h"
#include "vodfs/util/strings.h"

namespace vodfs::auth {
namespace {

RpcParams DescribeRegionsParams(const std::string& timestamp_key) {
  return {{"AccessKeyId", "testid"},
          {"Action", "DescribeRegions"},
          {"Format", "XML"},
          {"SignatureMethod", "HMAC-SHA1"},
          {"SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"},
          {"SignatureVersion", "1.0"},
          {timestamp_key, "2016-02-23T12:46:24Z"},
          {"Version", "2014-05-26"}};
}

// Vector V2-A: the official DescribeRegions example.
TEST(RpcV2Test, DocumentedVectorA) {
  RpcParams p = DescribeRegionsParams("Timestamp");
  EXPECT_EQ(CanonicalizedQuery(p),
            "AccessKeyId=testid&Action=DescribeRegions&Format=XML&SignatureMethod=HMAC-SHA1&"
            "SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0&"
            "Timestamp=2016-02-23T12%3A46%3A24Z&Version=2014-05-26");
  const std::string sts = RpcV2StringToSign("GET", p);
  EXPECT_EQ(sts,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26"
            "SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26"
            "SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26");
  EXPECT_EQ(RpcV2Signature("testsecret", sts), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
  EXPECT_EQ(str::PercentEncode(RpcV2Signature("testsecret", sts)),
            "OLeaidS1JvxuMvnyHOwuJ%2BuX5qY%3D");
}

// Vector V2-B: the older "TimeStamp" spelling sorts differently.
TEST(RpcV2Test, DocumentedVectorB) {
  RpcParams p = DescribeRegionsParams("TimeStamp");
  const std::string sts = RpcV2StringToSign("GET", p);
  EXPECT_EQ(sts,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26"
            "SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26"
            "SignatureVersion%3D1.0%26TimeStamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26");
  EXPECT_EQ(RpcV2Signature("testsecret", sts), "CT9X0VtwR86fNWSnsc6v8YGOjuE=");
}

// Vector V2-C: UTF-8 and JSON values.
TEST(RpcV2Test, DocumentedVectorC) {
  RpcParams p = {{"AccessKeyId", "testId"},
                 {"Action", "SendSms"},
                 {"Format", "XML"},
                 {"OutId", "123"},
                 {"PhoneNumbers", "15300000001"},
                 {"RegionId", "cn-hangzhou"},
                 {"SignName", "阿里云短信测试专用"},
                 {"SignatureMethod", "HMAC-SHA1"},
                 {"SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466"},
                 {"SignatureVersion", "1.0"},
                 {"TemplateCode", "SMS_71390007"},
                 {"TemplateParam", "{\"customer\":\"test\"}"},
                 {"Timestamp", "2017-07-12T02:42:19Z"},
                 {"Version", "2017-05-25"}};
  EXPECT_EQ(CanonicalizedQuery(p),
            "AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001&"
            "RegionId=cn-hangzhou&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B"
            "%E8%AF%95%E4%B8%93%E7%94%A8&SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-0a6f-"
            "4070-8c85-2956eda1b466&SignatureVersion=1.0&TemplateCode=SMS_71390007&TemplateParam="
            "%7B%22customer%22%3A%22test%22%7D&Timestamp=2017-07-12T02%3A42%3A19Z&Version=2017-05-25");
  EXPECT_EQ(RpcV2Signature("testSecret", RpcV2StringToSign("GET", p)),
            "zJDF+Lrzhj/ThnlvIToysFRq6t4=");
}

// Vector V2-D: VOD-shaped, STS token, GET and POST.
TEST(RpcV2Test, DocumentedVectorD) {
  RpcParams p = {{"AccessKeyId", "testid"},
                 {"Action", "GetPlayInfo"},
                 {"AuthTimeout", "3600"},
                 {"Format", "JSON"},
                 {"Formats", "mp4,m3u8"},
                 {"OutputType", "cdn"},
                 {"SecurityToken", "tok/en+="},
                 {"SignatureMethod", "HMAC-SHA1"},
                 {"SignatureNonce", "c2d4f6a8-0000-4000-8000-000000000001"},
                 {"SignatureVersion", "1.0"},
                 {"Timestamp", "2024-01-02T03:04:05Z"},
                 {"Version", "2017-03-21"},
                 {"VideoId", "93ab850b4f654b6e91d24d81d44****"}};
  EXPECT_EQ(CanonicalizedQuery(p),
            "AccessKeyId=testid&Action=GetPlayInfo&AuthTimeout=3600&Format=JSON&Formats=mp4%2Cm3u8&"
            "OutputType=cdn&SecurityToken=tok%2Fen%2B%3D&SignatureMethod=HMAC-SHA1&SignatureNonce="
            "c2d4f6a8-0000-4000-8000-000000000001&SignatureVersion=1.0&Timestamp=2024-01-02T03%3A04"
            "%3A05Z&Version=2017-03-21&VideoId=93ab850b4f654b6e91d24d81d44%2A%2A%2A%2A");
  EXPECT_EQ(RpcV2Signature("testsecret", RpcV2StringToSign("GET", p)),
            "NiM6qjNipZNJ4zFvd0dpCT9SeQM=");
  EXPECT_EQ(RpcV2Signature("testsecret", RpcV2StringToSign("POST", p)),
            "sZrofXTz4ieXhKKK8RaQd5d4SLU=");

  RpcParams signed_params = p;
  RpcV2Sign("GET", "testsecret", signed_params);
  EXPECT_EQ(signed_params["Signature"], "NiM6qjNipZNJ4zFvd0dpCT9SeQM=");
  // Re-signing ignores the previous Signature.
  RpcV2Sign("POST", "testsecret", signed_params);
  EXPECT_EQ(signed_params["Signature"], "sZrofXTz4ieXhKKK8RaQd5d4SLU=");
}

TEST(RpcV2Test, PercentEncodingRules) {
  EXPECT_EQ(str::PercentEncode("a b"), "a%20b");
  EXPECT_EQ(str::PercentEncode("*"), "%2A");
  EXPECT_EQ(str::PercentEncode("~-_."), "~-_.");
  EXPECT_EQ(str::PercentEncode("/"), "%2F");
  EXPECT_EQ(str::PercentEncode("!'()"), "%21%27%28%29");
  EXPECT_EQ(str::PercentEncode("+="), "%2B%3D");
  EXPECT_EQ(str::PercentEncode("é"), "%C3%A9");
}

// The V3 worked example (RunInstances).
TEST(RpcV3Test, DocumentedVector) {
  RpcV3Request req;
  req.method = "POST";
  req.query = {{"ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"},
               {"RegionId", "cn-shanghai"}};
  req.headers = {{"host", "ecs.cn-shanghai.aliyuncs.com"},
                 {"x-acs-action", "RunInstances"},
                 {"x-acs-version", "2014-05-26"},
                 {"x-acs-date", "2023-10-26T10:22:32Z"},
                 {"x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"},
                 {"x-acs-content-sha256",
                  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}};
  RpcV3Signature s = RpcV3Sign(req, "YourAccessKeyId", "YourAccessKeySecret");
  EXPECT_EQ(s.canonical_request,
            "POST\n/\nImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-"
            "shanghai\nhost:ecs.cn-shanghai.aliyuncs.com\nx-acs-action:RunInstances\n"
            "x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            "\nx-acs-date:2023-10-26T10:22:32Z\nx-acs-signature-nonce:"
            "3156853299f313e23d1673dc12e1703d\nx-acs-version:2014-05-26\n\n"
            "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
            "\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex(s.canonical_request),
            "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259");
  EXPECT_EQ(s.string_to_sign,
            "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259");
  EXPECT_EQ(s.signature, "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
  EXPECT_EQ(s.authorization,
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;"
            "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature="
            "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
}

TEST(RpcV3Test, HeaderNamesAreCaseInsensitiveAndTrimmed) {
  RpcV3Request a, b;
  a.headers = {{"Host", " h.example "}, {"X-Acs-Action", "GetPlayInfo"},
               {"x-acs-content-sha256", Sha256Hex("")}, {"Accept", "application/json"}};
  b.headers = {{"host", "h.example"}, {"x-acs-action", "GetPlayInfo"},
               {"x-acs-content-sha256", Sha256Hex("")}};
  EXPECT_EQ(RpcV3Sign(a, "id", "secret").signature, RpcV3Sign(b, "id", "secret").signature);
}

}  // namespace
}  // namespace vodfs::auth
