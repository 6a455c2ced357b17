#include "vodfs/auth/url_signer.h"

#include <gtest/gtest.h>

#include "vodfs/auth/crypto.h"
#include "vodfs/util/url.h"

namespace vodfs::auth {
namespace {

// OSS header-signature example from the OSS documentation.
TEST(OssSignerTest, DocumentedHeaderExample) {
  std::string sts = OssStringToSign(
      "PUT", "ODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=", "text/html",
      "Thu, 17 Nov 2005 18:49:58 GMT",
      {{"X-OSS-Meta-Author", "foo@bar.com"}, {"X-OSS-Magic", "abracadabra"}},
      "/oss-example/nelson");
  EXPECT_EQ(sts,
            "PUT\nODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=\ntext/html\nThu, 17 Nov 2005 "
            "18:49:58 GMT\nx-oss-magic:abracadabra\nx-oss-meta-author:foo@bar.com\n"
            "/oss-example/nelson");
  EXPECT_EQ(OssSignature("OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV", sts),
            "26NBxoKdsyly4EDv6inkoDft/yA=");
}

// OSS URL-signature example.
TEST(OssSignerTest, DocumentedUrlExample) {
  EXPECT_EQ(OssStringToSign("GET", "", "", "1141889120", {}, "/oss-example/oss-api.pdf"),
            "GET\n\n\n1141889120\n/oss-example/oss-api.pdf");
  OssPresignInput in;
  in.bucket = "oss-example";
  in.object = "oss-api.pdf";
  in.expires = 1141889120;
  in.access_key_id = "44CF9590006BF252F707";
  in.access_key_secret = "OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV";
  EXPECT_EQ(OssPresignQuery(in),
            "OSSAccessKeyId=44CF9590006BF252F707&Expires=1141889120&Signature="
            "EwaNTn1erJGkimiJ9WmXgwnANLc%3D");
}

TEST(OssSignerTest, VerifyRoundTripExpiryAndTampering) {
  OssPresignInput in;
  in.bucket = "outin-1";
  in.object = "sv/abc/source.mp4";
  in.expires = 2000;
  in.access_key_id = "ak";
  in.access_key_secret = "sk";
  std::vector<OssCredential> creds = {{"ak", "sk", ""}};
  std::string q = OssPresignQuery(in);
  EXPECT_EQ(VerifyOssRequest("GET", "/outin-1/sv/abc/source.mp4", q, creds, 1999),
            AuthVerdict::kOk);
  EXPECT_EQ(VerifyOssRequest("GET", "/outin-1/sv/abc/source.mp4", q, creds, 2000),
            AuthVerdict::kOk);
  EXPECT_EQ(VerifyOssRequest("GET", "/outin-1/sv/abc/source.mp4", q, creds, 2001),
            AuthVerdict::kExpired);
  EXPECT_EQ(VerifyOssRequest("GET", "/outin-1/sv/abc/other.mp4", q, creds, 1000),
            AuthVerdict::kBadSignature);
  EXPECT_EQ(VerifyOssRequest("HEAD", "/outin-1/sv/abc/source.mp4", q, creds, 1000),
            AuthVerdict::kBadSignature);
  EXPECT_EQ(VerifyOssRequest("GET", "/outin-1/sv/abc/source.mp4", "", creds, 1000),
            AuthVerdict::kMissing);
  std::string tampered = q;
  tampered.replace(tampered.find("Expires=2000"), 12, "Expires=9999");
  EXPECT_EQ(VerifyOssRequest("GET", "/outin-1/sv/abc/source.mp4", tampered, creds, 1000),
            AuthVerdict::kBadSignature);
}

TEST(OssSignerTest, SecurityTokenIsSignedAndRequired) {
  OssPresignInput in;
  in.bucket = "b";
  in.object = "k";
  in.expires = 5000;
  in.access_key_id = "STS.ak";
  in.access_key_secret = "sk";
  in.security_token = "tok/+=";
  std::vector<OssCredential> creds = {{"STS.ak", "sk", "tok/+="}};
  std::string q = OssPresignQuery(in);
  EXPECT_NE(q.find("security-token=tok%2F%2B%3D"), std::string::npos);
  EXPECT_EQ(VerifyOssRequest("GET", "/b/k", q, creds, 1), AuthVerdict::kOk);
  in.security_token.clear();
  EXPECT_EQ(VerifyOssRequest("GET", "/b/k", OssPresignQuery(in), creds, 1),
            AuthVerdict::kBadSignature);
}

// Type A, ApsaraVideo Live documentation example.
TEST(CdnSignerTest, TypeALiveExample) {
  EXPECT_EQ(Md5Hex("/video/standard-1622194197-0-0-aliyunliveexp1234"),
            "5552ff52b5e4e20387c6dc18afce206b");
  EXPECT_EQ(CdnSignTypeA("/video/standard", 1622194197, "0", "0", "aliyunliveexp1234"),
            "1622194197-0-0-5552ff52b5e4e20387c6dc18afce206b");
}

// Type A, VOD documentation inputs.
TEST(CdnSignerTest, TypeAVodExample) {
  EXPECT_EQ(CdnSignTypeA("/video/standard/test.mp4", 1627747200, "0", "0", "aliyunvodexp1234"),
            "1627747200-0-0-0e9048c8c7de46b6015618f42de79bc2");
}

TEST(CdnSignerTest, TypeBExample) {
  // The documented instant 1627747200 is 2021-08-01 00:00 in UTC+8.
  const int64_t t = 1627747200;
  EXPECT_EQ(CdnTypeBTimestamp(t), "202108010000");
  EXPECT_EQ(ParseCdnTypeBTimestamp("202108010000"), t);
  EXPECT_EQ(CdnSignTypeB("/video/standard/test.mp4", t, "aliyunvodexp1234"),
            "/202108010000/61c232c4b7ab429fd578207629617bd7/video/standard/test.mp4");
}

TEST(CdnSignerTest, TypeBTimestampsAreMinutesThatExist) {
  EXPECT_EQ(ParseCdnTypeBTimestamp("202108010000"), 1627747200);
  EXPECT_EQ(ParseCdnTypeBTimestamp("202402292359"), ParseCdnTypeBTimestamp("202403010000").value() - 60);
  // 30 February was read as 2 March, so a path segment that is no time
  // could make an unsigned URL look signed.
  EXPECT_FALSE(ParseCdnTypeBTimestamp("202102300000"));
  EXPECT_FALSE(ParseCdnTypeBTimestamp("202104310000"));
  EXPECT_FALSE(ParseCdnTypeBTimestamp("202302290000"));
  EXPECT_FALSE(ParseCdnTypeBTimestamp("202108012400"));
  EXPECT_FALSE(ParseCdnTypeBTimestamp("202108010060"));
  for (const char* t : {"202108010000", "200001010000", "209912312359"}) {
    EXPECT_EQ(CdnTypeBTimestamp(ParseCdnTypeBTimestamp(t).value()), t);
  }
}

TEST(CdnSignerTest, TypeCExample) {
  EXPECT_EQ(CdnSignTypeC("/video/standard/test.mp4", 1627747200, "aliyunvodexp1234"),
            "/6eb48814d66e1e4e56cbeafae4cafc9e/61057380/video/standard/test.mp4");
  auto c2 = CdnSignTypeC2("/video/standard/test.mp4", 1627747200, "aliyunvodexp1234");
  EXPECT_EQ(c2.hash, "6eb48814d66e1e4e56cbeafae4cafc9e");
  EXPECT_EQ(c2.timestamp_hex, "61057380");
}

TEST(SignedUrlParseTest, ReadsExpiryOfEveryKind) {
  auto oss = ParseSignedUrl(
      "http://outin-1.oss-cn-shanghai.aliyuncs.com/sv/a/b.mp4?Expires=1513173337&"
      "OSSAccessKeyId=LTAIJ1n7cAL&Signature=ngisNAr27V%2FXBtNysLbt9ebYhzU%3D");
  ASSERT_TRUE(oss);
  EXPECT_EQ(oss->kind, SignedUrlKind::kOss);
  EXPECT_EQ(oss->oss_expires, 1513173337);
  EXPECT_EQ(oss->bare_path, "/sv/a/b.mp4");

  auto a = ParseSignedUrl(
      "http://example.aliyundoc.com/video/standard/test.mp4?auth_key=1627747200-0-0-"
      "0e9048c8c7de46b6015618f42de79bc2");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, SignedUrlKind::kCdnA);
  EXPECT_EQ(a->cdn_timestamp, 1627747200);
  EXPECT_EQ(a->bare_path, "/video/standard/test.mp4");
  EXPECT_EQ(a->bare_query, "");

