// The emulator's library changing while it runs (POST /library/changes),
// through real HTTP (libcurl): added, modified and deleted media and images
// as every API operation and both origins see them, exact SearchMedia
// Totals of time ranges, ScrollToken traversals across changes, refused
// change requests, and a 2,000,000-video library.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "emulator/library.h"
#include "emulator/library_changes.h"
#include "emulator/match.h"
#include "support/emulator_env.h"
#include "support/temp_dir.h"
#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"

namespace vodfs::testing {
namespace {

using nlohmann::json;

constexpr int64_t kBase = 1704067200;  // 2024-01-01T00:00:00Z, SyntheticOptions::base_time

std::string Iso(int64_t t) { return timefmt::FormatIso8601(t); }
int64_t Time(const json& v) { return *timefmt::ParseIso8601(v.get<std::string>()); }

std::string Synthetic(const std::string& key, uint64_t offset, size_t len) {
  std::string out(len, '\0');
  emu::FillSynthetic(emu::ChangeObjectSeed(key), offset, out.data(), len);
  return out;
}

// A live medium or image as the tests expect it.
struct Item {
  int64_t ct = 0, mt = 0;
  std::string id;
  friend bool operator<(const Item& a, const Item& b) {
    return std::tie(a.ct, a.id) < std::tie(b.ct, b.id);
  }
};

// Helpers shared by the fixtures.
class ChangesEnv {
 public:
  explicit ChangesEnv(std::unique_ptr<emu::Library> lib) {
    emu::EmulatorOptions o;
    o.qps_scale = 0;
    env_ = std::make_unique<EmulatorEnv>(std::move(lib), o);
  }
  EmulatorEnv& env() { return *env_; }

  // A change the emulator must accept; the ids it reports.
  std::vector<std::string> Change(const json& change) {
    json r = env_->Control("POST", "/library/changes", change);
    std::vector<std::string> ids;
    for (const auto& id : r["ids"]) ids.push_back(id.get<std::string>());
    return ids;
  }
  // A control request by hand: status and body.
  std::pair<int, json> Raw(const std::string& method, const std::string& path,
                           const std::string& body) {
    http::Request req;
    req.method = method;
    req.url = env_->emulator().control_url() + path;
    req.body = body;
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    return env_->Send(req);
  }
  json Search(vod::Params p) { return env_->Call("SearchMedia", p); }
  int64_t Total(const std::string& match, const std::string& type = "video") {
    vod::Params p = {{"SearchType", type}, {"PageSize", "1"}};
    if (!match.empty()) p["Match"] = match;
    return Search(p)["Total"].get<int64_t>();
  }
  // Every item of a ScrollToken traversal (video or audio) with `match`.
  std::vector<Item> Traverse(const std::string& match, bool desc,
                             const std::string& type = "video") {
    std::vector<Item> out;
    std::string token;
    for (int page = 1;; ++page) {
      vod::Params p = {{"SearchType", type},
                       {"PageNo", std::to_string(page)},
                       {"PageSize", "100"},
                       {"SortBy", desc ? "CreationTime:Desc" : "CreationTime:Asc"},
                       {"Fields", "ModificationTime"}};
      if (!match.empty()) p["Match"] = match;
      if (!token.empty()) p["ScrollToken"] = token;
      json j = Search(p);
      token = j["ScrollToken"];
      if (j["MediaList"].empty()) break;
      for (const auto& m : j["MediaList"]) {
        const json& v = m[type == "audio" ? "Audio" : "Video"];
        out.push_back({Time(m["CreationTime"]), Time(v["ModificationTime"]), m["MediaId"]});
      }
      // No test library needs more pages than this: a traversal that does
      // is not moving forward.
      if (page > 1000) {
        ADD_FAILURE() << "traversal of '" << match << "' does not end";
        break;
      }
    }
    return out;
  }
  std::string SourceKey(const std::string& id) {
    return env_->Control("GET", "/media?id=" + id)["source_key"];
  }

 private:
  std::unique_ptr<EmulatorEnv> env_;
};

// 300 videos (video i created at kBase + 37 i, modified 600 s later), 40
// images (kBase + 91 i, modified 60 s later), no audio.
class ChangesTest : public ::testing::Test, public ChangesEnv {
 protected:
  ChangesTest() : ChangesEnv(MakeLibrary()) {}
  static std::unique_ptr<emu::Library> MakeLibrary() {
    emu::SyntheticOptions so;
    so.videos = 300;
    so.images = 40;
    so.video_size = 256 * 1024;
    return emu::MakeSyntheticLibrary(so);
  }
  const emu::Library& lib() { return env().emulator().library(); }
  std::string VideoId(size_t i) { return lib().MediaIdAt(i); }
  // The live videos as the test expects them, before any change.
  std::set<Item> BaseVideos() {
    std::set<Item> out;
    for (size_t i = 0; i < 300; ++i)
      out.insert({kBase + 37 * static_cast<int64_t>(i), kBase + 37 * static_cast<int64_t>(i) + 600,
                  VideoId(i)});
    return out;
  }
  void TraverseWhileChanging(bool desc);
};

TEST_F(ChangesTest, AddedVideosAreServedCompletely) {
  const int64_t t = kBase + 600;  // between video 16 (kBase+592) and video 17 (kBase+629)
  auto ids = Change({{"op", "add"},
                     {"kind", "media"},
                     {"count", 3},
                     {"title", "Fresh"},
                     {"creation_time", Iso(t)}});
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 3u);
  for (const auto& id : ids) {
    EXPECT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  }
  EXPECT_EQ(Total(""), 303);

  // In creation order: after video 16, before video 17, among themselves by id.
  json page = Search({{"SortBy", "CreationTime:Asc"}, {"PageSize", "25"}});
  std::vector<std::string> sorted_ids = ids;
  std::sort(sorted_ids.begin(), sorted_ids.end());
  EXPECT_EQ(page["MediaList"][16]["MediaId"], VideoId(16));
  for (size_t k = 0; k < 3; ++k) EXPECT_EQ(page["MediaList"][17 + k]["MediaId"], sorted_ids[k]);
  EXPECT_EQ(page["MediaList"][20]["MediaId"], VideoId(17));

  json info = env().Call("GetVideoInfo", {{"VideoId", ids[1]}});
  EXPECT_EQ(info["Video"]["Title"], "Fresh 2");
  EXPECT_EQ(info["Video"]["CreationTime"], Iso(t));
  EXPECT_EQ(info["Video"]["ModificationTime"], Iso(t));
  EXPECT_EQ(info["Video"]["Status"], "Normal");
  EXPECT_EQ(info["Video"]["Snapshots"]["Snapshot"].size(), 3u);
  json infos = env().Call("GetVideoInfos", {{"VideoIds", ids[0] + "," + ids[2]}});
  EXPECT_EQ(infos["VideoList"].size(), 2u);
  EXPECT_EQ(infos["NonExistVideoIds"].size(), 0u);

  // The source: its bytes are FillSynthetic's for the key's seed.
  json mz = env().Call("GetMezzanineInfo", {{"VideoId", ids[0]}});
  EXPECT_EQ(mz["Mezzanine"]["Size"], 1 << 20);
  const std::string key = SourceKey(ids[0]);
  http::Response whole = env().Get(mz["Mezzanine"]["FileURL"].get<std::string>());
  ASSERT_EQ(whole.status, 200);
  EXPECT_EQ(whole.body, Synthetic(key, 0, 1 << 20));
  http::Response part = env().Get(mz["Mezzanine"]["FileURL"].get<std::string>(), "bytes=1000-1999");
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.Header("Content-Range"), "bytes 1000-1999/1048576");
  EXPECT_EQ(part.body, Synthetic(key, 1000, 1000));

