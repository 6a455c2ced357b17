// The emulator's VOD API, through real HTTP (libcurl): response shapes of
// every operation, every documented error, signing variants and STS.
#include <gtest/gtest.h>

#include <set>

#include "support/emulator_env.h"
#include "support/mini_library.h"
#include "vodfs/auth/rpc_signer.h"
#include "vodfs/auth/url_signer.h"
#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"

namespace vodfs::testing {
namespace {

using nlohmann::json;

class EmulatorApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ids_ = WriteMiniLibrary(dir_);
    auto lib = emu::LoadManifestLibrary(dir_.path());
    ASSERT_TRUE(lib.ok()) << lib.error().ToString();
    emu::EmulatorOptions o;
    o.qps_scale = 0;
    env_ = std::make_unique<EmulatorEnv>(std::move(lib).value(), o);
  }

  // A V2 request signed by hand, for crafted timestamps/nonces/methods.
  http::Request Crafted(const std::string& action, vod::Params params, int64_t ts_offset = 0,
                        const std::string& nonce = "", const std::string& method = "GET") {
    vod::RequestSpec s;
    s.endpoint = env_->emulator().api_url();
    s.action = action;
    s.params = std::move(params);
    s.credentials = env_->credentials();
    s.http_method = method;
    s.timestamp = env_->emulator().Now() + ts_offset;
    s.nonce = nonce.empty() ? str::RandomUuid() : nonce;
    return vod::BuildSignedRequest(s);
  }

  TempDir dir_;
  MiniLibraryIds ids_;
  std::unique_ptr<EmulatorEnv> env_;
};

TEST_F(EmulatorApiTest, GetVideoListShapeSortAndPaging) {
  json j = env_->Call("GetVideoList", {{"PageSize", "100"}});
  ASSERT_TRUE(j["Total"].is_number_integer());
  EXPECT_EQ(j["Total"], 7);
  ASSERT_TRUE(j["VideoList"]["Video"].is_array());  // wrapped
  const json& v = j["VideoList"]["Video"];
  ASSERT_EQ(v.size(), 7u);
  // Default sort: CreationTime:Desc.
  EXPECT_EQ(v[0]["VideoId"], ids_.slash);
  EXPECT_EQ(v[6]["VideoId"], ids_.full);
  const json& full = v[6];
  EXPECT_TRUE(full["Snapshots"]["Snapshot"].is_array());  // wrapped here
  EXPECT_EQ(full["Snapshots"]["Snapshot"].size(), 3u);
  EXPECT_TRUE(full["CateId"].is_number_integer());
  EXPECT_EQ(full["CateName"], "Leaf");
  EXPECT_TRUE(full["Size"].is_number_integer());
  EXPECT_EQ(full["Size"], 300000);
  EXPECT_TRUE(full["Duration"].is_number_float());
  EXPECT_EQ(full["CreationTime"], "2024-01-01T00:00:00Z");
  EXPECT_EQ(full["ModificationTime"], "2024-01-01T01:00:00Z");
  EXPECT_EQ(full["Status"], "Normal");

  json asc = env_->Call("GetVideoList", {{"SortBy", "CreationTime:Asc"}, {"PageSize", "2"}, {"PageNo", "2"}});
  ASSERT_EQ(asc["VideoList"]["Video"].size(), 2u);
  EXPECT_EQ(asc["VideoList"]["Video"][0]["VideoId"], ids_.encrypted);

  json filtered = env_->Call("GetVideoList", {{"Status", "Transcoding,UploadFail"}});
  EXPECT_EQ(filtered["Total"], 2);
  json by_cate = env_->Call("GetVideoList", {{"CateId", "111"}});
  EXPECT_EQ(by_cate["Total"], 1);
  json window = env_->Call("GetVideoList", {{"StartTime", "2024-01-02T00:00:00Z"},
                                            {"EndTime", "2024-01-04T00:00:00Z"}});
  EXPECT_EQ(window["Total"], 2);
}

