// The emulator's media origins through real HTTP: URL signing of every
// type, expiry at the right moment, Referer rules, OSS Range semantics,
// HLS, faults, asset replacement, synthetic bytes.
#include <gtest/gtest.h>

#include "emulator/library.h"
#include "support/emulator_env.h"
#include "support/mini_library.h"
#include "vodfs/auth/crypto.h"
#include "vodfs/auth/url_signer.h"
#include "vodfs/util/strings.h"
#include "vodfs/util/url.h"

namespace vodfs::testing {
namespace {

using nlohmann::json;

class MediaTest : public ::testing::Test {
 protected:
  void Start(emu::EmulatorOptions o = {}) {
    ids_ = WriteMiniLibrary(dir_);
    auto lib = emu::LoadManifestLibrary(dir_.path());
    ASSERT_TRUE(lib.ok());
    o.qps_scale = 0;
    env_ = std::make_unique<EmulatorEnv>(std::move(lib).value(), o);
  }
  std::string PlayUrl(const std::string& id, const std::string& def, const std::string& fmt,
                      const std::string& output, int64_t timeout = 3600) {
    json j = env_->Call("GetPlayInfo", {{"VideoId", id}, {"Definition", def}, {"Formats", fmt},
                                        {"OutputType", output}, {"AuthTimeout", std::to_string(timeout)}});
    return j["PlayInfoList"]["PlayInfo"][0]["PlayURL"];
  }
  std::string File(const std::string& rel) { return ReadFile(dir_.path() + "/" + rel); }

  TempDir dir_;
  MiniLibraryIds ids_;
  std::unique_ptr<EmulatorEnv> env_;
};

TEST_F(MediaTest, OssUrlServesBytesAndExpiresOnTime) {
  Start();
  const std::string url = PlayUrl(ids_.full, "HD", "mp4", "oss", 100);
  http::Response r = env_->Get(url);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, File("m/" + ids_.full + "/HD.mp4"));
  EXPECT_TRUE(r.Header("ETag").has_value());
  EXPECT_TRUE(r.Header("Last-Modified").has_value());
  EXPECT_EQ(r.Header("x-oss-request-id")->size(), 24u);
  env_->emulator().AdvanceClock(100);  // exactly at Expires: still valid
  EXPECT_EQ(env_->Get(url, "bytes=0-0").status, 206);
  env_->emulator().AdvanceClock(1);
  http::Response expired = env_->Get(url);
  EXPECT_EQ(expired.status, 403);
  EXPECT_NE(expired.body.find("<Code>AccessDenied</Code>"), std::string::npos);
  EXPECT_NE(expired.body.find("Request has expired"), std::string::npos);
  std::string forged = url;
  forged.replace(forged.find("Signature=") + 10, 4, "AAAA");
  env_->emulator().AdvanceClock(-101);
  http::Response bad = env_->Get(forged);
  EXPECT_EQ(bad.status, 403);
  EXPECT_NE(bad.body.find("SignatureDoesNotMatch"), std::string::npos);
  json c = env_->Control("GET", "/counters");
  EXPECT_EQ(c["media"]["forbidden"]["expired"], 1);
  EXPECT_EQ(c["media"]["forbidden"]["bad_signature"], 1);
  // A presigned GET is not valid for HEAD (the verb is signed).
  http::Request head;
  head.method = "HEAD";
  head.url = url;
  EXPECT_EQ(env_->http().Send(head)->status, 403);
}

struct CdnCase {
  auth::CdnAuthType type;
  bool c_query;
  auth::SignedUrlKind kind;
};

class CdnTypeTest : public MediaTest, public ::testing::WithParamInterface<CdnCase> {};

TEST_P(CdnTypeTest, SignedUrlWorksExpiresOnTimeAndRejectsForgery) {
  emu::EmulatorOptions o;
  o.cdn_auth = GetParam().type;
  o.cdn_type_c_query = GetParam().c_query;
  Start(o);
  const std::string url = PlayUrl(ids_.full, "LD", "mp4", "cdn", 3600);
  auto info = auth::ParseSignedUrl(url);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->kind, GetParam().kind);
  http::Response r = env_->Get(url);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, File("m/" + ids_.full + "/LD.mp4"));
  if (GetParam().type == auth::CdnAuthType::kNone) {
    env_->emulator().AdvanceClock(100000);
    EXPECT_EQ(env_->Get(url).status, 200);  // unsigned URLs never expire
    return;
  }
  // Type B timestamps have minute resolution, so the URL may lapse up to 59 s early.
  const int64_t margin = GetParam().type == auth::CdnAuthType::kB ? 60 : 0;
  env_->emulator().AdvanceClock(3600 - margin);
  EXPECT_EQ(env_->Get(url).status, 200);
  env_->emulator().AdvanceClock(margin + 1);
  EXPECT_EQ(env_->Get(url).status, 403);
  EXPECT_EQ(env_->Control("GET", "/counters")["media"]["forbidden"]["expired"], 1);
  env_->emulator().AdvanceClock(-3601);
  // Re-signing with the configured key reproduces a valid URL; another key does not.
  const int64_t now = env_->emulator().Now();
  EXPECT_EQ(env_->Get(auth::ResignCdnUrl(*info, now, "EmulatorCdnBackupKey02")).status, 200);
  EXPECT_EQ(env_->Get(auth::ResignCdnUrl(*info, now, "SomebodyElsesKey123")).status, 403);
  EXPECT_EQ(env_->Control("GET", "/counters")["media"]["forbidden"]["bad_signature"], 1);
}