  // Streams like synthetic media: LD and HD mp4, over OSS and the CDN.
  json pi = env().Call("GetPlayInfo", {{"VideoId", ids[0]}, {"ResultType", "Multiple"}});
  const json& streams = pi["PlayInfoList"]["PlayInfo"];
  ASSERT_EQ(streams.size(), 2u);
  EXPECT_EQ(streams[0]["Definition"], "LD");
  EXPECT_EQ(streams[1]["Definition"], "HD");
  json media = env().Control("GET", "/media?id=" + ids[0]);
  for (size_t k = 0; k < 2; ++k) {
    const std::string skey = media["streams"][k]["key"];
    const uint64_t size = streams[k]["Size"];
    EXPECT_EQ(size, media["streams"][k]["size"].get<uint64_t>());
    http::Response r = env().Get(streams[k]["PlayURL"].get<std::string>(), "bytes=10-40");
    EXPECT_EQ(r.status, 206);
    EXPECT_EQ(r.Header("Content-Range"), "bytes 10-40/" + std::to_string(size));
    EXPECT_EQ(r.body, Synthetic(skey, 10, 31));
  }
  json cdn =
      env().Call("GetPlayInfo", {{"VideoId", ids[0]}, {"OutputType", "cdn"}, {"Definition", "HD"}});
  EXPECT_EQ(env()
                .Get(cdn["PlayInfoList"]["PlayInfo"][0]["PlayURL"].get<std::string>(), "bytes=0-0")
                .status,
            206);

  // Cover, snapshots and a sprite.
  json cover = env().Call("ListSnapshots", {{"VideoId", ids[0]}});
  ASSERT_EQ(cover["MediaSnapshot"]["Total"], 1);
  json normal =
      env().Call("ListSnapshots", {{"VideoId", ids[0]}, {"SnapshotType", "NormalSnapshot"}});
  ASSERT_EQ(normal["MediaSnapshot"]["Total"], 3);
  json sprite =
      env().Call("ListSnapshots", {{"VideoId", ids[0]}, {"SnapshotType", "SpriteSnapshot"}});
  ASSERT_EQ(sprite["MediaSnapshot"]["Total"], 1);
  for (const json* j : {&cover, &normal, &sprite}) {
    const std::string url = (*j)["MediaSnapshot"]["Snapshots"]["Snapshot"][0]["Url"];
    http::Response r = env().Get(url);
    EXPECT_EQ(r.status, 200) << url;
    EXPECT_GT(r.body.size(), 16000u);
  }

  // One medium: no title suffix; defaults to now.
  const int64_t before = env().emulator().Now();
  auto one = Change({{"op", "add"}, {"kind", "media"}, {"title", "Single"}});
  const int64_t after = env().emulator().Now();
  json single = env().Call("GetVideoInfo", {{"VideoId", one.at(0)}});
  EXPECT_EQ(single["Video"]["Title"], "Single");
  EXPECT_GE(Time(single["Video"]["CreationTime"]), before);
  EXPECT_LE(Time(single["Video"]["CreationTime"]), after);
  // Newest first by default.
  EXPECT_EQ(Search({})["MediaList"][0]["MediaId"], one[0]);
}

TEST_F(ChangesTest, AddedAudioAndHlsStreams) {
  auto audio = Change({{"op", "add"}, {"kind", "media"}, {"type", "audio"}, {"source_size", 5000}});
  EXPECT_EQ(Total("", "audio"), 1);
  EXPECT_EQ(Total(""), 300);
  json apl = env().Call("GetPlayInfo", {{"VideoId", audio.at(0)}});
  EXPECT_EQ(apl["PlayInfoList"]["PlayInfo"][0]["Definition"], "SQ");
  EXPECT_EQ(apl["PlayInfoList"]["PlayInfo"][0]["StreamType"], "audio");
  EXPECT_EQ(apl["VideoBase"]["MediaType"], "audio");

  auto hls = Change(
      {{"op", "add"},
       {"kind", "media"},
       {"snapshots", 0},
       {"streams", json::array({{{"definition", "SD"}, {"format", "m3u8"}, {"size", 40002}}})}});
  json pi = env().Call("GetPlayInfo", {{"VideoId", hls.at(0)}, {"Formats", "m3u8"}});
  const json& s = pi["PlayInfoList"]["PlayInfo"][0];
  EXPECT_EQ(s["Size"], 40002);
  http::Response playlist = env().Get(s["PlayURL"].get<std::string>());
  ASSERT_EQ(playlist.status, 200);
  EXPECT_NE(playlist.body.find("#EXT-X-ENDLIST"), std::string::npos);
  json media = env().Control("GET", "/media?id=" + hls[0]);
  const auto& segments = media["streams"][0]["segments"];
  ASSERT_EQ(segments.size(), 4u);
  uint64_t sum = 0;
  for (const auto& seg : segments) {
    json asset = env().Control("GET", "/asset?key=" + str::PercentEncode(seg.get<std::string>()));
    sum += asset["size"].get<uint64_t>();
    EXPECT_NE(
        playlist.body.find(seg.get<std::string>().substr(seg.get<std::string>().rfind('/') + 1)),
        std::string::npos);
  }
  EXPECT_EQ(sum, 40002u);
  EXPECT_EQ(
      env().Call("ListSnapshots", {{"VideoId", hls[0]},
                                   {"SnapshotType", "NormalSnapshot"}})["MediaSnapshot"]["Total"],
      0);
}