TEST_F(EmulatorApiTest, GetVideoListStopsAtFiveThousand) {
  Error e = env_->CallError("GetVideoList", {{"PageNo", "51"}, {"PageSize", "100"}});
  EXPECT_EQ(e.service_code, "VideoListExceededMax");
  EXPECT_EQ(e.http_status, 400);
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  env_->Call("GetVideoList", {{"PageNo", "50"}, {"PageSize", "100"}});
}

TEST_F(EmulatorApiTest, SearchMediaShapesForEveryType) {
  json j = env_->Call("SearchMedia", {{"Fields", "Title,CoverURL,Size,Snapshots,SpriteSnapshots"},
                                      {"PageSize", "50"}});
  EXPECT_TRUE(j["Total"].is_number_integer());
  EXPECT_EQ(j["Total"], 6);  // videos only
  ASSERT_TRUE(j["ScrollToken"].is_string());
  EXPECT_EQ(j["ScrollToken"].get<std::string>().size(), 32u);
  ASSERT_TRUE(j["MediaList"].is_array());  // plain
  for (const auto& m : j["MediaList"]) {
    EXPECT_EQ(m["MediaType"], "video");
    EXPECT_EQ(m["MediaId"], m["Video"]["VideoId"]);
    EXPECT_TRUE(m["CreationTime"].is_string());
  }
  const json& last = j["MediaList"].back();  // Desc: the oldest is last
  EXPECT_EQ(last["MediaId"], ids_.full);
  EXPECT_TRUE(last["Video"]["Snapshots"].is_array());  // plain here
  EXPECT_EQ(last["Video"]["SpriteSnapshots"].size(), 1u);
  EXPECT_EQ(last["Video"]["Size"], 300000);
  EXPECT_FALSE(last["Video"].contains("Description"));  // not asked for

  json audio = env_->Call("SearchMedia", {{"SearchType", "audio"}});
  ASSERT_EQ(audio["MediaList"].size(), 1u);
  EXPECT_EQ(audio["MediaList"][0]["MediaType"], "audio");
  EXPECT_EQ(audio["MediaList"][0]["Audio"]["AudioId"], ids_.audio);

  json images = env_->Call("SearchMedia", {{"SearchType", "image"}, {"Fields", "URL,Title"}});
  ASSERT_EQ(images["MediaList"].size(), 2u);
  EXPECT_EQ(images["MediaList"][0]["Image"]["ImageId"], ids_.image2);
  EXPECT_NE(images["MediaList"][0]["Image"]["URL"].get<std::string>().find("auth_key="), std::string::npos);
}

TEST_F(EmulatorApiTest, SearchMediaMatchExpressions) {
  auto ids = [this](const std::string& match) {
    json j = env_->Call("SearchMedia", {{"Match", match}, {"PageSize", "100"}});
    std::set<std::string> out;
    for (const auto& m : j["MediaList"]) out.insert(m["MediaId"].get<std::string>());
    return out;
  };
  EXPECT_EQ(ids("Title = 'older'"), std::set<std::string>{ids_.invisible});
  EXPECT_EQ(ids("VideoId in ('" + ids_.full + "','" + ids_.slash + "')"),
            (std::set<std::string>{ids_.full, ids_.slash}));
  EXPECT_EQ(ids("Status in ('Transcoding','UploadFail') and Title = 'fail'"),
            std::set<std::string>{ids_.failed});
  EXPECT_EQ(ids("(Title = 'Full' or Title = 'Encrypted')"),
            (std::set<std::string>{ids_.full, ids_.encrypted}));
  EXPECT_EQ(ids("CreationTime = ('2024-01-01T00:00:00Z','2024-01-03T00:00:00Z']"),
            (std::set<std::string>{ids_.invisible, ids_.encrypted}));
  EXPECT_EQ(env_->CallError("SearchMedia", {{"Match", "Colour = 'red'"}}).service_code, "InvalidParameter");
  EXPECT_EQ(env_->CallError("SearchMedia", {{"Match", "Title = 'a' or Title = 'b'"}}).service_code,
            "InvalidParameter");
  EXPECT_EQ(env_->CallError("SearchMedia", {{"Match", "Title = 'unterminated"}}).service_code,
            "InvalidParameter");
}

