#include "vodfs/ns/namespace.h"

#include <gtest/gtest.h>

#include <set>

#include "support/fs_harness.h"

namespace vodfs::ns {
namespace {

using testing::FsHarness;

std::set<std::string> Names(const std::vector<NodeInfo>& v) {
  std::set<std::string> out;
  for (const auto& n : v) out.insert(n.name);
  return out;
}

Ino Child(Namespace& n, Ino parent, const std::string& name) {
  auto r = n.Lookup(parent, name);
  EXPECT_TRUE(r.ok()) << name << ": " << (r.ok() ? "" : r.error().ToString());
  return r.ok() ? r->ino : 0;
}

TEST(NamespaceTest, TreeNamesSizesAndWhereTheyComeFrom) {
  FsHarness h;
  h.AddVideo("v1", "My/Clip", 300000, 3);
  auto root = h.names->List(kRootIno);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(Names(*root), (std::set<std::string>{".vodfs", "audio", "categories", "images", "videos"}));
  Ino videos = Child(*h.names, kRootIno, "videos");
  auto vids = h.names->List(videos);
  ASSERT_TRUE(vids.ok());
  ASSERT_EQ(vids->size(), 1u);
  EXPECT_EQ((*vids)[0].name, "My\xEF\xBC\x8F" "Clip [v1]");
  EXPECT_EQ(h.api.calls(), (std::map<std::string, int>{{"SearchMedia", 1}}));  // a listing is one call here
  auto files = h.names->List((*vids)[0].ino);
  ASSERT_TRUE(files.ok()) << files.error().ToString();
  EXPECT_EQ(Names(*files), (std::set<std::string>{"LD.mp4", "cover.jpg", "info.json", "snapshots", "source.mp4"}));
  for (const auto& f : *files) {
    if (f.name == "source.mp4") {
      EXPECT_EQ(f.size, 300000u);      // from the API
      EXPECT_EQ(f.mtime, 1690000000);  // the asset's own time
    } else if (f.name == "LD.mp4") {
      EXPECT_EQ(f.size, 150000u);  // from the API
      EXPECT_EQ(f.mtime, 1690000300);
    } else if (f.name == "cover.jpg") {
      EXPECT_EQ(f.size, 777u);  // probed at the origin
    }
  }
  Ino snaps = Child(*h.names, (*vids)[0].ino, "snapshots");
  auto s = h.names->List(snaps);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Names(*s), (std::set<std::string>{"0001.jpg", "0002.jpg", "0003.jpg"}));
  EXPECT_EQ((*s)[2].size, 1002u);
  auto calls = h.api.calls();
  EXPECT_EQ(calls["GetMezzanineInfo"], 1);
  EXPECT_EQ(calls["GetPlayInfo"], 1);
  EXPECT_EQ(calls["ListSnapshots"], 2);  // normal and sprite snapshots; the cover came with GetPlayInfo
}

TEST(NamespaceTest, MediaThatAreNotPlayableShowWhatExists) {
  FsHarness h;
  h.AddVideo("t", "Transcoding", 1000, 0, "Transcoding");
  h.AddVideo("f", "Failed", 1000, 0, "UploadFail");
  Ino videos = Child(*h.names, kRootIno, "videos");
  auto t = h.names->List(Child(*h.names, videos, "Transcoding [t]"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(Names(*t), (std::set<std::string>{"cover.jpg", "info.json", "source.mp4"}));
  auto f = h.names->List(Child(*h.names, videos, "Failed [f]"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(Names(*f), std::set<std::string>{"info.json"});
  EXPECT_EQ(h.api.calls()["GetPlayInfo"], 0);  // not asked for media that cannot play
}

TEST(NamespaceTest, AFailingApiFailsTheListingNeverShowsAPartialOne) {
  FsHarness h;
  h.AddVideo("v1", "A", 1000);
  Ino videos = Child(*h.names, kRootIno, "videos");
  Ino dir = Child(*h.names, videos, "A [v1]");
  h.api.FailAll(ErrorCode::kUnavailable);
  auto r = h.names->List(dir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), ErrorCode::kUnavailable);
  h.api.FailAll(ErrorCode::kOk);
  EXPECT_TRUE(h.names->List(dir).ok());
}

TEST(NamespaceTest, RefreshAfterTheTtlAppliesChangesAndTellsTheKernel) {
  NsOptions o;
  o.metadata_ttl = 60;
  FsHarness h(o);
  h.AddVideo("v1", "One", 1000);
  h.AddVideo("v2", "Two", 1000);
  Ino videos = Child(*h.names, kRootIno, "videos");
  Ino one = Child(*h.names, videos, "One [v1]");
  ASSERT_EQ(h.names->List(videos)->size(), 2u);
  h.api.RemoveVideo("v2");
  h.api.Find("v1")->info.title = "Renamed";
  h.api.Find("v1")->info.modification_time += 10;
  ASSERT_EQ(h.names->List(videos)->size(), 2u);  // still fresh: no change seen
  h.clock.Advance(std::chrono::seconds(61));
  // The refresher is not started here, so the refresh runs at once.
  ASSERT_TRUE(h.names->List(videos).ok());
  auto now = h.names->List(videos);
  EXPECT_EQ(Names(*now), std::set<std::string>{"Renamed [v1]"});
  EXPECT_EQ((*now)[0].ino, one);  // same medium, same inode
  EXPECT_FALSE(h.names->Lookup(videos, "Two [v2]").ok());
  std::set<std::string> told;
  for (const auto& [parent, name] : h.notifier.entries) told.insert(name);
  EXPECT_TRUE(told.count("Two [v2]"));
  EXPECT_TRUE(told.count("One [v1]"));
  EXPECT_EQ(h.api.calls()["SearchMedia"], 2);
}

TEST(NamespaceTest, InodeNumbersAreTheSameInEveryInstance) {
  FsHarness a, b;
  for (auto* h : {&a, &b}) h->AddVideo("v1", "A", 1000, 2);
  auto path = [](FsHarness& h) {
    Ino videos = Child(*h.names, kRootIno, "videos");
    Ino dir = Child(*h.names, videos, "A [v1]");
    Ino snaps = Child(*h.names, dir, "snapshots");
    return std::vector<Ino>{videos, dir, Child(*h.names, dir, "source.mp4"), snaps, Child(*h.names, snaps, "0002.jpg")};
  };
  EXPECT_EQ(path(a), path(b));
  std::set<Ino> distinct;
  for (Ino i : path(a)) distinct.insert(i);
  EXPECT_EQ(distinct.size(), 5u);
}

TEST(NamespaceTest, OlderStreamsWithAllStreamsGetStableSuffixedNames) {
  NsOptions o;
  o.all_streams = true;
  FsHarness h(o);
  auto& v = h.AddVideo("v1", "A", 1000, 0);
  vod::PlayInfo old = v.streams[0];
  old.job_id = "oldjob123456";
  old.status = "Invisible";
  old.creation_time -= 100;
  old.play_url = "ld-old/v1";
  h.origin.Put(old.play_url, "old");
  v.streams.push_back(old);
  Ino videos = Child(*h.names, kRootIno, "videos");
  auto files = h.names->List(Child(*h.names, videos, "A [v1]"));
  ASSERT_TRUE(files.ok());
  EXPECT_TRUE(Names(*files).count("LD.mp4"));
  EXPECT_TRUE(Names(*files).count("LD [oldjob12].mp4"));
}

TEST(NamespaceTest, InfoJsonHasMetadataAndNoUrls) {
  FsHarness h;
  h.AddVideo("v1", "A", 1000, 1);
  Ino videos = Child(*h.names, kRootIno, "videos");
  Ino info = Child(*h.names, Child(*h.names, videos, "A [v1]"), "info.json");
  auto n = h.names->Get(info);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->content, Content::kGenerated);
  EXPECT_EQ(n->size, n->text.size());
  EXPECT_NE(n->text.find("\"VideoId\": \"v1\""), std::string::npos);
  EXPECT_NE(n->text.find("\"File\": \"LD.mp4\""), std::string::npos);
  EXPECT_EQ(n->text.find("origin.test"), std::string::npos);
  EXPECT_EQ(n->text.find("sig="), std::string::npos);
}

}  // namespace
}  // namespace vodfs::ns