TEST_F(ChangesTest, ModifiedVideosShowTheirNewFields) {
  const std::string id = VideoId(5);
  const std::string source_key = SourceKey(id);
  const std::string source_etag =
      env().Control("GET", "/asset?key=" + str::PercentEncode(source_key))["etag"];
  json before = env().Call("GetPlayInfo", {{"VideoId", id}, {"Definition", "HD"}});
  const std::string old_hd = before["PlayInfoList"]["PlayInfo"][0]["PlayURL"];

  auto ids = Change({{"op", "modify"},
                     {"kind", "media"},
                     {"ids", json::array({id})},
                     {"title", "Renamed"},
                     {"description", "new words"},
                     {"tags", "x,y"},
                     {"cate_id", 1011},
                     {"storage_class", "IA"},
                     {"modification_time", "2030-01-01T00:00:00Z"}});
  EXPECT_EQ(ids, std::vector<std::string>{id});
  json v = env().Call("GetVideoInfo", {{"VideoId", id}})["Video"];
  EXPECT_EQ(v["Title"], "Renamed");
  EXPECT_EQ(v["Description"], "new words");
  EXPECT_EQ(v["Tags"], "x,y");
  EXPECT_EQ(v["CateId"], 1011);
  EXPECT_EQ(v["StorageClass"], "IA");
  EXPECT_EQ(v["ModificationTime"], "2030-01-01T00:00:00Z");
  EXPECT_EQ(v["CreationTime"], Iso(kBase + 37 * 5));
  // Metadata changes leave the objects alone.
  EXPECT_EQ(env().Control("GET", "/asset?key=" + str::PercentEncode(source_key))["etag"],
            source_etag);
  EXPECT_EQ(env().Get(old_hd, "bytes=0-0").status, 206);
  json listed = Search({{"Match", "VideoId = '" + id + "'"}, {"Fields", "Title,ModificationTime"}});
  ASSERT_EQ(listed["MediaList"].size(), 1u);
  EXPECT_EQ(listed["MediaList"][0]["Video"]["Title"], "Renamed");
  EXPECT_EQ(listed["MediaList"][0]["Video"]["ModificationTime"], "2030-01-01T00:00:00Z");
  EXPECT_EQ(env().Call("GetVideoInfos", {{"VideoIds", id}})["VideoList"][0]["Title"], "Renamed");
  EXPECT_EQ(env().Control("GET", "/media?id=" + id)["title"], "Renamed");
  EXPECT_EQ(Total(""), 300);

  // Streams replaced: the old ones are gone from the API and the origins.
  const int64_t now = env().emulator().Now();
  Change({{"op", "modify"},
          {"kind", "media"},
          {"ids", json::array({id})},
          {"streams", json::array({{{"definition", "SD"}, {"format", "mp4"}, {"size", 5000}}})}});
  json pi = env().Call("GetPlayInfo", {{"VideoId", id}, {"ResultType", "Multiple"}});
  ASSERT_EQ(pi["PlayInfoList"]["PlayInfo"].size(), 1u);
  const json& sd = pi["PlayInfoList"]["PlayInfo"][0];
  EXPECT_EQ(sd["Definition"], "SD");
  EXPECT_EQ(sd["Size"], 5000);
  const std::string sd_key = env().Control("GET", "/media?id=" + id)["streams"][0]["key"];
  EXPECT_EQ(env().Get(sd["PlayURL"].get<std::string>()).body, Synthetic(sd_key, 0, 5000));
  EXPECT_EQ(env().Get(old_hd, "bytes=0-0").status, 404);
  // Every modification sets ModificationTime, to now unless given.
  const int64_t mt =
      Time(env().Call("GetVideoInfo", {{"VideoId", id}})["Video"]["ModificationTime"]);
  EXPECT_GE(mt, now);
  EXPECT_LE(mt, env().emulator().Now());

  Change({{"op", "modify"},
          {"kind", "media"},
          {"ids", json::array({id})},
          {"add_streams", json::array({{{"definition", "HD"}, {"format", "flv"}}})}});
  json two = env().Call("GetPlayInfo", {{"VideoId", id}, {"ResultType", "Multiple"}});
  ASSERT_EQ(two["PlayInfoList"]["PlayInfo"].size(), 2u);
  EXPECT_EQ(two["PlayInfoList"]["PlayInfo"][1]["Format"], "flv");
  EXPECT_EQ(env()
                .Get(two["PlayInfoList"]["PlayInfo"][1]["PlayURL"].get<std::string>(), "bytes=0-9")
                .status,
            206);

  // Snapshots: more are made, fewer are cut.
  Change({{"op", "modify"}, {"kind", "media"}, {"ids", json::array({id})}, {"snapshots", 5}});
  json five = env().Call("ListSnapshots", {{"VideoId", id}, {"SnapshotType", "NormalSnapshot"}});
  ASSERT_EQ(five["MediaSnapshot"]["Total"], 5);
  EXPECT_EQ(
      env().Get(five["MediaSnapshot"]["Snapshots"]["Snapshot"][4]["Url"].get<std::string>()).status,
      200);
  EXPECT_EQ(
      env().Get(five["MediaSnapshot"]["Snapshots"]["Snapshot"][0]["Url"].get<std::string>()).status,
      200);
  Change({{"op", "modify"}, {"kind", "media"}, {"ids", json::array({id})}, {"snapshots", 1}});
  EXPECT_EQ(
      env().Call("ListSnapshots",
                 {{"VideoId", id}, {"SnapshotType", "NormalSnapshot"}})["MediaSnapshot"]["Total"],
      1);
  EXPECT_EQ(
      env().Get(five["MediaSnapshot"]["Snapshots"]["Snapshot"][4]["Url"].get<std::string>()).status,
      404);

  // A new source size is a new object.
  Change({{"op", "modify"}, {"kind", "media"}, {"ids", json::array({id})}, {"source_size", 12345}});
  json mz = env().Call("GetMezzanineInfo", {{"VideoId", id}});
  EXPECT_EQ(mz["Mezzanine"]["Size"], 12345);
  http::Response src =
      env().Get(mz["Mezzanine"]["FileURL"].get<std::string>(), "bytes=12340-12344");
  EXPECT_EQ(src.Header("Content-Range"), "bytes 12340-12344/12345");
  EXPECT_EQ(src.body, Synthetic(source_key, 12340, 5));
  EXPECT_NE(src.Header("ETag"), source_etag);

  // A status the service does not play.
  Change({{"op", "modify"}, {"kind", "media"}, {"ids", json::array({id})}, {"status", "Blocked"}});
  EXPECT_EQ(env().CallError("GetPlayInfo", {{"VideoId", id}}).service_code,
            "Forbidden.IllegalStatus");
  EXPECT_EQ(env().Call("GetVideoInfo", {{"VideoId", id}})["Video"]["Status"], "Blocked");
}

TEST_F(ChangesTest, DeletedVideosAreGoneEverywhere) {
  const std::string id = VideoId(10);
  json pi = env().Call("GetPlayInfo", {{"VideoId", id}, {"ResultType", "Multiple"}});
  json mz = env().Call("GetMezzanineInfo", {{"VideoId", id}});
  json oss_mz = env().Call("GetMezzanineInfo", {{"VideoId", id}, {"OutputType", "oss"}});
  const std::string cover = env().Call("GetVideoInfo", {{"VideoId", id}})["Video"]["CoverURL"];
  const std::string source_key = SourceKey(id);
  EXPECT_EQ(env().Get(cover).status, 200);

  EXPECT_EQ(Change({{"op", "delete"}, {"kind", "media"}, {"ids", json::array({id})}}),
            std::vector<std::string>{id});
  for (const char* op : {"GetVideoInfo", "GetMezzanineInfo", "GetPlayInfo", "ListSnapshots"}) {
    Error e = env().CallError(op, {{"VideoId", id}});
    EXPECT_EQ(e.service_code, "InvalidVideo.NotFound") << op;
    EXPECT_EQ(e.http_status, 404) << op;
  }
  json infos = env().Call("GetVideoInfos", {{"VideoIds", id + "," + VideoId(11)}});
  EXPECT_EQ(infos["VideoList"].size(), 1u);
  EXPECT_EQ(infos["NonExistVideoIds"], json::array({id}));
  for (const auto& s : pi["PlayInfoList"]["PlayInfo"]) {
    EXPECT_EQ(env().Get(s["PlayURL"].get<std::string>()).status, 404);
  }
  EXPECT_EQ(env().Get(mz["Mezzanine"]["FileURL"].get<std::string>()).status, 404);
  EXPECT_EQ(env().Get(oss_mz["Mezzanine"]["FileURL"].get<std::string>()).status, 404);
  EXPECT_EQ(env().Get(cover).status, 404);
  EXPECT_EQ(Raw("GET", "/asset?key=" + str::PercentEncode(source_key), "").first, 404);
  EXPECT_EQ(Raw("GET", "/media?id=" + id, "").first, 404);
  EXPECT_EQ(Raw("GET", "/media?index=10", "").first, 404);
  EXPECT_EQ(env().Control("GET", "/media?index=11")["id"], VideoId(11));
  EXPECT_EQ(Total(""), 299);
  EXPECT_EQ(Search({{"Match", "VideoId = '" + id + "'"}})["Total"], 0);
  // A deleted medium cannot be changed again.
  auto again = Raw("POST", "/library/changes",
                   json({{"op", "delete"}, {"kind", "media"}, {"ids", json::array({id})}}).dump());
  EXPECT_EQ(again.first, 400);
  EXPECT_EQ(again.second["error"], "unknown media id " + id);

  // An added medium deleted again leaves no trace.
  auto added = Change({{"op", "add"}, {"kind", "media"}});
  const std::string url =
      env().Call("GetMezzanineInfo", {{"VideoId", added.at(0)}})["Mezzanine"]["FileURL"];
  EXPECT_EQ(env().Get(url, "bytes=0-0").status, 206);
  EXPECT_EQ(Total(""), 300);
  Change({{"op", "delete"}, {"kind", "media"}, {"ids", added}});
  EXPECT_EQ(Total(""), 299);
  EXPECT_EQ(env().Get(url, "bytes=0-0").status, 404);
  EXPECT_EQ(env().CallError("GetVideoInfo", {{"VideoId", added[0]}}).service_code,
            "InvalidVideo.NotFound");
}