TEST_F(EmulatorApiTest, GetVideoInfoAndInfosShapes) {
  json one = env_->Call("GetVideoInfo", {{"VideoId", ids_.full}});
  EXPECT_EQ(one["Video"]["VideoId"], ids_.full);
  EXPECT_TRUE(one["Video"]["Snapshots"]["Snapshot"].is_array());  // wrapped
  EXPECT_EQ(one["Video"]["RegionId"], "cn-shanghai");
  EXPECT_EQ(one["Video"]["AuditStatus"], "Normal");
  EXPECT_EQ(one["Video"]["Tags"], "a,b");

  json many = env_->Call("GetVideoInfos", {{"VideoIds", ids_.full + "," + ids_.audio + ",nope"}});
  ASSERT_TRUE(many["VideoList"].is_array());  // plain
  EXPECT_EQ(many["VideoList"].size(), 2u);
  EXPECT_TRUE(many["VideoList"][0]["Snapshots"].is_array());
  EXPECT_EQ(many["NonExistVideoIds"], json::array({"nope"}));

  std::string ids;
  for (int i = 0; i < 21; ++i) ids += (i ? "," : "") + std::to_string(i);
  EXPECT_EQ(env_->CallError("GetVideoInfos", {{"VideoIds", ids}}).service_code, "VideoIdsExceededMax");
  Error nf = env_->CallError("GetVideoInfo", {{"VideoId", "0000"}});
  EXPECT_EQ(nf.service_code, "InvalidVideo.NotFound");
  EXPECT_EQ(nf.http_status, 404);
  EXPECT_EQ(nf.code, ErrorCode::kNotFound);
}

TEST_F(EmulatorApiTest, GetMezzanineInfoShapeAndOutputTypes) {
  json j = env_->Call("GetMezzanineInfo", {{"VideoId", ids_.full}, {"AdditionType", "video,audio"}});
  const json& m = j["Mezzanine"];
  EXPECT_EQ(m["FileName"], "master.mp4");
  EXPECT_TRUE(m["Size"].is_number_integer());
  EXPECT_EQ(m["Size"], 300000);
  EXPECT_TRUE(m["Duration"].is_string());
  EXPECT_TRUE(m["Bitrate"].is_string());
  EXPECT_TRUE(m["Width"].is_number_integer());
  EXPECT_TRUE(m["Fps"].is_string());
  EXPECT_EQ(m["OutputType"], "cdn");  // documented default
  auto cdn = auth::ParseSignedUrl(m["FileURL"].get<std::string>());
  ASSERT_TRUE(cdn);
  EXPECT_EQ(cdn->kind, auth::SignedUrlKind::kCdnA);
  ASSERT_TRUE(m["VideoStreamList"].is_array());
  EXPECT_TRUE(m["VideoStreamList"][0]["Width"].is_string());
  ASSERT_TRUE(m["AudioStreamList"].is_array());
  EXPECT_TRUE(m["AudioStreamList"][0]["SampleRate"].is_string());

  json o = env_->Call("GetMezzanineInfo", {{"VideoId", ids_.full}, {"OutputType", "oss"}, {"AuthTimeout", "600"}});
  auto oss = auth::ParseSignedUrl(o["Mezzanine"]["FileURL"].get<std::string>());
  ASSERT_TRUE(oss);
  EXPECT_EQ(oss->kind, auth::SignedUrlKind::kOss);
  ASSERT_TRUE(oss->oss_expires);
  EXPECT_NEAR(static_cast<double>(*oss->oss_expires), static_cast<double>(env_->emulator().Now() + 600), 2);
  EXPECT_FALSE(o["Mezzanine"].contains("VideoStreamList"));

  EXPECT_EQ(env_->CallError("GetMezzanineInfo", {{"VideoId", ids_.failed}}).service_code, "InvalidFile.NotFound");
  EXPECT_EQ(env_->CallError("GetMezzanineInfo", {{"VideoId", ids_.full}, {"AuthTimeout", "2592001"},
                                                 {"OutputType", "oss"}}).service_code,
            "InvalidParameter");
  EXPECT_EQ(env_->CallError("GetMezzanineInfo", {{"VideoId", ids_.full}, {"OutputType", "ftp"}}).service_code,
            "InvalidParameter");
}

