#include "vodfs/read/mp4_index.h"

#include <gtest/gtest.h>

#include <string>

namespace vodfs::read {
namespace {

std::string Box(const std::string& type, uint64_t size, bool large = false) {
  std::string b;
  auto be = [&b](uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) b.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  if (large) {
    be(1, 4);
    b += type;
    be(size, 8);
  } else {
    be(size, 4);
    b += type;
  }
  return b;
}

std::string Ftyp() { return Box("ftyp", 24) + "isom" + std::string(4, '\0') + "isomavc1"; }

TEST(Mp4IndexTest, FindsTheIndexAfterTheMediaData) {
  // ftyp (24) + free (8) + mdat header at 32, 1000 bytes; moov follows.
  const std::string head = Ftyp() + Box("free", 8) + Box("mdat", 1000);
  auto r = TrailingMp4Index(head, 32 + 1000 + 500);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->offset, 1032u);
  EXPECT_EQ(r->length, 500u);
}

TEST(Mp4IndexTest, SixtyFourBitMediaDataSizes) {
  const uint64_t mdat = 5ULL << 30;
  const std::string head = Ftyp() + Box("mdat", mdat, true);
  auto r = TrailingMp4Index(head, 24 + mdat + 4096);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->offset, 24 + mdat);
  EXPECT_EQ(r->length, 4096u);
}

TEST(Mp4IndexTest, NothingToDoForOtherLayoutsAndFiles) {
  // faststart: the index comes first.
  EXPECT_FALSE(TrailingMp4Index(Ftyp() + Box("moov", 100) + std::string(92, 'x') + Box("mdat", 50), 1000));
  // mdat to the end of the file (size 0), or exactly to the end.
  EXPECT_FALSE(TrailingMp4Index(Ftyp() + Box("mdat", 0), 1000));
  EXPECT_FALSE(TrailingMp4Index(Ftyp() + Box("mdat", 976), 1000));
  // Not ISO BMFF at all.
  EXPECT_FALSE(TrailingMp4Index("FLV\x01\x05\0\0\0\x09" + std::string(100, '\0'), 1000));
  EXPECT_FALSE(TrailingMp4Index(std::string("\xff\xd8\xff\xe0", 4) + std::string(100, '\0'), 1000));
  // An index larger than asked for.
  EXPECT_FALSE(TrailingMp4Index(Ftyp() + Box("mdat", 100), 24 + 100 + 1000, 999));
  // The head ends before the boxes say where the media data is.
  EXPECT_FALSE(TrailingMp4Index(Ftyp() + Box("free", 4000), 100000));
}

TEST(Mp4IndexTest, MalformedBoxesAreNotTrusted) {
  EXPECT_FALSE(TrailingMp4Index(Ftyp() + Box("free", 3), 1000));            // smaller than its header
  EXPECT_FALSE(TrailingMp4Index(Ftyp() + Box("mdat", 1ULL << 40), 1000));   // past the end of the file
  EXPECT_FALSE(TrailingMp4Index(Ftyp() + Box("mdat", 7, true), 1000));      // 64-bit size below 16
  EXPECT_FALSE(TrailingMp4Index(Ftyp().substr(0, 6), 1000));                 // too short to say
  std::string loop = Ftyp();
  for (int i = 0; i < 100; ++i) loop += Box("free", 8);
  EXPECT_FALSE(TrailingMp4Index(loop + Box("mdat", 100), 100000));  // gives up after a few dozen boxes
}

TEST(Mp4IndexTest, IsoMediaIsKnownByItsExtension) {
  for (const char* name : {"source.mp4", "HD.MP4", "a.b.mov", "clip.m4a", "x.3gp", "old.f4v", "v.M4V"}) {
    EXPECT_TRUE(IsIsoMediaName(name)) << name;
  }
  for (const char* name : {"SD.flv", "segment-00001.ts", "SQ.mp3", "mp4", "cover.jpg", "movie.mp4.part", "", "."}) {
    EXPECT_FALSE(IsIsoMediaName(name)) << name;
  }
}

}  // namespace
}  // namespace vodfs::read