INSTANTIATE_TEST_SUITE_P(
    AllTypes, CdnTypeTest,
    ::testing::Values(CdnCase{auth::CdnAuthType::kA, false, auth::SignedUrlKind::kCdnA},
                      CdnCase{auth::CdnAuthType::kB, false, auth::SignedUrlKind::kCdnB},
                      CdnCase{auth::CdnAuthType::kC, false, auth::SignedUrlKind::kCdnC},
                      CdnCase{auth::CdnAuthType::kC, true, auth::SignedUrlKind::kCdnC2},
                      CdnCase{auth::CdnAuthType::kNone, false, auth::SignedUrlKind::kUnsigned}),
    [](const ::testing::TestParamInfo<CdnCase>& p) {
      std::string name(auth::CdnAuthTypeName(p.param.type));
      return name + (p.param.c_query ? "_query" : "");
    });

TEST_F(MediaTest, UrlLifetimeOverride) {
  Start();
  env_->Control("POST", "/url-lifetime", {{"seconds", 2}});
  auto info = auth::ParseSignedUrl(PlayUrl(ids_.full, "HD", "mp4", "oss"));
  ASSERT_TRUE(info && info->oss_expires);
  EXPECT_NEAR(static_cast<double>(*info->oss_expires), static_cast<double>(env_->emulator().Now() + 2), 1);
  auto cdn = auth::ParseSignedUrl(PlayUrl(ids_.full, "HD", "mp4", "cdn"));
  ASSERT_TRUE(cdn && cdn->cdn_timestamp);
  EXPECT_NEAR(static_cast<double>(*cdn->cdn_timestamp + 1800), static_cast<double>(env_->emulator().Now() + 2), 1);
}

TEST_F(MediaTest, RefererAllowList) {
  emu::EmulatorOptions o;
  o.referer_allow = {"example.com"};
  Start(o);
  const std::string url = PlayUrl(ids_.full, "LD", "mp4", "cdn");
  EXPECT_EQ(env_->Get(url).status, 403);  // empty Referer refused
  EXPECT_EQ(env_->Get(url, "", {{"Referer", "https://example.com/player"}}).status, 200);
  EXPECT_EQ(env_->Get(url, "", {{"Referer", "https://www.example.com/"}}).status, 200);
  EXPECT_EQ(env_->Get(url, "", {{"Referer", "https://evil.com/example.com"}}).status, 403);
  EXPECT_EQ(env_->Get(url, "", {{"Referer", "https://notexample.com/"}}).status, 403);
  EXPECT_EQ(env_->Control("GET", "/counters")["media"]["forbidden"]["referer"], 3);
  // OSS URLs are not subject to the CDN's Referer rules.
  EXPECT_EQ(env_->Get(PlayUrl(ids_.full, "LD", "mp4", "oss")).status, 200);
}

TEST_F(MediaTest, EmptyRefererAllowedWhenConfigured) {
  emu::EmulatorOptions o;
  o.referer_allow = {"example.com"};
  o.allow_empty_referer = true;
  Start(o);
  EXPECT_EQ(env_->Get(PlayUrl(ids_.full, "LD", "mp4", "cdn")).status, 200);
}