TEST_F(ChangesTest, TimeRangeTotalsAreExact) {
  std::set<Item> live = BaseVideos();
  // Ranges with ends exactly on video times: video 10 is at kBase+370, video 20 at kBase+740.
  const std::string a = Iso(kBase + 370), b = Iso(kBase + 740);
  struct Case {
    std::string match;
    std::function<bool(const Item&)> holds;
  };
  const std::vector<Case> cases = {
      {"CreationTime = ['" + a + "','" + b + "']",
       [](const Item& i) { return i.ct >= kBase + 370 && i.ct <= kBase + 740; }},
      {"CreationTime = ('" + a + "','" + b + "')",
       [](const Item& i) { return i.ct > kBase + 370 && i.ct < kBase + 740; }},
      {"CreationTime = ['" + a + "','" + b + "')",
       [](const Item& i) { return i.ct >= kBase + 370 && i.ct < kBase + 740; }},
      {"CreationTime = ('" + a + "','" + b + "']",
       [](const Item& i) { return i.ct > kBase + 370 && i.ct <= kBase + 740; }},
      // Epoch milliseconds, with ends between whole seconds.
      {"CreationTime = [" + std::to_string((kBase + 370) * 1000 + 1) + "," +
           std::to_string((kBase + 740) * 1000 + 999) + "]",
       [](const Item& i) { return i.ct > kBase + 370 && i.ct <= kBase + 740; }},
      {"ModificationTime = ('" + Iso(kBase + 600 + 370) + "',]",
       [](const Item& i) { return i.mt > kBase + 970; }},
      {"ModificationTime = [,'" + Iso(kBase + 600 + 3700) + "')",
       [](const Item& i) { return i.mt < kBase + 4300; }},
      {"ModificationTime = ['2030-01-01T00:00:00Z','2030-01-02T00:00:00Z')",
       [](const Item& i) { return i.mt >= 1893456000 && i.mt < 1893456000 + 86400; }},
      {"CreationTime = ['" + a + "','" + Iso(kBase + 37 * 200) + "') and ModificationTime = ['" +
           Iso(kBase + 37 * 100) + "','2030-01-01T12:00:00Z']",
       [](const Item& i) {
         return i.ct >= kBase + 370 && i.ct < kBase + 7400 && i.mt >= kBase + 3700 &&
                i.mt <= 1893456000 + 43200;
       }},
      {"(CreationTime = ['" + a + "','" + b + "'] and CreationTime = ('" + Iso(kBase + 500) +
           "',))",
       [](const Item& i) { return i.ct > kBase + 500 && i.ct <= kBase + 740; }},
  };
  auto check = [&](const std::string& when) {
    for (const auto& c : cases) {
      std::vector<Item> expect;
      for (const auto& i : live) {
        if (c.holds(i)) expect.push_back(i);
      }
      EXPECT_EQ(Total(c.match), static_cast<int64_t>(expect.size())) << when << ": " << c.match;
      std::vector<Item> got = Traverse(c.match, false);
      ASSERT_EQ(got.size(), expect.size()) << when << ": " << c.match;
      for (size_t k = 0; k < got.size(); ++k) {
        EXPECT_EQ(got[k].id, expect[k].id) << when << ": " << c.match << " #" << k;
        EXPECT_EQ(got[k].mt, expect[k].mt) << when << ": " << c.match << " #" << k;
      }
      std::vector<Item> desc = Traverse(c.match, true);
      std::reverse(desc.begin(), desc.end());
      EXPECT_EQ(desc.size(), expect.size());
      for (size_t k = 0; k < std::min(desc.size(), expect.size()); ++k)
        EXPECT_EQ(desc[k].id, expect[k].id);
    }
  };
  check("base");

  // Added inside and on the ends of the ranges (same second as a video).
  for (int64_t t : {kBase + 370, kBase + 500, kBase + 740, kBase + 741}) {
    for (const auto& id :
         Change({{"op", "add"}, {"kind", "media"}, {"count", 2}, {"creation_time", Iso(t)}})) {
      live.insert({t, t, id});
    }
  }
  // Modified: some inside the creation ranges, to 2030.
  const int64_t t2030 = 1893456000;
  std::vector<std::string> modify = {VideoId(10), VideoId(12), VideoId(20), VideoId(150)};
  Change({{"op", "modify"},
          {"kind", "media"},
          {"ids", modify},
          {"modification_time", "2030-01-01T06:00:00Z"}});
  for (const auto& id : modify) {
    auto it = std::find_if(live.begin(), live.end(), [&](const Item& i) { return i.id == id; });
    Item changed = *it;
    changed.mt = t2030 + 6 * 3600;
    live.erase(it);
    live.insert(changed);
  }
  check("after adds and modifications");

  // Deleted: a base video on an end, a modified one, an added one.
  std::vector<std::string> gone = {VideoId(20), VideoId(12), std::prev(live.end())->id};
  gone.push_back(std::find_if(live.begin(), live.end(), [](const Item& i) {
                   return i.ct == kBase + 500;
                 })->id);
  Change({{"op", "delete"}, {"kind", "media"}, {"ids", gone}});
  for (const auto& id : gone) {
    live.erase(std::find_if(live.begin(), live.end(), [&](const Item& i) { return i.id == id; }));
  }
  check("after deletions");
  EXPECT_EQ(Total(""), static_cast<int64_t>(live.size()));

  // A Match that says more than times is tested on the candidates.
  Change({{"op", "modify"},
          {"kind", "media"},
          {"ids", json::array({VideoId(15)})},
          {"title", "Odd one"}});
  EXPECT_EQ(Total("CreationTime = ['" + a + "','" + b + "'] and Title = 'odd'"), 1);
  EXPECT_EQ(Total("CreationTime = ['" + a + "','" + b + "'] and Title = 'Clip'"), 11 - 3);
  EXPECT_EQ(Total("(CreationTime = ['" + a + "','" + b + "'] or Title = 'odd')"),
            static_cast<int64_t>(std::count_if(live.begin(), live.end(), [](const Item& i) {
              return i.ct >= kBase + 370 && i.ct <= kBase + 740;
            })));
}

TEST_F(ChangesTest, ImagesChange) {
  EXPECT_EQ(Total("", "image"), 40);
  json first = Search({{"SearchType", "image"},
                       {"SortBy", "CreationTime:Asc"},
                       {"Fields", "ModificationTime,Title"}});
  EXPECT_EQ(first["MediaList"][0]["Image"]["ModificationTime"], Iso(kBase + 60));
  EXPECT_EQ(first["MediaList"][1]["Image"]["CreationTime"], Iso(kBase + 91));
  EXPECT_EQ(
      Total("CreationTime = ['" + Iso(kBase + 91) + "','" + Iso(kBase + 91 * 5) + "')", "image"),
      4);
  EXPECT_EQ(Total("ModificationTime = ('" + Iso(kBase + 91 + 60) + "','" +
                      Iso(kBase + 91 * 5 + 60) + "']",
                  "image"),
            4);

  auto added = Change({{"op", "add"},
                       {"kind", "image"},
                       {"count", 2},
                       {"title", "Poster"},
                       {"creation_time", Iso(kBase + 100)},
                       {"source_size", 3000}});
  ASSERT_EQ(added.size(), 2u);
  EXPECT_EQ(Total("", "image"), 42);
  EXPECT_EQ(
      Total("CreationTime = ['" + Iso(kBase + 91) + "','" + Iso(kBase + 91 * 5) + "')", "image"),
      6);
  json info = env().Call("GetImageInfo", {{"ImageId", added[1]}})["ImageInfo"];
  EXPECT_EQ(info["Title"], "Poster 2");
  EXPECT_EQ(info["Mezzanine"]["FileSize"], "3000");
  const std::string key = "image/default/" + added[1] + ".jpg";
  EXPECT_EQ(env().Get(info["URL"].get<std::string>()).body, Synthetic(key, 0, 3000));
  EXPECT_EQ(env().Get(info["Mezzanine"]["FileURL"].get<std::string>()).body,
            Synthetic(key, 0, 3000));

  const std::string base_id = first["MediaList"][3]["MediaId"];
  Change({{"op", "modify"},
          {"kind", "image"},
          {"ids", json::array({base_id})},
          {"title", "Retitled"},
          {"modification_time", "2030-01-01T00:00:00Z"}});
  json hit =
      Search({{"SearchType", "image"},
              {"Fields", "Title,ModificationTime"},
              {"Match", "ModificationTime = ['2030-01-01T00:00:00Z','2030-01-02T00:00:00Z')"}});
  ASSERT_EQ(hit["Total"], 1);
  EXPECT_EQ(hit["MediaList"][0]["MediaId"], base_id);
  EXPECT_EQ(hit["MediaList"][0]["Image"]["Title"], "Retitled");
  EXPECT_EQ(hit["MediaList"][0]["Image"]["ModificationTime"], "2030-01-01T00:00:00Z");
  EXPECT_EQ(env().Call("GetImageInfos", {{"ImageIds", base_id}})["ImageInfo"][0]["Title"],
            "Retitled");

  const std::string doomed = first["MediaList"][0]["MediaId"];
  const std::string doomed_url =
      env().Call("GetImageInfo", {{"ImageId", doomed}})["ImageInfo"]["URL"];
  EXPECT_EQ(env().Get(doomed_url).status, 200);
  Change({{"op", "delete"}, {"kind", "image"}, {"ids", json::array({doomed, added[0]})}});
  EXPECT_EQ(Total("", "image"), 40);
  EXPECT_EQ(env().CallError("GetImageInfo", {{"ImageId", doomed}}).service_code,
            "InvalidImage.NotFound");
  EXPECT_EQ(env().Call("GetImageInfos", {{"ImageIds", doomed + "," + base_id}})["NonExistImageIds"],
            json::array({doomed}));
  EXPECT_EQ(env().Get(doomed_url).status, 404);
  json images = env().Control("GET", "/images");
  EXPECT_EQ(images.size(), 40u);
  EXPECT_EQ(images[1]["id"], added[1]);  // kBase+100 sorts after image 1 (kBase+91)

  // Images page like the service: no ScrollToken, the first 5,000 only.
  const std::string token = first["ScrollToken"];
  Error e = env().CallError("SearchMedia",
                            {{"SearchType", "image"}, {"PageNo", "2"}, {"ScrollToken", token}});
  EXPECT_EQ(e.service_code, "InvalidParameter");
  EXPECT_NE(e.message.find("Full traversal supports video and audio only."), std::string::npos);
  json p2 = Search({{"SearchType", "image"},
                    {"SortBy", "CreationTime:Asc"},
                    {"PageNo", "2"},
                    {"PageSize", "20"}});
  EXPECT_EQ(p2["MediaList"].size(), 20u);
}