TEST_F(EmulatorApiTest, GetPlayInfoShapeFiltersAndStatuses) {
  json j = env_->Call("GetPlayInfo", {{"VideoId", ids_.full}});
  ASSERT_TRUE(j["PlayInfoList"]["PlayInfo"].is_array());  // wrapped
  const json& list = j["PlayInfoList"]["PlayInfo"];
  EXPECT_EQ(list.size(), 4u);
  for (const auto& p : list) {
    EXPECT_TRUE(p["Size"].is_number_integer());
    EXPECT_TRUE(p["Duration"].is_string());
    EXPECT_TRUE(p["Bitrate"].is_string());
    EXPECT_TRUE(p["Fps"].is_string());
    EXPECT_TRUE(p["Width"].is_number_integer());
    EXPECT_TRUE(p["Encrypt"].is_number_integer());
    EXPECT_TRUE(p["JobId"].is_string());
    EXPECT_EQ(p["Status"], "Normal");
    // Documented current default: OSS URLs.
    EXPECT_EQ(auth::ParseSignedUrl(p["PlayURL"].get<std::string>())->kind, auth::SignedUrlKind::kOss);
  }
  EXPECT_EQ(j["VideoBase"]["VideoId"], ids_.full);
  EXPECT_TRUE(j["VideoBase"]["Duration"].is_string());
  EXPECT_EQ(j["VideoBase"]["MediaType"], "video");

  json mp4 = env_->Call("GetPlayInfo", {{"VideoId", ids_.full}, {"Formats", "mp4"}, {"Definition", "HD"},
                                        {"OutputType", "cdn"}});
  ASSERT_EQ(mp4["PlayInfoList"]["PlayInfo"].size(), 1u);
  EXPECT_EQ(mp4["PlayInfoList"]["PlayInfo"][0]["Size"], 150000);
  EXPECT_EQ(auth::ParseSignedUrl(mp4["PlayInfoList"]["PlayInfo"][0]["PlayURL"].get<std::string>())->kind,
            auth::SignedUrlKind::kCdnA);
  json audio = env_->Call("GetPlayInfo", {{"VideoId", ids_.full}, {"StreamType", "audio"}});
  ASSERT_EQ(audio["PlayInfoList"]["PlayInfo"].size(), 1u);
  EXPECT_EQ(audio["PlayInfoList"]["PlayInfo"][0]["Format"], "mp3");

  // Single hides the older stream; Multiple shows it as Invisible.
  json single = env_->Call("GetPlayInfo", {{"VideoId", ids_.invisible}});
  EXPECT_EQ(single["PlayInfoList"]["PlayInfo"].size(), 1u);
  json multiple = env_->Call("GetPlayInfo", {{"VideoId", ids_.invisible}, {"ResultType", "Multiple"}});
  ASSERT_EQ(multiple["PlayInfoList"]["PlayInfo"].size(), 2u);
  EXPECT_EQ(multiple["PlayInfoList"]["PlayInfo"][1]["Status"], "Invisible");

  Error enc = env_->CallError("GetPlayInfo", {{"VideoId", ids_.encrypted}});
  EXPECT_EQ(enc.service_code, "Forbidden.AliyunVoDEncryption");
  EXPECT_EQ(enc.http_status, 403);
  json encm = env_->Call("GetPlayInfo", {{"VideoId", ids_.encrypted}, {"ResultType", "Multiple"}});
  EXPECT_EQ(encm["PlayInfoList"]["PlayInfo"][0]["EncryptType"], "AliyunVoDEncryption");
  EXPECT_EQ(encm["PlayInfoList"]["PlayInfo"][0]["Encrypt"], 1);

  Error status = env_->CallError("GetPlayInfo", {{"VideoId", ids_.transcoding}});
  EXPECT_EQ(status.service_code, "Forbidden.IllegalStatus");
  EXPECT_EQ(status.http_status, 403);
  Error none = env_->CallError("GetPlayInfo", {{"VideoId", ids_.full}, {"Formats", "flv"}});
  EXPECT_EQ(none.service_code, "InvalidVideo.NoneStream");
  EXPECT_EQ(none.http_status, 404);
  EXPECT_EQ(env_->CallError("GetPlayInfo", {{"VideoId", "ffff"}}).service_code, "InvalidVideo.NotFound");
  EXPECT_EQ(env_->CallError("GetPlayInfo", {{"VideoId", ids_.full}, {"Formats", "avi"}}).service_code,
            "InvalidParameter");

  json reauth = env_->Call("GetPlayInfo", {{"VideoId", ids_.full}, {"OutputType", "cdn"}, {"Formats", "mp4"},
                                           {"ReAuthInfo", "{\"uid\":\"12345\",\"rand\":\"abckljd\"}"}});
  auto u = auth::ParseSignedUrl(reauth["PlayInfoList"]["PlayInfo"][0]["PlayURL"].get<std::string>());
  EXPECT_EQ(u->cdn_uid, "12345");
  EXPECT_EQ(u->cdn_rand, "abckljd");
}