  auto b = ParseSignedUrl(
      "http://example.aliyundoc.com/202108010000/61c232c4b7ab429fd578207629617bd7/video/"
      "standard/test.mp4");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->kind, SignedUrlKind::kCdnB);
  EXPECT_EQ(b->cdn_timestamp, 1627747200);
  EXPECT_EQ(b->bare_path, "/video/standard/test.mp4");

  auto c = ParseSignedUrl(
      "http://example.aliyundoc.com/6eb48814d66e1e4e56cbeafae4cafc9e/61057380/video/standard/"
      "test.mp4");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind, SignedUrlKind::kCdnC);
  EXPECT_EQ(c->cdn_timestamp, 1627747200);
  EXPECT_EQ(c->bare_path, "/video/standard/test.mp4");

  auto c2 = ParseSignedUrl(
      "http://example.aliyundoc.com/video/standard/test.mp4?KEY1="
      "6eb48814d66e1e4e56cbeafae4cafc9e&KEY2=61057380");
  ASSERT_TRUE(c2);
  EXPECT_EQ(c2->kind, SignedUrlKind::kCdnC2);
  EXPECT_EQ(c2->cdn_timestamp, 1627747200);

  auto plain = ParseSignedUrl("http://cdn.example.com/93ab850b4f654b6e91d24d81d44a0b1c/abc/x.mp4");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->kind, SignedUrlKind::kUnsigned);
  EXPECT_FALSE(ParseSignedUrl("not a url"));
}

