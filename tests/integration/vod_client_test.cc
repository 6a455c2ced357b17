// The VOD API client against the emulator, through real libcurl.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_set>

#include "support/emulator_env.h"
#include "support/mini_library.h"
#include "vodfs/auth/credential_chain.h"
#include "vodfs/util/log.h"
#include "vodfs/vod/api.h"

namespace vodfs::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

vod::PlayInfoRequest PlayReq(const std::string& id) {
  vod::PlayInfoRequest r;
  r.video_id = id;
  return r;
}
vod::MezzanineRequest MezzReq(const std::string& id) {
  vod::MezzanineRequest r;
  r.video_id = id;
  return r;
}

// A client with production settings (retries, documented QPS).
struct Client {
  explicit Client(emu::Emulator& e, vod::RpcOptions o = {},
                  auth::Credentials c = {"LTAI5tEmulatorDemoKey", "EmulatorDemoSecret0123456789abcd",
                                         "", std::nullopt, "test"})
      : http(http::NewCurlHttpClient()), creds(std::move(c)) {
    o.endpoint = e.api_url();
    rpc = std::make_unique<vod::RpcClient>(*http, creds, SystemClock::Get(), o);
    api = std::make_unique<vod::VodClient>(*rpc);
  }
  std::unique_ptr<http::HttpClient> http;
  auth::StaticCredentialsProvider creds;
  std::unique_ptr<vod::RpcClient> rpc;
  std::unique_ptr<vod::VodClient> api;
};

class VodClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ids_ = WriteMiniLibrary(dir_);
    emu::EmulatorOptions o;
    o.qps_scale = 0;
    env_ = std::make_unique<EmulatorEnv>(std::move(emu::LoadManifestLibrary(dir_.path())).value(), o);
    client_ = std::make_unique<Client>(env_->emulator());
  }
  vod::VodApi& api() { return *client_->api; }
  TempDir dir_;
  MiniLibraryIds ids_;
  std::unique_ptr<EmulatorEnv> env_;
  std::unique_ptr<Client> client_;
};

TEST_F(VodClientTest, EveryOperationDecodes) {
  auto list = api().GetVideoList({});
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  EXPECT_EQ(list->total, 7);
  EXPECT_EQ(list->videos.size(), 7u);

  vod::SearchRequest sr;
  sr.fields = "Title,Size,Snapshots,SpriteSnapshots,CoverURL,CateId,Duration,ModificationTime";
  auto search = api().SearchMedia(sr);
  ASSERT_TRUE(search.ok());
  EXPECT_EQ(search->total, 6);
  EXPECT_EQ(search->scroll_token.size(), 32u);

  auto info = api().GetVideoInfo(ids_.full);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->title, "Full video");
  EXPECT_EQ(info->size, 300000);
  EXPECT_EQ(info->cate_name, "Leaf");
  EXPECT_EQ(info->snapshots.size(), 3u);
  EXPECT_EQ(info->modification_time, 1704070800);

  auto infos = api().GetVideoInfos({ids_.full, ids_.audio, "nope"});
  ASSERT_TRUE(infos.ok());
  EXPECT_EQ(infos->videos.size(), 2u);
  EXPECT_EQ(infos->missing, std::vector<std::string>{"nope"});

  vod::MezzanineRequest mr;
  mr.video_id = ids_.full;
  mr.output_type = vod::OutputType::kOss;
  mr.addition_type = "video";
  auto mz = api().GetMezzanineInfo(mr);
  ASSERT_TRUE(mz.ok());
  EXPECT_EQ(mz->size, 300000);
  EXPECT_EQ(mz->file_name, "master.mp4");
  EXPECT_EQ(mz->video_streams.size(), 1u);

  vod::PlayInfoRequest pr;
  pr.video_id = ids_.full;
  pr.output_type = vod::OutputType::kCdn;
  auto play = api().GetPlayInfo(pr);
  ASSERT_TRUE(play.ok());
  EXPECT_EQ(play->streams.size(), 4u);
  EXPECT_EQ(play->base.title, "Full video");
  pr.result_type = "Multiple";
  pr.video_id = ids_.invisible;
  EXPECT_EQ(api().GetPlayInfo(pr)->streams.size(), 2u);

  vod::SnapshotRequest snr;
  snr.video_id = ids_.full;
  snr.snapshot_type = "NormalSnapshot";
  auto snaps = api().ListSnapshots(snr);
  ASSERT_TRUE(snaps.ok());
  EXPECT_EQ(snaps->total, 3);
  EXPECT_EQ(snaps->snapshots.size(), 3u);

  vod::ImageRequest ir;
  ir.image_id = ids_.image1;
  auto img = api().GetImageInfo(ir);
  ASSERT_TRUE(img.ok());
  EXPECT_EQ(img->file_size, 4000);
  ir.image_ids = {ids_.image1, ids_.image2};
  EXPECT_EQ(api().GetImageInfos(ir)->images.size(), 2u);

  auto root = api().GetCategories({});
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->children.size(), 2u);
  vod::CategoryRequest cr;
  cr.cate_id = 11;
  auto mid = api().GetCategories(cr);
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(mid->category->name, "Mid");
  EXPECT_EQ(mid->children[0].id, 111);

  auto missing = api().GetPlayInfo(PlayReq("0000"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().service_code, "InvalidVideo.NotFound");
  EXPECT_FALSE(missing.error().request_id.empty());
}