// A traversal's pages are what the library holds after the cursor at the
// time of each call: media added after the cursor appear once, media
// deleted before their turn never, nothing twice.
void ChangesTest::TraverseWhileChanging(bool desc) {
  ChangesTest* t = this;
  std::set<Item> live = t->BaseVideos();
  std::set<std::string> seen;
  std::string token;
  std::optional<Item> cursor;  // the last item returned
  const size_t page_size = 20;
  auto beyond = [&](const Item& i) { return !cursor || (desc ? i < *cursor : *cursor < i); };
  auto expected_page = [&]() {
    std::vector<std::string> out;
    if (desc) {
      for (auto it = live.rbegin(); it != live.rend() && out.size() < page_size; ++it) {
        if (beyond(*it)) out.push_back(it->id);
      }
    } else {
      for (auto it = live.begin(); it != live.end() && out.size() < page_size; ++it) {
        if (beyond(*it)) out.push_back(it->id);
      }
    }
    return out;
  };
  size_t added_after = 0;
  for (int page = 1; page < 100; ++page) {
    const std::vector<std::string> expect = expected_page();
    vod::Params p = {{"PageNo", std::to_string(page)},
                     {"PageSize", std::to_string(page_size)},
                     {"SortBy", desc ? "CreationTime:Desc" : "CreationTime:Asc"}};
    if (!token.empty()) p["ScrollToken"] = token;
    json j = t->Search(p);
    token = j["ScrollToken"];
    EXPECT_EQ(j["Total"].get<size_t>(), live.size());
    std::vector<std::string> got;
    for (const auto& m : j["MediaList"]) got.push_back(m["MediaId"]);
    ASSERT_EQ(got, expect) << "page " << page;
    if (got.empty()) break;
    for (const auto& id : got) EXPECT_TRUE(seen.insert(id).second) << "twice: " << id;
    cursor =
        *std::find_if(live.begin(), live.end(), [&](const Item& i) { return i.id == got.back(); });

    // Changes between the calls.
    // 1. The next item after the cursor and one further on are deleted.
    std::vector<std::string> gone;
    std::vector<Item> ahead;
    for (const auto& i : live) {
      if (beyond(i)) ahead.push_back(i);
    }
    if (desc) std::reverse(ahead.begin(), ahead.end());
    if (!ahead.empty()) gone.push_back(ahead[0].id);
    if (ahead.size() > 30) gone.push_back(ahead[30].id);
    // 2. An item already returned is deleted.
    gone.push_back(got[page_size / 2 < got.size() ? page_size / 2 : 0]);
    t->Change({{"op", "delete"}, {"kind", "media"}, {"ids", gone}});
    for (const auto& id : gone) {
      live.erase(std::find_if(live.begin(), live.end(), [&](const Item& i) { return i.id == id; }));
    }
    // 3. One medium is added after the cursor, one before it (behind the
    //    traversal: it must not appear).
    const int64_t after = cursor->ct + (desc ? -50 : 50),
                  behind = cursor->ct + (desc ? 5000 : -5000);
    for (int64_t ct : {after, behind}) {
      auto id = t->Change({{"op", "add"}, {"kind", "media"}, {"creation_time", Iso(ct)}}).at(0);
      live.insert({ct, ct, id});
    }
    ++added_after;
  }
  // Every item ahead of the cursor when it was added or present from the
  // start was seen (the page-by-page check above proves it); and the
  // traversal reached the end.
  EXPECT_GT(added_after, 10u);
  EXPECT_GT(seen.size(), 250u);
}

TEST_F(ChangesTest, ScrollTraversalStaysCompleteWhileMediaChangeDescending) {
  TraverseWhileChanging(true);
}

TEST_F(ChangesTest, ScrollTraversalStaysCompleteWhileMediaChangeAscending) {
  TraverseWhileChanging(false);
}

TEST_F(ChangesTest, SamePageAgainStartsAtItsFirstLiveRecord) {
  json p1 = Search({{"PageNo", "1"}, {"PageSize", "10"}});
  json p2 = Search({{"PageNo", "2"}, {"PageSize", "10"}, {"ScrollToken", p1["ScrollToken"]}});
  ASSERT_EQ(p2["MediaList"].size(), 10u);
  Change(
      {{"op", "delete"}, {"kind", "media"}, {"ids", json::array({p2["MediaList"][0]["MediaId"]})}});
  json again = Search({{"PageNo", "2"}, {"PageSize", "10"}, {"ScrollToken", p2["ScrollToken"]}});
  ASSERT_EQ(again["MediaList"].size(), 10u);
  EXPECT_EQ(again["MediaList"][0]["MediaId"], p2["MediaList"][1]["MediaId"]);
  EXPECT_EQ(again["MediaList"][8]["MediaId"], p2["MediaList"][9]["MediaId"]);
  json p3 = Search({{"PageNo", "3"}, {"PageSize", "10"}, {"ScrollToken", again["ScrollToken"]}});
  EXPECT_EQ(p3["MediaList"][0]["MediaId"], VideoId(299 - 21));
  // Skipping forward counts live records.
  json p5 = Search({{"PageNo", "5"}, {"PageSize", "10"}, {"ScrollToken", p3["ScrollToken"]}});
  EXPECT_EQ(p5["MediaList"][0]["MediaId"], VideoId(299 - 41));
}

TEST_F(ChangesTest, PlainPagingCountsChanges) {
  // Desc: the newest first; an added newest medium shifts every page by one.
  json before = Search({{"PageNo", "3"}, {"PageSize", "100"}});
  ASSERT_EQ(before["MediaList"].size(), 100u);
  auto id = Change({{"op", "add"}, {"kind", "media"}}).at(0);
  json after = Search({{"PageNo", "3"}, {"PageSize", "100"}});
  ASSERT_EQ(after["MediaList"].size(), 100u);
  EXPECT_EQ(after["MediaList"][1]["MediaId"], before["MediaList"][0]["MediaId"]);
  json list = env().Call("GetVideoList", {{"PageSize", "5"}});
  EXPECT_EQ(list["Total"], 301);
  EXPECT_EQ(list["VideoList"]["Video"][0]["VideoId"], id);
  Change({{"op", "delete"}, {"kind", "media"}, {"ids", json::array({VideoId(0), VideoId(1)})}});
  json asc = env().Call("GetVideoList", {{"PageSize", "2"}, {"SortBy", "CreationTime:Asc"}});
  EXPECT_EQ(asc["Total"], 299);
  EXPECT_EQ(asc["VideoList"]["Video"][0]["VideoId"], VideoId(2));
  json window =
      env().Call("GetVideoList", {{"StartTime", Iso(kBase)}, {"EndTime", Iso(kBase + 37 * 10)}});
  EXPECT_EQ(window["Total"], 8);
}