TEST_F(EmulatorApiTest, ListSnapshotsEveryTypeAndPaging) {
  json cover = env_->Call("ListSnapshots", {{"VideoId", ids_.full}});
  EXPECT_EQ(cover["MediaSnapshot"]["Total"], 1);
  json normal = env_->Call("ListSnapshots", {{"VideoId", ids_.full}, {"SnapshotType", "NormalSnapshot"},
                                             {"PageSize", "2"}});
  const json& ms = normal["MediaSnapshot"];
  EXPECT_EQ(ms["Total"], 3);
  ASSERT_TRUE(ms["Snapshots"]["Snapshot"].is_array());  // wrapped
  ASSERT_EQ(ms["Snapshots"]["Snapshot"].size(), 2u);
  EXPECT_TRUE(ms["Snapshots"]["Snapshot"][0]["Index"].is_number_integer());
  EXPECT_EQ(ms["Snapshots"]["Snapshot"][0]["Index"], 1);
  EXPECT_NE(ms["Regular"].get<std::string>().find("%7BSnapshotCount%7D"), std::string::npos);
  EXPECT_TRUE(ms["JobId"].is_string());
  json page2 = env_->Call("ListSnapshots", {{"VideoId", ids_.full}, {"SnapshotType", "NormalSnapshot"},
                                            {"PageSize", "2"}, {"PageNo", "2"}});
  ASSERT_EQ(page2["MediaSnapshot"]["Snapshots"]["Snapshot"].size(), 1u);
  EXPECT_EQ(page2["MediaSnapshot"]["Snapshots"]["Snapshot"][0]["Index"], 3);
  EXPECT_EQ(env_->Call("ListSnapshots", {{"VideoId", ids_.full}, {"SnapshotType", "SpriteSnapshot"}})
                ["MediaSnapshot"]["Total"], 1);
  EXPECT_EQ(env_->Call("ListSnapshots", {{"VideoId", ids_.full}, {"SnapshotType", "SpriteOriginSnapshot"}})
                ["MediaSnapshot"]["Total"], 2);
  EXPECT_EQ(env_->Call("ListSnapshots", {{"VideoId", ids_.full}, {"SnapshotType", "WebVttSnapshot"}})
                ["MediaSnapshot"]["Total"], 0);
  // AuthTimeout below 3600 is raised to 3600.
  json t = env_->Call("ListSnapshots", {{"VideoId", ids_.full}, {"AuthTimeout", "10"}});
  auto u = auth::ParseSignedUrl(t["MediaSnapshot"]["Snapshots"]["Snapshot"][0]["Url"].get<std::string>());
  ASSERT_TRUE(u && u->cdn_timestamp);
  EXPECT_NEAR(static_cast<double>(*u->cdn_timestamp + 1800), static_cast<double>(env_->emulator().Now() + 3600), 2);
  EXPECT_EQ(env_->CallError("ListSnapshots", {{"VideoId", ids_.full}, {"SnapshotType", "Gif"}}).service_code,
            "InvalidParameter");
}