TEST(SignedUrlParseTest, ValuesThatAreNoTimesAreNotReadAsTimes) {
  // x-oss-expires is added to x-oss-date: a huge one overflowed; and the URL
  // broker adds lifetimes to what it reads, which overflowed for the others.
  auto v4 = ParseSignedUrl(
      "https://b.oss-cn-shanghai.aliyuncs.com/a.mp4?x-oss-date=20240101T000000Z&"
      "x-oss-expires=9223372036854775807&x-oss-signature=ab");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->kind, SignedUrlKind::kOssV4);
  EXPECT_FALSE(v4->oss_expires);
  auto v4ok = ParseSignedUrl(
      "https://b.oss-cn-shanghai.aliyuncs.com/a.mp4?x-oss-date=20240101T000000Z&x-oss-expires=3600&"
      "x-oss-signature=ab");
  ASSERT_TRUE(v4ok);
  EXPECT_EQ(v4ok->oss_expires, 1704067200 + 3600);
  auto oss = ParseSignedUrl("http://b.oss.test/a.mp4?Expires=-9223372036854775808&OSSAccessKeyId=a&Signature=s");
  ASSERT_TRUE(oss);
  EXPECT_EQ(oss->kind, SignedUrlKind::kOss);
  EXPECT_FALSE(oss->oss_expires);
  auto a = ParseSignedUrl("http://cdn.test/a.mp4?auth_key=9223372036854775807-0-0-abc");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, SignedUrlKind::kCdnA);
  EXPECT_FALSE(a->cdn_timestamp);
  auto c2 = ParseSignedUrl("http://cdn.test/a.mp4?KEY1=6eb48814d66e1e4e56cbeafae4cafc9e&KEY2=616105738005738");
  ASSERT_TRUE(c2);
  EXPECT_EQ(c2->kind, SignedUrlKind::kCdnC2);
  EXPECT_FALSE(c2->cdn_timestamp);
  EXPECT_EQ(ParseSignedUrl("http://cdn.test/a.mp4?auth_key=2000-0-0-abc")->cdn_timestamp, 2000);
}