// API calls made while changes are applied see each change whole: a bulk
// add of 10 is never seen in part, and a page is always in order.
TEST_F(ChangesTest, ReadersSeeWholeChangesWhileTheyAreMade) {
  std::atomic<bool> done{false};
  std::atomic<int> refused{0};
  std::thread writer([&] {
    for (int k = 0; k < 30; ++k) {
      const json add = {{"op", "add"},
                        {"kind", "media"},
                        {"count", 10},
                        {"creation_time", Iso(kBase + 1000 * k)}};
      if (Raw("POST", "/library/changes", add.dump()).first != 200) ++refused;
    }
    done = true;
  });
  int64_t last_total = 300;
  size_t reads = 0;
  while (!done || reads == 0) {
    json j = Search({{"PageSize", "100"}, {"SortBy", "CreationTime:Asc"}, {"PageNo", "3"}});
    const int64_t total = j["Total"];
    EXPECT_EQ((total - 300) % 10, 0) << total;
    EXPECT_GE(total, last_total);
    last_total = total;
    for (size_t i = 1; i < j["MediaList"].size(); ++i) {
      const json& a = j["MediaList"][i - 1];
      const json& b = j["MediaList"][i];
      EXPECT_LE(std::make_pair(Time(a["CreationTime"]), a["MediaId"].get<std::string>()),
                std::make_pair(Time(b["CreationTime"]), b["MediaId"].get<std::string>()));
    }
    ++reads;
  }
  writer.join();
  EXPECT_EQ(refused, 0);
  EXPECT_EQ(Total(""), 600);
}

TEST_F(ChangesTest, BadChangeRequestsAreRefused) {
  struct Bad {
    std::string body;
    std::string error;  // a part of the message
  };
  const std::string unknown = "00000000000000000000000000000000";
  const std::vector<Bad> cases = {
      {"{not json", "body is not JSON"},
      {R"("add")", "a change object or an array"},
      {"[]", "no changes"},
      {R"({"op":"rename","kind":"media"})", "unknown op 'rename'"},
      {R"({"op":"add"})", "'kind' (media or image) is required"},
      {R"({"op":"add","kind":"film"})", "unknown kind 'film'"},
      {R"({"op":"add","kind":"media","colour":"red"})",
       "field 'colour' does not apply to add media"},
      {R"({"op":"add","kind":"image","streams":[]})",
       "field 'streams' does not apply to add image"},
      {R"({"op":"add","kind":"media","type":"movie"})", "unknown type 'movie'"},
      {R"({"op":"add","kind":"media","count":0})", "'count' must be an integer from 1"},
      {R"({"op":"add","kind":"media","count":"3"})", "'count' must be an integer"},
      {R"({"op":"add","kind":"media","title":7})", "'title' must be a string"},
      {R"({"op":"add","kind":"media","creation_time":"yesterday"})",
       "'creation_time' is not an ISO 8601 time"},
      {R"({"op":"add","kind":"media","creation_time":"2024-02-01T00:00:00Z","modification_time":"2024-01-01T00:00:00Z"})",
       "'modification_time' is before 'creation_time'"},
      {R"({"op":"add","kind":"media","status":"Happy"})", "unknown status 'Happy'"},
      {R"({"op":"add","kind":"media","storage_class":"Cold"})", "unknown storage_class 'Cold'"},
      {R"({"op":"add","kind":"media","cate_id":424242})", "unknown category 424242"},
      {R"({"op":"add","kind":"media","streams":[{"definition":"XX","format":"mp4"}]})",
       "unknown stream definition 'XX'"},
      {R"({"op":"add","kind":"media","streams":[{"definition":"HD","format":"avi"}]})",
       "unknown stream format 'avi'"},
      {R"({"op":"add","kind":"media","streams":[{"definition":"HD"}]})",
       "a stream needs 'definition' and 'format'"},
      {R"({"op":"add","kind":"media","streams":[{"definition":"HD","format":"mp4","bits":1}]})",
       "unknown stream field 'bits'"},
      {R"({"op":"add","kind":"media","add_streams":[]})",
       "field 'add_streams' does not apply to add media"},
      {R"({"op":"modify","kind":"media"})", "give 'ids', or 'count' and 'seed'"},
      {R"({"op":"modify","kind":"media","ids":[")" + unknown + R"("]})",
       "unknown media id " + unknown},
      {R"({"op":"modify","kind":"media","ids":["a","a"]})", "id a is listed twice"},
      {R"({"op":"modify","kind":"media","ids":["x"],"seed":1})",
       "give 'ids' or 'count' and 'seed', not both"},
      {R"({"op":"modify","kind":"image","ids":[")" + VideoId(1) + R"("]})",
       "unknown image id " + VideoId(1)},
      {R"({"op":"modify","kind":"media","ids":[")" + VideoId(1) + R"("],"type":"audio"})",
       "is not of type audio"},
      {R"({"op":"modify","kind":"media","ids":[")" + VideoId(1) +
           R"("],"creation_time":"2024-01-01T00:00:00Z"})",
       "field 'creation_time' does not apply to modify media"},
      {R"({"op":"delete","kind":"media","count":301,"seed":1})",
       "count 301 is more than the 300 live media"},
      {R"({"op":"delete","kind":"media","ids":[")" + VideoId(1) + R"("],"title":"x"})",
       "field 'title' does not apply to delete media"},
      // A batch is applied whole or not at all.
      {R"([{"op":"add","kind":"media"},{"op":"delete","kind":"media","ids":[")" + unknown +
           R"("]}])",
       "change 1: unknown media id " + unknown},
  };
  for (const auto& c : cases) {
    auto [status, body] = Raw("POST", "/library/changes", c.body);
    EXPECT_EQ(status, 400) << c.body;
    ASSERT_TRUE(body.is_object()) << c.body;
    EXPECT_NE(body.value("error", "").find(c.error), std::string::npos)
        << c.body << " -> " << body.dump();
  }
  json lib = env().Control("GET", "/library");
  EXPECT_EQ(lib["videos"], 300);
  EXPECT_EQ(lib["changes"]["added_media"], 0);
  EXPECT_EQ(Total(""), 300);
  EXPECT_EQ(Raw("GET", "/library/changes", "").first, 404);
}

TEST_F(ChangesTest, PicksAreDeterministicDistinctAndInCreationOrder) {
  const json pick = {
      {"op", "modify"}, {"kind", "media"}, {"count", 25}, {"seed", 9}, {"title", "Picked"}};
  auto a = Change(pick);
  ASSERT_EQ(a.size(), 25u);
  EXPECT_EQ(std::set<std::string>(a.begin(), a.end()).size(), 25u);
  std::vector<size_t> order;
  for (const auto& id : a) order.push_back(*lib().FindMedia(id));
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  EXPECT_EQ(Total("Title = 'Picked'"), 25);
  env().Control("POST", "/reset");
  EXPECT_EQ(Total("Title = 'Picked'"), 0);
  EXPECT_EQ(Change(pick), a);
  auto b = Change({{"op", "modify"}, {"kind", "media"}, {"count", 25}, {"seed", 10}});
  EXPECT_NE(a, b);
  // Almost every medium: picked from what is live, deleted ones never.
  auto gone = Change({{"op", "delete"}, {"kind", "media"}, {"count", 250}, {"seed", 3}});
  EXPECT_EQ(Total(""), 50);
  auto rest = Change({{"op", "delete"}, {"kind", "media"}, {"count", 50}, {"seed", 4}});
  EXPECT_EQ(Total(""), 0);
  std::set<std::string> all(gone.begin(), gone.end());
  all.insert(rest.begin(), rest.end());
  EXPECT_EQ(all.size(), 300u);
}

