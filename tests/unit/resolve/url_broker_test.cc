#include "vodfs/resolve/url_broker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "vodfs/auth/url_signer.h"
#include "vodfs/resolve/hls.h"

namespace vodfs::resolve {
namespace {

// Hands out URLs built by a function of (ref, now); counts calls.
class FakeResolver final : public UrlResolver {
 public:
  std::function<std::string(const MediaRef&)> make;
  std::vector<MediaRef> siblings;  // also answered by each call
  std::atomic<int> calls{0};
  std::atomic<bool> fail{false};
  std::atomic<int> delay_ms{0};
  Result<std::vector<Resolved>> Resolve(const MediaRef& ref) override {
    ++calls;
    if (delay_ms) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
    if (fail) return Error(ErrorCode::kUnavailable, "API down");
    std::vector<Resolved> out = {{ref, make(ref)}};
    for (const auto& s : siblings) out.push_back({s, make(s)});
    return out;
  }
};

MediaRef Source(const std::string& id) {
  MediaRef r;
  r.role = Role::kSource;
  r.id = id;
  return r;
}

std::string OssUrl(int64_t expires) {
  return "http://b.oss.test/sv/x.mp4?Expires=" + std::to_string(expires) +
         "&OSSAccessKeyId=ak&Signature=sig" + std::to_string(expires);
}

TEST(UrlBrokerTest, ExpiryFromOssAndCdnUrlsBoundedByTheLifetimeAsked) {
  FakeResolver r;
  FakeClock clock(1000);
  BrokerOptions o;
  o.auth_timeout = 3600;
  o.cdn_auth_delta = 1800;
  UrlBroker b(r, clock, nullptr, o);
  EXPECT_EQ(b.ExpiryOf(OssUrl(1500), 1000), 1500);
  EXPECT_EQ(b.ExpiryOf("http://cdn.test/a.mp4?auth_key=2000-0-0-abc", 1000), 3800);  // ts + delta
  // A CDN timestamp that promises more than the lifetime asked is capped.
  EXPECT_EQ(b.ExpiryOf("http://cdn.test/a.mp4?auth_key=9000-0-0-abc", 1000), 1000 + 3600);
  EXPECT_EQ(b.ExpiryOf("http://cdn.test/a.mp4", 1000), INT64_MAX);  // unsigned: never
  const std::string c = "http://cdn.test" + auth::CdnSignTypeC("/a.mp4", 1700000000, "key");
  EXPECT_EQ(b.ExpiryOf(c, 1699999000), 1700001800);
}

TEST(UrlBrokerTest, CachedUntilTheMarginThenRefreshedInTheBackground) {
  FakeResolver r;
  FakeClock clock(1000);
  r.make = [&](const MediaRef&) { return OssUrl(clock.UnixNow() + 3600); };
  Executor bg(1);
  bg.Start();
  UrlBroker b(r, clock, &bg, {});
  auto a = b.Get(Source("v"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(r.calls, 1);
  clock.Advance(std::chrono::seconds(3000));  // 600 s left: outside the 300 s margin
  EXPECT_EQ(b.Get(Source("v"))->url, a->url);
  EXPECT_EQ(r.calls, 1);
  clock.Advance(std::chrono::seconds(400));  // 200 s left: refresh ahead, keep serving
  auto c = b.Get(Source("v"));
  EXPECT_EQ(c->url, a->url);
  bg.Stop();  // drains the refresh
  EXPECT_EQ(r.calls, 2);
  auto d = b.Get(Source("v"));
  EXPECT_NE(d->url, a->url);
  EXPECT_GT(d->generation, a->generation);
  EXPECT_EQ(b.Stats().background_refreshes, 1u);
}

TEST(UrlBrokerTest, ExpiredUrlsAreRefreshedBeforeUseSingleFlight) {
  FakeResolver r;
  FakeClock clock(1000);
  r.make = [&](const MediaRef&) { return OssUrl(clock.UnixNow() + 60); };
  r.delay_ms = 50;
  UrlBroker b(r, clock, nullptr, {});
  ASSERT_TRUE(b.Get(Source("v")).ok());
  clock.Advance(std::chrono::seconds(61));
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    ts.emplace_back([&] {
      auto l = b.Get(Source("v"));
      if (l.ok() && l->expires_at > clock.UnixNow()) ++ok;
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(r.calls, 2);  // one refresh for eight callers
}

TEST(UrlBrokerTest, RejectionForcesANewUrlOnlyForThatGeneration) {
  FakeResolver r;
  FakeClock clock(1000);
  int n = 0;
  r.make = [&](const MediaRef&) { return OssUrl(5000 + ++n); };
  UrlBroker b(r, clock, nullptr, {});
  auto a = b.Get(Source("v"));
  b.ReportRejected(Source("v"), a->generation);
  auto c = b.Get(Source("v"));
  EXPECT_NE(c->url, a->url);
  EXPECT_EQ(r.calls, 2);
  // A late report about the old URL does not throw away the new one.
  b.ReportRejected(Source("v"), a->generation);
  EXPECT_EQ(b.Get(Source("v"))->url, c->url);
  EXPECT_EQ(r.calls, 2);
  EXPECT_EQ(b.Stats().rejections, 1u);
}

TEST(UrlBrokerTest, OneApiAnswerRefreshesItsSiblings) {
  FakeResolver r;
  FakeClock clock(1000);
  r.make = [&](const MediaRef& ref) { return OssUrl(9000) + "&k=" + ref.Key(); };
  MediaRef s1;
  s1.role = Role::kStream;
  s1.id = "v";
  s1.job_id = "j1";
  MediaRef s2 = s1;
  s2.job_id = "j2";
  r.siblings = {s2};
  UrlBroker b(r, clock, nullptr, {});
  ASSERT_TRUE(b.Get(s1).ok());
  ASSERT_TRUE(b.Get(s2).ok());
  EXPECT_EQ(r.calls, 1);
}

TEST(UrlBrokerTest, CdnUrlsAreResignedLocallyWithTheKey) {
  FakeResolver r;
  FakeClock clock(1700000000);
  const std::string key = "the-cdn-key";
  r.make = [&](const MediaRef&) {
    return "http://cdn.test/v/a.mp4?auth_key=" +
           auth::CdnSignTypeA("/v/a.mp4", clock.UnixNow(), "0", "0", key);
  };
  BrokerOptions o;
  o.cdn_key = key;
  o.cdn_auth_delta = 1800;
  UrlBroker b(r, clock, nullptr, o);
  auto a = b.Get(Source("v"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(r.calls, 1);
  for (int i = 0; i < 5; ++i) {
    clock.Advance(std::chrono::seconds(1800));
    auto l = b.Get(Source("v"));
    ASSERT_TRUE(l.ok());
    std::string obj;
    EXPECT_EQ(auth::VerifyCdnRequest(auth::CdnAuthType::kA, "/v/a.mp4", l->url.substr(l->url.find('?') + 1),
                                     {key}, 1800, clock.UnixNow(), &obj),
              auth::AuthVerdict::kOk);
  }
  EXPECT_EQ(r.calls, 1);  // no API call at all
  EXPECT_EQ(b.Stats().local_resignings, 5u);
  // A key the CDN refuses: back to the API for that reference.
  auto bad = b.Get(Source("v"));
  b.ReportRejected(Source("v"), bad->generation);
  ASSERT_TRUE(b.Get(Source("v")).ok());
  EXPECT_EQ(r.calls, 2);
}

TEST(UrlBrokerTest, AFailedRefreshIsSharedNotRepeatedByEveryWaiter) {
  FakeResolver r;
  FakeClock clock(1000);
  r.make = [&](const MediaRef&) { return OssUrl(clock.UnixNow() + 60); };
  UrlBroker b(r, clock, nullptr, {});
  r.fail = true;
  auto e = b.Get(Source("v"));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
  r.fail = false;
  EXPECT_TRUE(b.Get(Source("v")).ok());
}

TEST(HlsTest, ParseAndRewrite) {
  const std::string pl =
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=AES-128,URI=\"https://k.test/key?tok=1\"\n"
      "#EXTINF:2.0,\nseg-0.ts?auth_key=1-0-0-x\n#EXTINF:1.5,title\n/abs/seg-1.ts?auth_key=2\n#EXT-X-ENDLIST\n";
  HlsPlaylist p = ParseHlsPlaylist(pl);
  ASSERT_EQ(p.segments.size(), 2u);
  EXPECT_EQ(p.segments[0].uri, "seg-0.ts?auth_key=1-0-0-x");
  EXPECT_DOUBLE_EQ(p.segments[1].duration, 1.5);
  std::string out = RewriteHlsPlaylist(pl, {"a.ts", "b.ts"});
  EXPECT_EQ(out.find("auth_key"), std::string::npos);
  EXPECT_NE(out.find("\na.ts\n"), std::string::npos);
  EXPECT_NE(out.find("\nb.ts\n"), std::string::npos);
  EXPECT_NE(out.find("URI=\"https://k.test/key?tok=1\""), std::string::npos);  // key URI untouched
  EXPECT_TRUE(ParseHlsPlaylist("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n").is_master);
}

}  // namespace
}  // namespace vodfs::resolve