TEST(SignedUrlParseTest, ResignReproducesTheDocumentedUrls) {
  const std::string key = "aliyunvodexp1234";
  auto a = ParseSignedUrl("http://example.aliyundoc.com/video/standard/test.mp4?auth_key=1-0-0-x");
  ASSERT_TRUE(a);
  EXPECT_EQ(ResignCdnUrl(*a, 1627747200, key),
            "http://example.aliyundoc.com/video/standard/test.mp4?auth_key=1627747200-0-0-"
            "0e9048c8c7de46b6015618f42de79bc2");
  auto b = ParseSignedUrl(
      "http://example.aliyundoc.com/202001010000/00000000000000000000000000000000/video/"
      "standard/test.mp4");
  ASSERT_TRUE(b);
  EXPECT_EQ(ResignCdnUrl(*b, 1627747200, key),
            "http://example.aliyundoc.com/202108010000/61c232c4b7ab429fd578207629617bd7/video/"
            "standard/test.mp4");
  auto c = ParseSignedUrl(
      "http://example.aliyundoc.com/00000000000000000000000000000000/5e0be100/video/standard/"
      "test.mp4");
  ASSERT_TRUE(c);
  EXPECT_EQ(ResignCdnUrl(*c, 1627747200, key),
            "http://example.aliyundoc.com/6eb48814d66e1e4e56cbeafae4cafc9e/61057380/video/"
            "standard/test.mp4");
}

TEST(SignedUrlParseTest, ResignedTypeAFieldsSurviveTheQuery) {
  // rand and uid as the query decodes them ("a&b", "u/1"); written back
  // raw, '&' cut the auth_key short and the origin refused the signature.
  const std::string key = "aliyunvodexp1234";
  auto a = ParseSignedUrl("http://h.example.com/v/x.mp4?k=1&auth_key=1600000000-a%26b-u%2F1-x");
  ASSERT_TRUE(a);
  ASSERT_EQ(a->kind, SignedUrlKind::kCdnA);
  EXPECT_EQ(a->cdn_rand, "a&b");
  EXPECT_EQ(a->cdn_uid, "u/1");
  const std::string resigned = ResignCdnUrl(*a, 1627747200, key);
  auto again = ParseSignedUrl(resigned);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->kind, SignedUrlKind::kCdnA);
  EXPECT_EQ(again->cdn_rand, "a&b");
  EXPECT_EQ(again->cdn_uid, "u/1");
  EXPECT_EQ(again->bare_query, "k=1");
  auto url = Url::Parse(resigned);
  ASSERT_TRUE(url);
  std::string obj;
  EXPECT_EQ(VerifyCdnRequest(CdnAuthType::kA, url->path, url->query, {key}, 1800, 1627747200, &obj),
            AuthVerdict::kOk);
}