TEST_F(ChangesTest, LibraryReportsLiveCountsAndResetDropsChanges) {
  auto added = Change({{"op", "add"}, {"kind", "media"}, {"count", 2}});
  Change({{"op", "add"}, {"kind", "media"}, {"type", "audio"}});
  Change({{"op", "add"}, {"kind", "image"}});
  Change({{"op", "modify"},
          {"kind", "media"},
          {"ids", json::array({VideoId(1), VideoId(2), VideoId(3)})}});
  Change({{"op", "delete"},
          {"kind", "media"},
          {"ids", json::array({VideoId(4), VideoId(5), VideoId(6), VideoId(7)})}});
  json lib_now = env().Control("GET", "/library");
  EXPECT_EQ(lib_now["videos"], 298);
  EXPECT_EQ(lib_now["audio"], 1);
  EXPECT_EQ(lib_now["media"], 299);
  EXPECT_EQ(lib_now["images"], 41);
  EXPECT_EQ(lib_now["changes"]["added_media"], 3);
  EXPECT_EQ(lib_now["changes"]["modified_media"], 3);
  EXPECT_EQ(lib_now["changes"]["deleted_media"], 4);
  EXPECT_EQ(lib_now["changes"]["added_images"], 1);
  env().Control("POST", "/reset");
  json lib_then = env().Control("GET", "/library");
  EXPECT_EQ(lib_then["videos"], 300);
  EXPECT_EQ(lib_then["audio"], 0);
  EXPECT_EQ(lib_then["images"], 40);
  EXPECT_EQ(env().CallError("GetVideoInfo", {{"VideoId", added[0]}}).service_code,
            "InvalidVideo.NotFound");
  EXPECT_EQ(env().Call("GetVideoInfo", {{"VideoId", VideoId(4)}})["Video"]["VideoId"], VideoId(4));
  // Ids start again from the first.
  EXPECT_EQ(Change({{"op", "add"}, {"kind", "media"}, {"count", 2}}), added);
}

// A folder library whose modification times do not follow the creation
// order: ranges of them are found through an index built once.
TEST(ChangesManifestTest, ModificationRangesOnAnUnorderedLibrary) {
  TempDir dir;
  json media = json::array();
  const std::vector<int64_t> mod_hours = {5, 1, 4, 0, 3, 2};  // per creation day
  for (size_t i = 0; i < mod_hours.size(); ++i) {
    char id[33];
    std::snprintf(id, sizeof(id), "cccc%028zu", i);
    const std::string file = "m/" + std::string(id) + "/source.mp4";
    dir.Write(file, std::string(100 + i, 'x'));
    media.push_back({{"id", id},
                     {"title", "Item " + std::to_string(i)},
                     {"creation_time", Iso(kBase + 86400 * static_cast<int64_t>(i))},
                     {"modification_time", Iso(kBase + 86400 * 10 + 3600 * mod_hours[i])},
                     {"source", {{"file", file}}}});
  }
  dir.Write("manifest.json", json({{"media", media}}).dump());
  auto lib = emu::LoadManifestLibrary(dir.path());
  ASSERT_TRUE(lib.ok()) << lib.error().ToString();
  ChangesEnv env(std::move(lib).value());
  auto range = [](int64_t from_hour, int64_t to_hour) {
    return "ModificationTime = ['" + Iso(kBase + 86400 * 10 + 3600 * from_hour) + "','" +
           Iso(kBase + 86400 * 10 + 3600 * to_hour) + "')";
  };
  EXPECT_EQ(env.Total(range(0, 3)), 3);  // hours 1, 0, 2: items 1, 3, 5
  std::vector<Item> got = env.Traverse(range(0, 3), false);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].id, "cccc0000000000000000000000000001");
  EXPECT_EQ(got[1].id, "cccc0000000000000000000000000003");
  EXPECT_EQ(got[2].id, "cccc0000000000000000000000000005");
  env.Change({{"op", "modify"},
              {"kind", "media"},
              {"ids", json::array({"cccc0000000000000000000000000003"})},
              {"modification_time", Iso(kBase + 86400 * 10 + 3600 * 4)}});
  env.Change({{"op", "delete"},
              {"kind", "media"},
              {"ids", json::array({"cccc0000000000000000000000000005"})}});
  env.Change({{"op", "add"},
              {"kind", "media"},
              {"creation_time", Iso(kBase + 3600)},
              {"modification_time", Iso(kBase + 86400 * 10 + 3600 * 2)}});
  EXPECT_EQ(env.Total(range(0, 3)), 2);  // item 1 and the added one
  EXPECT_EQ(env.Total(range(4, 6)), 3);  // items 0, 2 and 3
  EXPECT_EQ(env.Total("CreationTime = ['" + Iso(kBase + 86400) + "',] and " + range(0, 6)), 4);
  EXPECT_EQ(env.Total(""), 6);
}

// What the Match parser proves about times, which decides whether a search
// needs any record's JSON.
TEST(MatchBoundsTest, ConjunctionsOfTimeRangesAreProvedAndExact) {
  auto parse = [](const std::string& m) {
    auto q = emu::ParseMatch(m);
    EXPECT_TRUE(q.ok()) << m;
    return q.ok() ? std::move(q).value() : emu::MatchQuery();
  };
  const int64_t jan = 1704067200, feb = 1706745600, mar = 1709287200;  // 2024-03-01T10:00:00Z
  emu::MatchQuery a = parse("CreationTime = ['2024-01-01T00:00:00Z','2024-02-01T00:00:00Z')");
  EXPECT_TRUE(a.exact);
  EXPECT_EQ(a.creation.lo_ms, jan * 1000);
  EXPECT_FALSE(a.creation.lo_open);
  EXPECT_EQ(a.creation.hi_ms, feb * 1000);
  EXPECT_TRUE(a.creation.hi_open);
  EXPECT_EQ(a.creation.Seconds().min, jan);
  EXPECT_EQ(a.creation.Seconds().max, feb - 1);
  EXPECT_TRUE(a.modification.Seconds().Unbounded());

  emu::MatchQuery b = parse("ModificationTime = ('2024-03-01T10:00:00Z','2100-01-01T00:00:00Z']");
  EXPECT_TRUE(b.exact);
  EXPECT_EQ(b.modification.Seconds().min, mar + 1);
  EXPECT_EQ(b.modification.Seconds().max, 4102444800);
  EXPECT_TRUE(b.creation.Seconds().Unbounded());

  // Epoch milliseconds between whole seconds.
  emu::MatchQuery ms = parse("CreationTime = [1704067200500,1704067201500]");
  EXPECT_EQ(ms.creation.Seconds().min, jan + 1);
  EXPECT_EQ(ms.creation.Seconds().max, jan + 1);
  emu::MatchQuery open_ms = parse("CreationTime = (1704067200000,1704067202000)");
  EXPECT_EQ(open_ms.creation.Seconds().min, jan + 1);
  EXPECT_EQ(open_ms.creation.Seconds().max, jan + 1);

  // Conjunctions narrow; of equal ends the open one wins.
  emu::MatchQuery both = parse(
      "CreationTime = ['2024-01-01T00:00:00Z','2024-02-01T00:00:00Z'] and (CreationTime = "
      "('2024-01-01T00:00:00Z',) and ModificationTime = [,'2024-03-01T10:00:00Z'])");
  EXPECT_TRUE(both.exact);
  EXPECT_TRUE(both.creation.lo_open);
  EXPECT_FALSE(both.creation.hi_open);
  EXPECT_EQ(both.creation.Seconds().min, jan + 1);
  EXPECT_EQ(both.creation.Seconds().max, feb);
  EXPECT_EQ(both.modification.Seconds().max, mar);
  EXPECT_TRUE(parse("CreationTime = (,)").exact);

  // Anything else is tested record by record, within what the times prove.
  emu::MatchQuery titled = parse("CreationTime = ['2024-01-01T00:00:00Z',] and Title = 'x'");
  EXPECT_FALSE(titled.exact);
  EXPECT_EQ(titled.creation.Seconds().min, jan);
  emu::MatchQuery either = parse("(CreationTime = ['2024-01-01T00:00:00Z',] or Title = 'x')");
  EXPECT_FALSE(either.exact);
  EXPECT_TRUE(either.creation.Seconds().Unbounded());
  EXPECT_FALSE(parse("Duration = [1,2]").exact);
  EXPECT_FALSE(parse("CreationTime = '2024-01'").exact);

  for (const char* bad : {"CreationTime = ['soon',]", "Title = 'a' or Title = 'b'",
                          "CreationTime = [1,2", "Colour = 'red'"}) {
    auto q = emu::ParseMatch(bad);
    ASSERT_FALSE(q.ok()) << bad;
    EXPECT_EQ(q.error().service_code, "InvalidParameter") << bad;
    EXPECT_EQ(q.error().http_status, 400) << bad;
  }
}

