#include "vodfs/ns/names.h"

#include <gtest/gtest.h>

#include <set>

#include "vodfs/util/strings.h"

namespace vodfs::ns {
namespace {

TEST(NamesTest, SanitizeReplacesWhatAFilenameCannotHold) {
  EXPECT_EQ(SanitizeName("a/b"), "a\xEF\xBC\x8F" "b");
  EXPECT_EQ(SanitizeName(std::string("nul\0x", 5)), "nul\xE2\x90\x80x");
  EXPECT_EQ(SanitizeName("line\nbreak\ttab\x7f"), "line_break_tab_");
  EXPECT_EQ(SanitizeName("bad \xff byte"), "bad \xEF\xBF\xBD byte");
  EXPECT_EQ(SanitizeName("ok 中文 🎬"), "ok 中文 🎬");
  EXPECT_EQ(SanitizeName("\xe4\xb8"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated sequence
}

TEST(NamesTest, MediaDirNames) {
  const std::string id = "93ab850b4f654b6e91d24d81d44a0b1c";
  EXPECT_EQ(MediaDirName("Title", id, false), "Title [" + id + "]");
  EXPECT_EQ(MediaDirName("Title", id, true), id);
  EXPECT_EQ(MediaDirName("", id, false), id);
  EXPECT_EQ(MediaDirName("   ", id, false), id);
  EXPECT_EQ(MediaDirName("..", id, false), ".. [" + id + "]");
  EXPECT_EQ(MediaDirName(".", "..", true), "__");
  // 300 bytes of two-byte characters: cut on a character boundary, id kept.
  std::string long_title;
  for (int i = 0; i < 150; ++i) long_title += "é";
  std::string n = MediaDirName(long_title, id, false);
  EXPECT_LE(n.size(), 255u);
  EXPECT_TRUE(str::IsValidUtf8(n));
  EXPECT_TRUE(str::EndsWith(n, " [" + id + "]"));
}

TEST(NamesTest, FileNamesKeepExtensions) {
  EXPECT_EQ(FileName("HD", "mp4"), "HD.mp4");
  EXPECT_EQ(FileName("..", ""), "__");
  EXPECT_EQ(FileName("", "jpg"), "_.jpg");
  std::string n = FileName(std::string(400, 'x'), "mp4");
  EXPECT_EQ(n.size(), 255u);
  EXPECT_TRUE(str::EndsWith(n, ".mp4"));
  std::string m = MediaFileName(std::string(300, 'y'), "id1", "png", false);
  EXPECT_LE(m.size(), 255u);
  EXPECT_TRUE(str::EndsWith(m, " [id1].png"));
  EXPECT_EQ(MediaFileName("Logo/Main", "id2", "png", false), "Logo\xEF\xBC\x8FMain [id2].png");
}

TEST(NamesTest, Extensions) {
  EXPECT_EQ(ExtensionOf("master.MP4", "bin"), "mp4");
  EXPECT_EQ(ExtensionOf("http://h/a/b/cover.jpg?auth_key=1-0-0-x", "bin"), "jpg");
  EXPECT_EQ(ExtensionOf("noext", "bin"), "bin");
  EXPECT_EQ(ExtensionOf(".hidden", "bin"), "bin");
  EXPECT_EQ(ExtensionOf("evil.../..", "bin"), "bin");
  EXPECT_EQ(ExtensionOf("x.verylongext", "bin"), "bin");
  EXPECT_EQ(ExtensionOf("x.m/p4", "bin"), "bin");
}

TEST(NamesTest, CollisionsResolveByKeyNotByArrival) {
  std::vector<NameRequest> a = {{"LD.mp4", "1-old", "jobB"}, {"LD.mp4", "0-new", "jobA"}};
  std::vector<NameRequest> b = {a[1], a[0]};
  auto ra = UniqueNames(a), rb = UniqueNames(b);
  EXPECT_EQ(ra[1], "LD.mp4");
  EXPECT_EQ(ra[0], "LD [jobB].mp4");
  EXPECT_EQ(rb[0], "LD.mp4");
  EXPECT_EQ(rb[1], "LD [jobB].mp4");
  // A tag that itself collides gets a counter.
  auto rc = UniqueNames({{"x", "0", "t"}, {"x", "1", "t"}, {"x [t]", "2", "u"}});
  std::set<std::string> unique(rc.begin(), rc.end());
  EXPECT_EQ(unique.size(), 3u);
}

}  // namespace
}  // namespace vodfs::ns