TEST(CdnVerifyTest, AllTypesAcceptValidRejectExpiredAndForged) {
  const std::string path = "/customerTrans/v1/HD.mp4";
  const std::vector<std::string> keys = {"primarykey123456", "backupkey1234567"};
  const int64_t ts = 1700000000, delta = 1800;
  std::string obj;

  std::string a = CdnSignTypeA(path, ts, "0", "0", keys[1]);
  EXPECT_EQ(VerifyCdnRequest(CdnAuthType::kA, path, "auth_key=" + a, keys, delta, ts + delta, &obj),
            AuthVerdict::kOk);
  EXPECT_EQ(
      VerifyCdnRequest(CdnAuthType::kA, path, "auth_key=" + a, keys, delta, ts + delta + 1, &obj),
      AuthVerdict::kExpired);
  EXPECT_EQ(VerifyCdnRequest(CdnAuthType::kA, "/other.mp4", "auth_key=" + a, keys, delta, ts, &obj),
            AuthVerdict::kBadSignature);
  EXPECT_EQ(VerifyCdnRequest(CdnAuthType::kA, path, "", keys, delta, ts, &obj),
            AuthVerdict::kMissing);
  // A signed timestamp at the end of the range: ts + delta overflowed.
  std::string far = CdnSignTypeA(path, INT64_MAX, "0", "0", keys[0]);
  EXPECT_EQ(VerifyCdnRequest(CdnAuthType::kA, path, "auth_key=" + far, keys, delta, ts, &obj),
            AuthVerdict::kOk);

  std::string b = CdnSignTypeB(path, ts, keys[0]);
  EXPECT_EQ(VerifyCdnRequest(CdnAuthType::kB, b, "", keys, delta, ts + 10, &obj), AuthVerdict::kOk);
  EXPECT_EQ(obj, path);
  EXPECT_EQ(VerifyCdnRequest(CdnAuthType::kB, b, "", keys, delta, ts + 4000, &obj),
            AuthVerdict::kExpired);
  EXPECT_EQ(VerifyCdnRequest(CdnAuthType::kB, b, "", {"wrongkey12345678"}, delta, ts, &obj),
            AuthVerdict::kBadSignature);

  std::string c = CdnSignTypeC(path, ts, keys[0]);
  EXPECT_EQ(VerifyCdnRequest(CdnAuthType::kC, c, "", keys, delta, ts, &obj), AuthVerdict::kOk);
  EXPECT_EQ(obj, path);
  auto c2 = CdnSignTypeC2(path, ts, keys[0]);
  EXPECT_EQ(VerifyCdnRequest(CdnAuthType::kC, path, "KEY1=" + c2.hash + "&KEY2=" + c2.timestamp_hex,
                             keys, delta, ts, &obj),
            AuthVerdict::kOk);
  EXPECT_EQ(VerifyCdnRequest(CdnAuthType::kC, path, "", keys, delta, ts, &obj),
            AuthVerdict::kMissing);
  EXPECT_EQ(VerifyCdnRequest(CdnAuthType::kC, path, "KEY1=x&KEY2=y", keys, delta, ts, &obj),
            AuthVerdict::kMalformed);
}

TEST(CdnVerifyTest, TypeCIsReadInTheFormTheClientParsedItIn) {
  // A path-signed URL whose query has KEY1/KEY2 that are no signature: the
  // client re-signs it in the path, and the verifier read the query.
  const std::string key = "aliyunvodexp1234";
  auto c = ParseSignedUrl(
      "http://example.aliyundoc.com/6eb48814d66e1e4e56cbeafae4cafc9e/61057380/v/test.mp4?KEY1=6eb&KEY2=1=6");
  ASSERT_TRUE(c);
  ASSERT_EQ(c->kind, SignedUrlKind::kCdnC);
  auto url = Url::Parse(ResignCdnUrl(*c, 1627747200, key));
  ASSERT_TRUE(url);
  std::string obj;
  EXPECT_EQ(VerifyCdnRequest(CdnAuthType::kC, url->path, url->query, {key}, 1800, 1627747200, &obj),
            AuthVerdict::kOk);
  EXPECT_EQ(obj, "/v/test.mp4");
  // A form-2 signature in the query is read as one by both.
  auto c2 = CdnSignTypeC2("/v/test.mp4", 5, key);  // signed at an odd time
  auto q = ParseSignedUrl("http://example.aliyundoc.com/v/test.mp4?KEY1=" + c2.hash + "&KEY2=" + c2.timestamp_hex);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->kind, SignedUrlKind::kCdnC2);
  EXPECT_EQ(q->cdn_timestamp, 5);
}

}  // namespace
}  // namespace vodfs::auth