TEST_F(EmulatorApiTest, ImagesAndCategories) {
  json one = env_->Call("GetImageInfo", {{"ImageId", ids_.image1}});
  const json& info = one["ImageInfo"];
  EXPECT_EQ(info["Title"], "Logo");
  EXPECT_TRUE(info["Mezzanine"]["FileSize"].is_string());  // a string on the wire
  EXPECT_EQ(info["Mezzanine"]["FileSize"], "4000");
  EXPECT_EQ(info["Mezzanine"]["Width"], 40);
  EXPECT_EQ(auth::ParseSignedUrl(info["Mezzanine"]["FileURL"].get<std::string>())->kind,
            auth::SignedUrlKind::kOss);
  json many = env_->Call("GetImageInfos", {{"ImageIds", ids_.image1 + "," + ids_.image2 + ",zz"}});
  ASSERT_TRUE(many["ImageInfo"].is_array());  // plain
  EXPECT_EQ(many["ImageInfo"].size(), 2u);
  EXPECT_EQ(many["NonExistImageIds"], json::array({"zz"}));

  json root = env_->Call("GetCategories");
  EXPECT_EQ(root["SubTotal"], 2);
  ASSERT_TRUE(root["SubCategories"]["Category"].is_array());
  json top = env_->Call("GetCategories", {{"CateId", "1"}});
  EXPECT_EQ(top["Category"]["CateName"], "Top");
  EXPECT_EQ(top["Category"]["Level"], 0);
  ASSERT_EQ(top["SubCategories"]["Category"].size(), 1u);
  EXPECT_EQ(top["SubCategories"]["Category"][0]["CateId"], 11);
  EXPECT_EQ(top["SubCategories"]["Category"][0]["SubTotal"], 1);
  json mid = env_->Call("GetCategories", {{"CateId", "11"}});
  EXPECT_EQ(mid["SubCategories"]["Category"][0]["Level"], 2);
  EXPECT_EQ(env_->CallError("GetCategories", {{"CateId", "999"}}).http_status, 404);
}