TEST(VodScaleTest, TwentyThousandVideosEachExactlyOnceAtDocumentedQps) {
  emu::SyntheticOptions so;
  so.videos = 20000;
  so.audio = 300;
  EmulatorEnv env(emu::MakeSyntheticLibrary(so));  // documented QPS enforced
  Client client(env.emulator());
  std::unordered_set<std::string> seen;
  vod::LibraryIterator it(*client.api, "video", "Title,Size");
  std::vector<vod::MediaInfo> page;
  const auto t0 = Clock::now();
  while (true) {
    auto more = it.Next(&page);
    ASSERT_TRUE(more.ok()) << more.error().ToString();
    for (const auto& m : page) {
      ASSERT_EQ(m.media_type, "video");
      ASSERT_TRUE(seen.insert(m.id).second) << "duplicate " << m.id;
    }
    if (!*more) break;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(seen.size(), 20000u);
  EXPECT_EQ(it.calls(), 200);  // the minimum at 100 per page
  json c = env.Control("GET", "/counters");
  EXPECT_EQ(c["api"]["errors"].value("Throttling.User", 0), 0);  // never throttled
  std::printf("[ metrics ] 20,000-video traversal: %d calls in %.2f s (%.1f calls/s)\n", it.calls(),
              secs, it.calls() / secs);
  // At the documented 50/s SearchMedia limit, 200 calls need about 4 s.
  EXPECT_GE(secs, 3.9);
}

TEST(VodQpsTest, ManyThreadsAtDocumentedQpsAreNeverThrottled) {
  emu::SyntheticOptions so;
  so.videos = 50;
  EmulatorEnv env(emu::MakeSyntheticLibrary(so));
  Client client(env.emulator());
  const std::string id = env.Call("SearchMedia")["MediaList"][0]["MediaId"];
  std::atomic<int> ok{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 90; ++i) {
        auto r = client.api->GetPlayInfo(PlayReq(id));
        if (r.ok()) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(ok.load(), 720);
  json c = env.Control("GET", "/counters");
  EXPECT_EQ(c["api"]["errors"].value("Throttling.User", 0), 0);
  EXPECT_EQ(client.rpc->Stats().throttled, 0u);
  std::printf("[ metrics ] GetPlayInfo: 720 calls from 8 threads in %.2f s (%.0f calls/s, limit 360)\n",
              secs, 720 / secs);
}

TEST(VodQpsTest, LoweredServerLimitStillDeliversEveryItem) {
  emu::SyntheticOptions so;
  so.videos = 600;
  emu::EmulatorOptions eo;
  eo.qps_scale = 0.2;  // SearchMedia: 10/s while the client believes 50/s
  EmulatorEnv env(emu::MakeSyntheticLibrary(so), eo);
  Client client(env.emulator());
  std::unordered_set<std::string> seen;
  vod::LibraryIterator it(*client.api, "video", "Title", "CreationTime:Asc", 20);
  std::vector<vod::MediaInfo> page;
  while (true) {
    auto more = it.Next(&page);
    ASSERT_TRUE(more.ok()) << more.error().ToString();
    for (const auto& m : page) EXPECT_TRUE(seen.insert(m.id).second);
    if (!*more) break;
  }
  EXPECT_EQ(seen.size(), 600u);
  EXPECT_GT(client.rpc->Stats().throttled, 0u);  // the limit did bite, and was absorbed
}

TEST(VodFaultTest, ServerErrorsResetsAndStallsAreRecoveredInBoundedTime) {
  emu::SyntheticOptions so;
  so.videos = 5;
  emu::EmulatorOptions eo;
  eo.qps_scale = 0;
  EmulatorEnv env(emu::MakeSyntheticLibrary(so), eo);
  vod::RpcOptions ro;
  ro.timeout = std::chrono::seconds(2);
  Client client(env.emulator(), ro);
  env.Control("POST", "/faults", json::array({
      {{"target", "api"}, {"operation", "GetCategories"}, {"kind", "error"}, {"code", "InternalError"}, {"status", 500}, {"count", 2}},
      {{"target", "api"}, {"operation", "GetCategories"}, {"kind", "reset"}, {"count", 2}},
      {{"target", "api"}, {"operation", "GetCategories"}, {"kind", "stall"}, {"ms", 10000}, {"count", 1}},
      {{"target", "api"}, {"operation", "GetCategories"}, {"kind", "throttle"}, {"count", 1}},
  }));
  const auto t0 = Clock::now();
  auto r = client.api->GetCategories({});
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_LT(secs, 20.0);  // 2 s stall timeout + backoffs, never the 10 s stall or worse
  // Every injected fault was met...
  for (const auto& rule : env.Control("GET", "/faults")) EXPECT_EQ(rule["count"], 0) << rule.dump();
  json c = env.Control("GET", "/counters");
  EXPECT_EQ(c["api"]["calls"]["GetCategories"], 7);
  // ...and retried by the client, except that libcurl itself retries a
  // request once when a reused connection turns out to be reset.
  EXPECT_GE(client.rpc->Stats().retries, 5u);
  EXPECT_LE(client.rpc->Stats().retries, 6u);
}

TEST(VodFaultTest, WrongSecretIsOneCallWithAClearError) {
  emu::SyntheticOptions so;
  so.videos = 5;
  EmulatorEnv env(emu::MakeSyntheticLibrary(so));
  Client client(env.emulator(), {}, {"LTAI5tEmulatorDemoKey", "not-the-secret", "", std::nullopt, "test"});
  auto r = client.api->SearchMedia({});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(r.error().service_code, "SignatureDoesNotMatch");
  EXPECT_NE(r.error().ToString().find("SearchMedia"), std::string::npos);
  EXPECT_EQ(env.Control("GET", "/counters")["api"]["calls"]["SearchMedia"], 1);
}

TEST(VodStsTest, ExpiringRoleCredentialsAreRenewedMidRun) {
  emu::SyntheticOptions so;
  so.videos = 5;
  emu::EmulatorOptions eo;
  eo.imds_port = 0;
  eo.imds_duration = 4;  // very short-lived STS credentials
  eo.qps_scale = 0;
  EmulatorEnv env(emu::MakeSyntheticLibrary(so), eo);
  auto http = http::NewCurlHttpClient();
  auth::ChainOptions co;
  co.imds_endpoint = env.emulator().imds_url();
  co.getenv = [](const std::string&) { return std::nullopt; };
  co.home = "/nonexistent";
  auto chain = auth::MakeDefaultChain(co, *http, SystemClock::Get());
  vod::RpcOptions ro;
  ro.endpoint = env.emulator().api_url();
  vod::RpcClient rpc(*http, *chain, SystemClock::Get(), ro);
  vod::VodClient api(rpc);
  std::set<std::string> keys;
  int failures = 0;
  const auto until = Clock::now() + std::chrono::seconds(7);
  while (Clock::now() < until) {
    auto r = api.GetCategories({});
    if (!r.ok()) {
      ++failures;
      ADD_FAILURE() << r.error().ToString();
    }
    keys.insert(chain->Get()->access_key_id);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // pacing, not synchronisation
  }
  EXPECT_EQ(failures, 0);
  EXPECT_GE(keys.size(), 2u);  // the credentials did change under the calls
}

TEST(VodSecretsTest, NoSecretInAnyLogLineOrError) {
  std::vector<std::string> lines;
  std::mutex mu;
  log::SetSink([&](log::Level, std::string_view l) {
    std::lock_guard<std::mutex> lock(mu);
    lines.emplace_back(l);
  });
  log::SetLevel(log::Level::kDebug);
  emu::SyntheticOptions so;
  so.videos = 5;
  emu::EmulatorOptions eo;
  eo.qps_scale = 0;
  eo.log_requests = true;
  EmulatorEnv env(emu::MakeSyntheticLibrary(so), eo);
  json sts = env.Control("POST", "/sts", {{"duration", 600}});
  std::vector<std::string> errors;
  {
    Client ok(env.emulator());
    vod::SearchRequest sr;
    auto page = ok.api->SearchMedia(sr);
    ASSERT_TRUE(page.ok());
    auto mz = ok.api->GetMezzanineInfo(MezzReq(page->media[0].id));
    ASSERT_TRUE(mz.ok());
    VODFS_LOG(kDebug) << "fetching " << mz->file_url;  // a signed URL in a log line
    Client sts_client(env.emulator(), {},
                      {sts["AccessKeyId"], sts["AccessKeySecret"], sts["SecurityToken"], std::nullopt, "sts"});
    ASSERT_TRUE(sts_client.api->GetCategories({}).ok());
    Client wrong(env.emulator(), {},
                 {sts["AccessKeyId"], "wrong-secret-value", sts["SecurityToken"], std::nullopt, "sts"});
    auto r = wrong.api->GetCategories({});
    ASSERT_FALSE(r.ok());
    errors.push_back(r.error().ToString());
    env.Control("POST", "/faults", {{"target", "api"}, {"kind", "error"}, {"status", 503}, {"code", "ServiceUnavailable"}});
    ASSERT_TRUE(sts_client.api->GetCategories({}).ok());
  }
  log::SetSink(nullptr);
  log::SetLevel(log::Level::kInfo);
  std::vector<std::string> all = lines;
  all.insert(all.end(), errors.begin(), errors.end());
  ASSERT_FALSE(all.empty());
  const std::vector<std::string> secrets = {
      "EmulatorDemoSecret0123456789abcd", sts["AccessKeySecret"], sts["SecurityToken"],
      env.emulator().options().oss_access_key_secret, env.emulator().options().cdn_keys[0],
      "wrong-secret-value", "Signature=", "auth_key=", "security-token=", "Expires="};
  for (const auto& l : all) {
    for (const auto& s : secrets) EXPECT_EQ(l.find(s), std::string::npos) << "'" << s << "' in: " << l;
  }
}

}  // namespace
}  // namespace vodfs::testing
