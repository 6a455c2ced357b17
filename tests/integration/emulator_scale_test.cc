// Paging limits of the emulator over a 20,000-video synthetic library.
#include <gtest/gtest.h>

#include <unordered_set>

#include "support/emulator_env.h"
#include "vodfs/util/time_format.h"

namespace vodfs::testing {
namespace {

using nlohmann::json;

class ScaleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    emu::SyntheticOptions so;
    so.videos = 20000;
    so.audio = 50;
    emu::EmulatorOptions o;
    o.qps_scale = 0;
    env_ = new EmulatorEnv(emu::MakeSyntheticLibrary(so), o);
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }
  static EmulatorEnv* env_;
};
EmulatorEnv* ScaleTest::env_ = nullptr;

TEST_F(ScaleTest, ScrollTokenTraversalReturnsEveryVideoExactlyOnce) {
  std::unordered_set<std::string> seen;
  std::string token;
  size_t calls = 0;
  int64_t last_time = INT64_MAX;
  for (int page = 1;; ++page) {
    vod::Params p = {{"PageNo", std::to_string(page)}, {"PageSize", "100"}};
    if (!token.empty()) p["ScrollToken"] = token;
    json j = env_->Call("SearchMedia", p);
    ++calls;
    ASSERT_EQ(j["Total"], 20000);
    token = j["ScrollToken"];
    if (j["MediaList"].empty()) break;
    for (const auto& m : j["MediaList"]) {
      ASSERT_EQ(m["MediaType"], "video");
      EXPECT_TRUE(seen.insert(m["MediaId"].get<std::string>()).second) << "duplicate " << m["MediaId"];
      // CreationTime:Desc order holds across pages.
      auto t = timefmt::ParseIso8601(m["CreationTime"].get<std::string>());
      ASSERT_TRUE(t.has_value());
      EXPECT_LE(*t, last_time);
      last_time = *t;
    }
  }
  EXPECT_EQ(seen.size(), 20000u);
  EXPECT_EQ(calls, 201u);  // 200 full pages and one empty
}

TEST_F(ScaleTest, PagedModeStopsAtFiveThousand) {
  json ok = env_->Call("SearchMedia", {{"PageNo", "50"}, {"PageSize", "100"}});
  EXPECT_EQ(ok["MediaList"].size(), 100u);
  Error e = env_->CallError("SearchMedia", {{"PageNo", "51"}, {"PageSize", "100"}});
  EXPECT_EQ(e.service_code, "InvalidParameter");
  Error v = env_->CallError("GetVideoList", {{"PageNo", "101"}, {"PageSize", "50"}});
  EXPECT_EQ(v.service_code, "VideoListExceededMax");
}

TEST_F(ScaleTest, ScrollMovesForwardAtMostOneHundredRecords) {
  json first = env_->Call("SearchMedia", {{"PageNo", "1"}, {"PageSize", "20"}});
  const std::string token = first["ScrollToken"];
  // Skipping 5 pages of 20 (100 records) is allowed ...
  json skip = env_->Call("SearchMedia", {{"PageNo", "7"}, {"PageSize", "20"}, {"ScrollToken", token}});
  EXPECT_EQ(skip["MediaList"].size(), 20u);
  // ... 6 pages (120 records) is not, nor going back, nor a changed query.
  EXPECT_EQ(env_->CallError("SearchMedia", {{"PageNo", "8"}, {"PageSize", "20"}, {"ScrollToken", token}})
                .service_code,
            "InvalidParameter");
  const std::string t2 = skip["ScrollToken"];
  EXPECT_EQ(env_->CallError("SearchMedia", {{"PageNo", "3"}, {"PageSize", "20"}, {"ScrollToken", t2}})
                .service_code,
            "InvalidParameter");
  EXPECT_EQ(env_->CallError("SearchMedia", {{"PageNo", "8"}, {"PageSize", "50"}, {"ScrollToken", t2}})
                .service_code,
            "InvalidParameter");
  EXPECT_EQ(env_->CallError("SearchMedia", {{"ScrollToken", "00000000000000000000000000000000"}})
                .service_code,
            "InvalidParameter");
  // The skipped page starts exactly 100 records after the first page.
  json direct = env_->Call("SearchMedia", {{"PageNo", "7"}, {"PageSize", "20"}});
  EXPECT_EQ(direct["MediaList"][0]["MediaId"], skip["MediaList"][0]["MediaId"]);
}

}  // namespace
}  // namespace vodfs::testing