TEST_F(MediaTest, RangeRequestsAsOssServesThem) {
  Start();
  const std::string url = PlayUrl(ids_.full, "HD", "mp4", "oss");
  const std::string full = File("m/" + ids_.full + "/HD.mp4");
  const uint64_t n = full.size();
  auto expect_206 = [&](const std::string& range, uint64_t first, uint64_t last) {
    http::Response r = env_->Get(url, range);
    EXPECT_EQ(r.status, 206) << range;
    EXPECT_EQ(r.Header("Content-Range"),
              "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(n))
        << range;
    EXPECT_EQ(r.body, full.substr(first, last - first + 1)) << range;
  };
  auto expect_whole = [&](const std::string& range) {
    http::Response r = env_->Get(url, range);
    EXPECT_EQ(r.status, 200) << range;
    EXPECT_FALSE(r.Header("Content-Range")) << range;
    EXPECT_EQ(r.body, full) << range;
  };
  expect_206("bytes=0-99", 0, 99);
  expect_206("bytes=1000-", 1000, n - 1);
  expect_206("bytes=-500", n - 500, n - 1);
  expect_206("bytes=" + std::to_string(n - 1) + "-" + std::to_string(n - 1), n - 1, n - 1);
  expect_206("bytes=10-19,30-39", 10, 19);  // several ranges: only the first
  expect_whole("bytes=" + std::to_string(n) + "-");          // start beyond the end
  expect_whole("bytes=0-" + std::to_string(n));              // end beyond the end
  expect_whole("bytes=50-10");                               // inverted
  expect_whole("bytes=abc");                                 // malformed
  expect_whole("items=0-10");                                // unknown unit
}

TEST_F(MediaTest, HlsPlaylistSegmentsCarryTheirOwnAuth) {
  Start();
  const std::string url = PlayUrl(ids_.full, "SD", "m3u8", "cdn");
  http::Response playlist = env_->Get(url);
  ASSERT_EQ(playlist.status, 200);
  std::vector<std::string> segs;
  for (const auto& line : str::Split(playlist.body, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    EXPECT_NE(line.find("?auth_key="), std::string::npos) << line;
    segs.push_back(line);
  }
  ASSERT_EQ(segs.size(), 3u);
  for (size_t i = 0; i < segs.size(); ++i) {
    auto seg_url = ResolveUrl(url, segs[i]);
    ASSERT_TRUE(seg_url);
    http::Response s = env_->Get(*seg_url);
    EXPECT_EQ(s.status, 200);
    EXPECT_EQ(s.body, File("m/" + ids_.full + "/hls/seg-00" + std::to_string(i) + ".ts"));
    // Without its auth the segment is refused.
    EXPECT_EQ(env_->Get(seg_url->substr(0, seg_url->find('?'))).status, 403);
  }
  // Over OSS the playlist is served as stored, and its relative segment
  // URIs carry no signature.
  const std::string oss = PlayUrl(ids_.full, "SD", "m3u8", "oss");
  http::Response raw = env_->Get(oss);
  ASSERT_EQ(raw.status, 200);
  EXPECT_EQ(raw.body, File("m/" + ids_.full + "/hls/index.m3u8"));
  auto seg = ResolveUrl(oss.substr(0, oss.find('?')), "seg-000.ts");
  EXPECT_EQ(env_->Get(*seg).status, 403);
}

TEST_F(MediaTest, HlsWithPathSignedCdn) {
  emu::EmulatorOptions o;
  o.cdn_auth = auth::CdnAuthType::kB;
  Start(o);
  const std::string url = PlayUrl(ids_.full, "SD", "m3u8", "cdn");
  http::Response playlist = env_->Get(url);
  ASSERT_EQ(playlist.status, 200);
  int n = 0;
  for (const auto& line : str::Split(playlist.body, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    EXPECT_EQ(env_->Get(*ResolveUrl(url, line)).status, 200) << line;
    ++n;
  }
  EXPECT_EQ(n, 3);
}

TEST_F(MediaTest, MediaFaults) {
  Start();
  const std::string url = PlayUrl(ids_.full, "HD", "mp4", "oss");
  const std::string full = File("m/" + ids_.full + "/HD.mp4");
  auto add = [this](json rule) {
    rule["target"] = "media";
    env_->Control("POST", "/faults", rule);
  };
  // 5xx.
  add({{"kind", "status"}, {"status", 503}, {"key", "HD.mp4"}});
  EXPECT_EQ(env_->Get(url).status, 503);
  EXPECT_EQ(env_->Get(url).status, 200);
  // Reset after N bytes: a transport error, never a short success.
  add({{"kind", "reset"}, {"bytes", 70000}});
  http::Request req;
  req.url = url;
  auto reset = env_->http().Send(req);
  ASSERT_FALSE(reset.ok());
  EXPECT_EQ(reset.error().code, ErrorCode::kUnavailable);
  // Short body.
  add({{"kind", "short_body"}, {"bytes", 1000}});
  auto shortb = env_->http().Send(req);
  ASSERT_FALSE(shortb.ok());
  // Stall: the client's deadline fires.
  add({{"kind", "stall"}, {"bytes", 5000}, {"ms", 5000}});
  req.timeout = std::chrono::milliseconds(700);
  auto stall = env_->http().Send(req);
  ASSERT_FALSE(stall.ok());
  EXPECT_EQ(stall.error().code, ErrorCode::kDeadlineExceeded);
  req.timeout = std::chrono::milliseconds(0);
  // Wrong range: other bytes, and a Content-Range that says so.
  add({{"kind", "wrong_range"}, {"shift", 100}});
  http::Response wrong = env_->Get(url, "bytes=0-99");
  EXPECT_EQ(wrong.status, 206);
  EXPECT_EQ(wrong.Header("Content-Range"), "bytes 100-199/" + std::to_string(full.size()));
  EXPECT_EQ(wrong.body, full.substr(100, 100));
  // Range ignored: the whole object with 200.
  add({{"kind", "ignore_range"}});
  http::Response ignored = env_->Get(url, "bytes=0-99");
  EXPECT_EQ(ignored.status, 200);
  EXPECT_EQ(ignored.body, full);
  // Corruption of one byte.
  add({{"kind", "corrupt"}, {"bytes", 5}});
  http::Response corrupt = env_->Get(url, "bytes=0-99");
  EXPECT_EQ(corrupt.status, 206);
  EXPECT_NE(corrupt.body, full.substr(0, 100));
  EXPECT_EQ(corrupt.body.substr(6), full.substr(6, 94));
  // Rate limit: correct bytes.
  add({{"kind", "rate"}, {"bytes_per_second", 1000000}});
  EXPECT_EQ(env_->Get(url).body, full);
  json c = env_->Control("GET", "/counters");
  EXPECT_EQ(c["media"]["by_status"]["503"], 1);
  EXPECT_GT(c["media"]["bytes_served"].get<uint64_t>(), full.size());
}

TEST_F(MediaTest, ReplacedAssetHasNewBytesSizeAndEtag) {
  Start();
  const std::string url = PlayUrl(ids_.full, "HD", "mp4", "oss");
  http::Response before = env_->Get(url, "bytes=0-9");
  json rep = env_->Control("POST", "/replace", {{"video_id", ids_.full}, {"asset", "HD.mp4"},
                                                {"seed", 99}, {"size", 123456}});
  EXPECT_EQ(rep["size"], 123456);
  http::Response after = env_->Get(url, "bytes=0-9");
  EXPECT_EQ(after.status, 206);
  EXPECT_NE(after.Header("ETag"), before.Header("ETag"));
  EXPECT_EQ(after.Header("Content-Range"), "bytes 0-9/123456");
  std::string expect(10, '\0');
  emu::FillSynthetic(99, 0, expect.data(), 10);
  EXPECT_EQ(after.body, expect);
  json pi = env_->Call("GetPlayInfo", {{"VideoId", ids_.full}, {"Definition", "HD"}, {"Formats", "mp4"}});
  EXPECT_EQ(pi["PlayInfoList"]["PlayInfo"][0]["Size"], 123456);
  env_->Control("POST", "/reset");
  EXPECT_EQ(env_->Get(url, "bytes=0-9").Header("ETag"), before.Header("ETag"));
}

TEST(SyntheticMediaTest, BytesMatchTheGeneratorAndTheChecksum) {
  emu::SyntheticOptions so;
  so.videos = 3;
  so.video_size = 5 * 1024 * 1024 + 7;
  so.exact_sizes = true;
  EmulatorEnv env(emu::MakeSyntheticLibrary(so));
  json list = env.Call("SearchMedia", {{"Fields", "Size"}});
  const std::string id = list["MediaList"][0]["MediaId"];
  json mz = env.Call("GetMezzanineInfo", {{"VideoId", id}});
  const uint64_t size = mz["Mezzanine"]["Size"];
  EXPECT_EQ(size, so.video_size);
  const std::string url = mz["Mezzanine"]["FileURL"];
  json media = env.Control("GET", "/media?id=" + id);
  const std::string key = media["source_key"];
  const uint64_t seed = str::StableHash64(key, so.seed);
  // Ranges, including ones that straddle 8-byte words.
  for (auto [first, len] : std::vector<std::pair<uint64_t, uint64_t>>{
           {0, 1}, {3, 13}, {4095, 4097}, {size - 9, 9}, {1234567, 1 << 20}}) {
    http::Response r = env.Get(url, "bytes=" + std::to_string(first) + "-" + std::to_string(first + len - 1));
    ASSERT_EQ(r.status, 206);
    std::string expect(len, '\0');
    emu::FillSynthetic(seed, first, expect.data(), len);
    EXPECT_EQ(r.body, expect) << first << "+" << len;
  }
  http::Response whole = env.Get(url);
  ASSERT_EQ(whole.body.size(), size);
  json asset = env.Control("GET", "/asset?sha256=1&key=" + str::PercentEncode(key));
  EXPECT_EQ(asset["sha256"], auth::Sha256Hex(whole.body));
}

}  // namespace
}  // namespace vodfs::testing