TEST_F(EmulatorApiTest, EveryDocumentedErrorCanBeProvoked) {
  // MissingParameter, InvalidParameter, InvalidAction.NotFound.
  Error missing = env_->CallError("GetPlayInfo");
  EXPECT_EQ(missing.service_code, "MissingParameter");
  EXPECT_NE(missing.message.find("VideoId"), std::string::npos);
  EXPECT_EQ(env_->CallError("GetVideoList", {{"PageSize", "101"}}).service_code, "InvalidParameter");
  Error action = env_->CallError("DescribeNothing");
  EXPECT_EQ(action.service_code, "InvalidAction.NotFound");
  EXPECT_EQ(action.http_status, 404);

  // SignatureDoesNotMatch: a wrong secret.
  {
    auth::StaticCredentialsProvider wrong(auth::Credentials{
        env_->credentials().access_key_id, "not-the-secret", "", std::nullopt, "test"});
    vod::RpcOptions ro;
    ro.endpoint = env_->emulator().api_url();
    ro.qps_scale = 0;
    vod::RpcClient rpc(env_->http(), wrong, SystemClock::Get(), ro);
    auto r = rpc.Call("GetVideoList", {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().service_code, "SignatureDoesNotMatch");
    EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
    EXPECT_EQ(rpc.Stats().calls["GetVideoList"], 1u);  // no retry storm
  }
  // InvalidAccessKeyId.NotFound.
  {
    auth::StaticCredentialsProvider unknown(auth::Credentials{"LTAIunknown", "x1234", "", std::nullopt, "t"});
    vod::RpcOptions ro;
    ro.endpoint = env_->emulator().api_url();
    vod::RpcClient rpc(env_->http(), unknown, SystemClock::Get(), ro);
    auto r = rpc.Call("GetVideoList", {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().service_code, "InvalidAccessKeyId.NotFound");
    EXPECT_EQ(r.error().http_status, 404);
  }
  // InvalidTimeStamp.Expired outside +-15 minutes, accepted inside.
  EXPECT_EQ(env_->Send(Crafted("GetVideoList", {}, -16 * 60)).second["Code"], "InvalidTimeStamp.Expired");
  EXPECT_EQ(env_->Send(Crafted("GetVideoList", {}, +16 * 60)).second["Code"], "InvalidTimeStamp.Expired");
  EXPECT_EQ(env_->Send(Crafted("GetVideoList", {}, -14 * 60)).first, 200);
  EXPECT_EQ(env_->Send(Crafted("GetVideoList", {}, +14 * 60)).first, 200);
  // SignatureNonceUsed: the same nonce twice.
  const std::string nonce = str::RandomUuid();
  EXPECT_EQ(env_->Send(Crafted("GetVideoList", {}, 0, nonce)).first, 200);
  auto replay = env_->Send(Crafted("GetVideoList", {}, 0, nonce));
  EXPECT_EQ(replay.first, 400);
  EXPECT_EQ(replay.second["Code"], "SignatureNonceUsed");
  // The documented error body.
  EXPECT_TRUE(replay.second["RequestId"].is_string());
  EXPECT_EQ(replay.second["HostId"], "vod.cn-shanghai.aliyuncs.com");
  EXPECT_TRUE(replay.second["Message"].is_string());
  EXPECT_NE(replay.second["Recommend"].get<std::string>().find("SignatureNonceUsed"), std::string::npos);
  // A tampered parameter breaks the signature.
  http::Request tampered = Crafted("GetVideoInfo", {{"VideoId", ids_.full}});
  tampered.url.replace(tampered.url.find(ids_.full), ids_.full.size(), ids_.audio);
  EXPECT_EQ(env_->Send(tampered).second["Code"], "SignatureDoesNotMatch");
}

TEST_F(EmulatorApiTest, InjectedApiFaults) {
  env_->Control("POST", "/faults", {{"target", "api"}, {"operation", "GetVideoInfo"}, {"kind", "error"},
                                    {"code", "ServiceUnavailable"}, {"status", 503}, {"count", 1}});
  Error e = env_->CallError("GetVideoInfo", {{"VideoId", ids_.full}});
  EXPECT_EQ(e.service_code, "ServiceUnavailable");
  EXPECT_EQ(e.http_status, 503);
  EXPECT_EQ(e.code, ErrorCode::kUnavailable);
  env_->Call("GetVideoInfo", {{"VideoId", ids_.full}});  // count exhausted
  env_->Control("POST", "/faults", {{"target", "api"}, {"kind", "throttle"}, {"count", 1}});
  Error t = env_->CallError("GetCategories");
  EXPECT_EQ(t.service_code, "Throttling.User");
  EXPECT_EQ(t.code, ErrorCode::kThrottled);
  json counters = env_->Control("GET", "/counters");
  EXPECT_EQ(counters["api"]["calls"]["GetVideoInfo"], 2);
  EXPECT_EQ(counters["api"]["errors"]["Throttling.User"], 1);
}

TEST_F(EmulatorApiTest, GetPostV3AndXml) {
  // GET and POST forms of V2.
  EXPECT_EQ(env_->Send(Crafted("GetVideoList", {{"PageSize", "1"}}, 0, "", "GET")).first, 200);
  EXPECT_EQ(env_->Send(Crafted("GetVideoList", {{"PageSize", "1"}}, 0, "", "POST")).first, 200);
  // V3.
  vod::RequestSpec s;
  s.endpoint = env_->emulator().api_url();
  s.action = "GetVideoInfo";
  s.params = {{"VideoId", ids_.full}};
  s.credentials = env_->credentials();
  s.signature = vod::SignatureVersion::kV3;
  s.timestamp = env_->emulator().Now();
  s.nonce = str::RandomUuid();
  auto ok = env_->Send(vod::BuildSignedRequest(s));
  EXPECT_EQ(ok.first, 200);
  EXPECT_EQ(ok.second["Video"]["VideoId"], ids_.full);
  s.nonce = str::RandomUuid();
  s.credentials.access_key_secret = "wrong";
  EXPECT_EQ(env_->Send(vod::BuildSignedRequest(s)).second["Code"], "SignatureDoesNotMatch");
  // Without Format the API answers XML (its documented default).
  auth::RpcParams p = {{"Action", "GetVideoInfo"},      {"VideoId", ids_.full},
                       {"Version", "2017-03-21"},       {"AccessKeyId", env_->credentials().access_key_id},
                       {"SignatureMethod", "HMAC-SHA1"}, {"SignatureVersion", "1.0"},
                       {"SignatureNonce", str::RandomUuid()},
                       {"Timestamp", timefmt::FormatIso8601(env_->emulator().Now())}};
  auth::RpcV2Sign("GET", env_->credentials().access_key_secret, p);
  http::Request req;
  req.url = env_->emulator().api_url() + "/?" + auth::CanonicalizedQuery(p);
  auto r = env_->http().Send(req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(str::StartsWith(r->body, "<?xml"));
  EXPECT_NE(r->body.find("<VideoId>" + ids_.full + "</VideoId>"), std::string::npos);
}

TEST_F(EmulatorApiTest, StsCredentials) {
  json c = env_->Control("POST", "/sts", {{"duration", 600}});
  auth::Credentials sts{c["AccessKeyId"], c["AccessKeySecret"], c["SecurityToken"], std::nullopt, "sts"};
  ASSERT_TRUE(str::StartsWith(sts.access_key_id, "STS."));
  auto call = [this](const auth::Credentials& cr) {
    vod::RequestSpec s;
    s.endpoint = env_->emulator().api_url();
    s.action = "GetVideoList";
    s.credentials = cr;
    s.timestamp = env_->emulator().Now();
    s.nonce = str::RandomUuid();
    return env_->Send(vod::BuildSignedRequest(s));
  };
  EXPECT_EQ(call(sts).first, 200);
  auth::Credentials no_token = sts;
  no_token.security_token.clear();
  EXPECT_EQ(call(no_token).second["Code"], "MissingSecurityToken");
  json other = env_->Control("POST", "/sts", {{"duration", 600}});
  auth::Credentials mismatched = sts;
  mismatched.security_token = other["SecurityToken"];
  EXPECT_EQ(call(mismatched).second["Code"], "InvalidSecurityToken.MismatchWithAccessKey");
  auth::Credentials garbage = sts;
  garbage.security_token = "CAISgarbage";
  EXPECT_EQ(call(garbage).second["Code"], "InvalidSecurityToken.Malformed");
  json expired = env_->Control("POST", "/sts", {{"duration", -5}});
  auth::Credentials old{expired["AccessKeyId"], expired["AccessKeySecret"], expired["SecurityToken"],
                        std::nullopt, "sts"};
  EXPECT_EQ(call(old).second["Code"], "InvalidSecurityToken.Expired");
}

TEST(EmulatorThrottleTest, DocumentedQpsIsEnforced) {
  emu::SyntheticOptions so;
  so.videos = 10;
  emu::EmulatorOptions o;
  o.qps_scale = 0.1;  // SearchMedia: 5 per second, bucket of 5
  EmulatorEnv env(emu::MakeSyntheticLibrary(so), o);
  int ok = 0, throttled = 0;
  for (int i = 0; i < 12; ++i) {
    auto r = env.rpc().Call("SearchMedia", {});
    if (r.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(r.error().service_code, "Throttling.User");
      EXPECT_EQ(r.error().http_status, 400);
      ++throttled;
    }
  }
  // A burst of 12 against a bucket of 5 refilling at 5/s: the first 5 pass,
  // and only a burst slower than 600 ms could let more than 8 through.
  EXPECT_GE(ok, 5);
  EXPECT_LE(ok, 8);
  EXPECT_EQ(ok + throttled, 12);
}

}  // namespace
}  // namespace vodfs::testing
