// Decoding of API bodies: documented shapes, the wire quirks (wrapped or
// plain arrays, numbers as strings), and bodies that are not what they
// should be.
#include "vod/decode.h"

#include <gtest/gtest.h>

#include "support/process.h"
#include "support/temp_dir.h"

namespace vodfs::vod {
namespace {

std::string Fixture(const std::string& name) {
  std::string text = testing::ReadFile(testing::SourcePath("tests/data/api/" + name));
  EXPECT_FALSE(text.empty()) << "missing fixture " << name;
  return text;
}

TEST(DecodeTest, PlayInfoTypedAndStringNumbers) {
  auto r = DecodePlayInfo(Fixture("play_info.json"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->base.video_id, "93ab850b4f654b6e91d24d81d44****");
  EXPECT_DOUBLE_EQ(r->base.duration, 9.0464);
  EXPECT_EQ(r->base.creation_time, 1498459128);
  ASSERT_EQ(r->streams.size(), 2u);
  const PlayInfo& ld = r->streams[0];
  EXPECT_EQ(ld.size, 418112);
  EXPECT_EQ(ld.definition, "LD");
  EXPECT_EQ(ld.format, "mp4");
  EXPECT_DOUBLE_EQ(ld.bitrate, 450.878);
  EXPECT_EQ(ld.width, 640);
  EXPECT_EQ(ld.fps, "25");
  EXPECT_EQ(ld.bit_depth, 8);
  const PlayInfo& hd = r->streams[1];
  EXPECT_EQ(hd.size, 1181500);  // "1181500" as a string
  EXPECT_EQ(hd.width, 1280);    // "1280" as a string
  EXPECT_EQ(hd.fps, "25");      // 25 as a number
  EXPECT_EQ(hd.encrypt, 1);
  EXPECT_EQ(hd.encrypt_type, "HLSEncryption");
  EXPECT_DOUBLE_EQ(hd.duration, 9.0464);
}

TEST(DecodeTest, OldDocSampleWithSingleObjectInsteadOfArray) {
  auto r = DecodePlayInfo(Fixture("play_info_old_strings.json"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_EQ(r->streams.size(), 1u);
  EXPECT_EQ(r->streams[0].size, 9);
  EXPECT_EQ(r->streams[0].height, 2);
}

TEST(DecodeTest, VideoListWrappedAndLenient) {
  auto r = DecodeVideoList(Fixture("video_list.json"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->total, 2);
  ASSERT_EQ(r->videos.size(), 2u);  // the entry without an id is dropped
  EXPECT_EQ(r->videos[0].size, 10485760);
  EXPECT_EQ(r->videos[0].cate_id, 781111);
  EXPECT_EQ(r->videos[0].snapshots.size(), 2u);
  EXPECT_EQ(r->videos[0].creation_time, 1510650950);
  EXPECT_EQ(r->videos[0].modification_time, 1510651010);
  EXPECT_EQ(r->videos[1].size, 2048);
  EXPECT_DOUBLE_EQ(r->videos[1].duration, 3.5);
  EXPECT_EQ(r->videos[1].cate_id, 12);
  EXPECT_EQ(r->videos[1].creation_time, 1652413181);  // +08:00 with millis
  EXPECT_EQ(r->videos[1].snapshots, std::vector<std::string>{"http://h/t1.jpg"});
  EXPECT_EQ(r->videos[1].modification_time, 0);  // absent
}

TEST(DecodeTest, VideoInfosPlainOrWrapped) {
  auto plain = DecodeVideoInfos(Fixture("video_infos.json"));
  ASSERT_TRUE(plain.ok());
  ASSERT_EQ(plain->videos.size(), 2u);
  EXPECT_EQ(plain->videos[1].snapshots, std::vector<std::string>{"http://h/2.jpg"});
  EXPECT_EQ(plain->missing, std::vector<std::string>{"zz"});
  auto wrapped = DecodeVideoInfos(Fixture("video_infos_wrapped.json"));
  ASSERT_TRUE(wrapped.ok());
  ASSERT_EQ(wrapped->videos.size(), 1u);
  EXPECT_EQ(wrapped->missing, std::vector<std::string>{"y"});
}

TEST(DecodeTest, SearchMediaVideoAudioAndImages) {
  auto r = DecodeSearchMedia(Fixture("search_media.json"), "video");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->total, 3);
  EXPECT_EQ(r->scroll_token, "24e0fba7188fae707e146esa54****");
  ASSERT_EQ(r->media.size(), 2u);  // attached media are not files
  EXPECT_EQ(r->media[0].sprite_snapshots.size(), 1u);
  EXPECT_EQ(r->media[0].media_type, "video");
  EXPECT_EQ(r->media[1].id, "a1");
  EXPECT_EQ(r->media[1].media_type, "audio");
  EXPECT_EQ(r->media[1].size, 300);
  EXPECT_EQ(r->media[1].creation_time, 1532058159);  // from the MediaList entry
  auto img = DecodeSearchMedia(Fixture("search_images.json"), "image");
  ASSERT_TRUE(img.ok());
  ASSERT_EQ(img->images.size(), 1u);
  EXPECT_EQ(img->images[0].url, "http://h/i1.png");
}

TEST(DecodeTest, MezzanineAndStreams) {
  auto r = DecodeMezzanineInfo(Fixture("mezzanine.json"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size, 2964950);
  EXPECT_DOUBLE_EQ(r->duration, 42.493);
  EXPECT_EQ(r->file_name, "test.mp4");
  EXPECT_EQ(r->output_type, "oss");
  ASSERT_EQ(r->video_streams.size(), 1u);
  EXPECT_EQ(r->video_streams[0].at("Width"), "960");
  EXPECT_EQ(r->audio_streams[0].at("Channels"), "2");  // number normalised to text
}

TEST(DecodeTest, SnapshotsImagesCategories) {
  auto s = DecodeListSnapshots(Fixture("snapshots.json"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->total, 2);
  ASSERT_EQ(s->snapshots.size(), 2u);  // the one without Url is dropped
  EXPECT_EQ(s->snapshots[0].index, 1);
  EXPECT_EQ(s->snapshots[1].index, 2);
  auto i = DecodeImageInfo(Fixture("image_info.json"));
  ASSERT_TRUE(i.ok());
  EXPECT_EQ(i->file_size, 8932);  // a string on the wire
  EXPECT_EQ(i->cate_id, 11);
  EXPECT_EQ(i->original_file_name, "a.png");
  auto is = DecodeImageInfos(Fixture("image_infos.json"));
  ASSERT_TRUE(is.ok());
  EXPECT_EQ(is->images.size(), 2u);
  EXPECT_EQ(is->images[0].file_size, 10);
  EXPECT_EQ(is->missing, std::vector<std::string>{"c"});
  auto c = DecodeCategories(Fixture("categories.json"));
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->category);
  EXPECT_EQ(c->category->id, 100036);
  ASSERT_EQ(c->children.size(), 2u);
  EXPECT_EQ(c->children[0].id, 1000);
  EXPECT_EQ(c->children[0].level, 1);
  EXPECT_EQ(c->children[0].sub_total, 1);
}

TEST(DecodeTest, EmptyAndMissingOptionalParts) {
  auto s = DecodeListSnapshots(R"({"RequestId":"x"})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->total, 0);
  auto c = DecodeCategories(R"({"RequestId":"x","SubTotal":0})");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->category);
  auto l = DecodeVideoList(R"({"RequestId":"x","Total":0})");
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->videos.empty());
}

TEST(DecodeTest, MalformedBodiesAreClearErrorsNeverCrashes) {
  const std::string bodies[] = {
      "",
      "not json",
      "[1,2,3]",
      "\"a string\"",
      R"({"PlayInfoList": "oops"})",
      R"({"PlayInfoList": {"PlayInfo": [1, 2]}})",
      R"({"VideoList": {"Video": 42}})",
      R"({"Mezzanine": [1]})",
      R"({"Video": null})",
  };
  for (const auto& b : bodies) {
    auto p = DecodePlayInfo(b);
    if (b.find("PlayInfoList") != std::string::npos || b.empty() || b[0] != '{') {
      ASSERT_FALSE(p.ok()) << b;
      EXPECT_EQ(p.code(), ErrorCode::kBadResponse) << b;
      EXPECT_NE(p.error().message.find("GetPlayInfo"), std::string::npos);
    }
    (void)DecodeVideoList(b);
    (void)DecodeSearchMedia(b, "video");
    (void)DecodeVideoInfo(b);
    (void)DecodeVideoInfos(b);
    (void)DecodeMezzanineInfo(b);
    (void)DecodeListSnapshots(b);
    (void)DecodeImageInfo(b);
    (void)DecodeImageInfos(b);
    (void)DecodeCategories(b);
  }
  EXPECT_EQ(DecodeVideoList(R"({"VideoList": {"Video": 42}})").code(), ErrorCode::kBadResponse);
  EXPECT_EQ(DecodeMezzanineInfo(R"({"Mezzanine": [1]})").code(), ErrorCode::kBadResponse);
  EXPECT_EQ(DecodeVideoInfo(R"({"Video": null})").code(), ErrorCode::kBadResponse);
  EXPECT_EQ(DecodePlayInfo(R"({"RequestId":"x"})").code(), ErrorCode::kBadResponse);
}

TEST(DecodeTest, TruncatedBodiesAtEveryLength) {
  const std::string full = Fixture("play_info.json");
  for (size_t n = 0; n < full.size(); n += 7) {
    auto r = DecodePlayInfo(std::string_view(full).substr(0, n));
    EXPECT_FALSE(r.ok()) << n;
  }
  EXPECT_TRUE(DecodePlayInfo(full).ok());
}

TEST(DecodeTest, HostileNumbers) {
  auto r = DecodeVideoList(
      R"({"Total":"1e400","VideoList":{"Video":[{"VideoId":"v","Size":-5,"Duration":"NaN","CateId":1e300,"CreationTime":"not a time"}]}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->videos[0].size, 0);  // negative: unknown
  EXPECT_EQ(r->videos[0].duration, 0);
  EXPECT_EQ(r->videos[0].cate_id, -1);
  EXPECT_EQ(r->videos[0].creation_time, 0);
}

}  // namespace
}  // namespace vodfs::vod