// 2,000,000 videos: Totals of CreationTime and ModificationTime partitions
// stay exact through bulk changes of 20,000 media.
constexpr int64_t kVideos = 2000000;

TEST(ChangesScaleTest, TwoMillionVideosPartitionTotalsStayExact) {
  emu::SyntheticOptions so;
  so.videos = kVideos;
  ChangesEnv c(emu::MakeSyntheticLibrary(so));
  const emu::Library& lib = c.env().emulator().library();
  // Month partitions from 2024-01 to 2026-07 (the last video is created
  // in May 2026; modifications go to July).
  std::vector<int64_t> bounds;
  for (int64_t y = 2024, m = 1; y * 12 + m <= 2026 * 12 + 8; ++m) {
    if (m > 12) {
      m = 1;
      ++y;
    }
    bounds.push_back(timefmt::DaysFromCivil(y, static_cast<unsigned>(m), 1) * 86400);
  }
  // Videos created (or modified, 600 s later) in [lo, hi).
  auto base_count = [](int64_t lo, int64_t hi, int64_t offset) {
    auto first_at_least = [&](int64_t t) {
      const int64_t d = t - kBase - offset;
      return std::clamp<int64_t>(d <= 0 ? 0 : (d + 36) / 37, 0, kVideos);
    };
    return first_at_least(hi) - first_at_least(lo);
  };
  auto partition = [&](size_t k) { return std::pair{bounds[k], bounds[k + 1]}; };
  auto match = [](const char* field, int64_t lo, int64_t hi) {
    return std::string(field) + " = ['" + Iso(lo) + "','" + Iso(hi) + "')";
  };
  std::map<size_t, int64_t> created_delta, modified_delta;  // partition -> change
  auto partition_of = [&](int64_t t) {
    for (size_t k = 0; k + 1 < bounds.size(); ++k) {
      if (t >= bounds[k] && t < bounds[k + 1]) return k;
    }
    return bounds.size();  // none
  };
  auto check = [&](const std::string& when) {
    int64_t sum_created = 0, sum_modified = 0;
    for (size_t k = 0; k + 1 < bounds.size(); ++k) {
      auto [lo, hi] = partition(k);
      const int64_t created = base_count(lo, hi, 0) + created_delta[k];
      const int64_t modified = base_count(lo, hi, 600) + modified_delta[k];
      EXPECT_EQ(c.Total(match("CreationTime", lo, hi)), created) << when << " " << Iso(lo);
      EXPECT_EQ(c.Total(match("ModificationTime", lo, hi)), modified) << when << " " << Iso(lo);
      sum_created += created;
      sum_modified += modified;
    }
    const int64_t total = c.Total("");
    EXPECT_EQ(sum_created, total) << when;
    EXPECT_EQ(sum_modified, total) << when;
    return total;
  };
  EXPECT_EQ(check("base"), kVideos);

  // 20,000 added in one call, all in one second of March 2025.
  const int64_t added_at = *timefmt::ParseIso8601("2025-03-15T12:00:00Z");
  auto added = c.Change(
      {{"op", "add"}, {"kind", "media"}, {"count", 20000}, {"creation_time", Iso(added_at)}});
  ASSERT_EQ(added.size(), 20000u);
  created_delta[partition_of(added_at)] += 20000;
  modified_delta[partition_of(added_at)] += 20000;
  // 20,000 deleted by id: every 97th video from 1000 on.
  std::vector<std::string> gone;
  for (int64_t k = 0; k < 20000; ++k) {
    const int64_t i = 1000 + 97 * k;
    gone.push_back(lib.MediaIdAt(static_cast<size_t>(i)));
    --created_delta[partition_of(kBase + 37 * i)];
    --modified_delta[partition_of(kBase + 37 * i + 600)];
  }
  EXPECT_EQ(c.Change({{"op", "delete"}, {"kind", "media"}, {"ids", gone}}).size(), 20000u);
  // 20,000 picked and modified to July 2026.
  const int64_t modified_at = *timefmt::ParseIso8601("2026-07-01T00:00:00Z");
  auto picked = c.Change({{"op", "modify"},
                          {"kind", "media"},
                          {"count", 20000},
                          {"seed", 42},
                          {"modification_time", Iso(modified_at)}});
  ASSERT_EQ(picked.size(), 20000u);
  const std::set<std::string> added_set(added.begin(), added.end());
  size_t picked_added = 0;
  std::map<size_t, int64_t> picked_created;  // partition of creation -> modified count
  for (const auto& id : picked) {
    int64_t ct, mt;
    if (added_set.count(id)) {
      ct = mt = added_at;
      ++picked_added;
    } else {
      auto i = lib.FindMedia(id);
      ASSERT_TRUE(i.has_value());
      ct = kBase + 37 * static_cast<int64_t>(*i);
      mt = ct + 600;
    }
    --modified_delta[partition_of(mt)];
    ++modified_delta[partition_of(modified_at)];
    ++picked_created[partition_of(ct)];
  }
  EXPECT_EQ(check("after bulk changes"), kVideos);
  EXPECT_EQ(c.Total(match("ModificationTime", modified_at, modified_at + 86400)), 20000);
  // A conjunction of both: the modified media created in each partition.
  for (size_t k : {size_t{0}, partition_of(added_at), bounds.size() - 3}) {
    auto [lo, hi] = partition(k);
    EXPECT_EQ(c.Total(match("CreationTime", lo, hi) + " and " +
                      match("ModificationTime", modified_at, modified_at + 86400)),
              picked_created[k])
        << Iso(lo);
  }
  // Pages: the first of January 2024 skips the deleted videos.
  json page = c.Search({{"Match", match("CreationTime", bounds[0], bounds[1])},
                        {"SortBy", "CreationTime:Asc"},
                        {"PageSize", "100"},
                        {"PageNo", "11"}});
  std::vector<std::string> expect;
  for (int64_t i = 0; expect.size() < 1100; ++i) {
    if (i < 1000 || (i - 1000) % 97 != 0) expect.push_back(lib.MediaIdAt(static_cast<size_t>(i)));
  }
  ASSERT_EQ(page["MediaList"].size(), 100u);
  for (size_t k = 0; k < 100; ++k) EXPECT_EQ(page["MediaList"][k]["MediaId"], expect[1000 + k]);
  // The newest first: the end of the base, then deeper by ScrollToken.
  json newest = c.Search({{"PageSize", "100"}});
  EXPECT_EQ(newest["MediaList"][0]["MediaId"], lib.MediaIdAt(kVideos - 1));
  std::string token = newest["ScrollToken"];
  json skip = c.Search({{"PageSize", "100"}, {"PageNo", "3"}, {"ScrollToken", token}});
  EXPECT_EQ(skip["MediaList"][0]["MediaId"], lib.MediaIdAt(kVideos - 201));
  EXPECT_GT(picked_added, 0u);
  EXPECT_EQ(c.env().CallError("GetVideoInfo", {{"VideoId", gone[5]}}).service_code,
            "InvalidVideo.NotFound");
}

}  // namespace
}  // namespace vodfs::testing
