// The namespace over a fake API and origin and a real index: what the tree
// holds and where each size and time comes from, details kept in the index
// across remounts, what a sync's changes make the kernel forget, listings
// that wait for the first sync, by-id, categories, images, offline.
#include "vodfs/ns/namespace.h"

#include <gtest/gtest.h>

#include <future>
#include <set>
#include <thread>

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

int DetailCalls(FsHarness& h) {
  auto c = h.api.calls();
  return c["GetMezzanineInfo"] + c["GetPlayInfo"] + c["ListSnapshots"];
}

// Waits (polling, with a deadline) until `pred` holds.
template <typename F>
bool Eventually(F pred) {
  for (int i = 0; i < 2000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

TEST(NamespaceTest, TreeNamesSizesAndWhereTheyComeFrom) {
  FsHarness h;
  h.AddVideo("v1", "My/Clip", 300000, 3);
  auto root = h.names->List(kRootIno);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(Names(*root), (std::set<std::string>{".vodfs", "audio", "by-id", "categories", "images", "videos"}));
  auto vids = h.names->List(kVideosIno);
  ASSERT_TRUE(vids.ok());
  ASSERT_EQ(vids->size(), 1u);
  EXPECT_EQ((*vids)[0].name, "My\xEF\xBC\x8F" "Clip [v1]");
  EXPECT_EQ(DetailCalls(h), 0);  // listing videos/ asks nothing per video
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
    EXPECT_EQ(f.parent, (*vids)[0].ino);
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
  auto t = h.names->List(Child(*h.names, kVideosIno, "Transcoding [t]"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(Names(*t), (std::set<std::string>{"cover.jpg", "info.json", "source.mp4"}));
  auto f = h.names->List(Child(*h.names, kVideosIno, "Failed [f]"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(Names(*f), std::set<std::string>{"info.json"});
  EXPECT_EQ(h.api.calls()["GetPlayInfo"], 0);  // not asked for media that cannot play
}

TEST(NamespaceTest, AFailingApiFailsTheListingNeverShowsAPartialOne) {
  FsHarness h;
  h.AddVideo("v1", "A", 1000);
  Ino dir = Child(*h.names, kVideosIno, "A [v1]");
  h.api.FailAll(ErrorCode::kUnavailable);
  auto r = h.names->List(dir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), ErrorCode::kUnavailable);
  h.api.FailAll(ErrorCode::kOk);
  EXPECT_TRUE(h.names->List(dir).ok());
}

TEST(NamespaceTest, DetailsComeFromTheIndexAfterARemountWithoutAnyApiCall) {
  testing::TempDir index_dir;
  std::set<std::string> first_names;
  Ino first_ino = 0;
  {
    FsHarness h({}, {}, false, nullptr, index_dir.path());
    h.AddVideo("v1", "A", 1000, 2);
    first_ino = Child(*h.names, kVideosIno, "A [v1]");
    first_names = Names(*h.names->List(first_ino));
    EXPECT_GT(DetailCalls(h), 0);
  }
  FsHarness again({}, {}, false, nullptr, index_dir.path());  // an empty fake API: nothing could come from it
  EXPECT_TRUE(again.syncer->Complete());
  Ino dir = Child(*again.names, kVideosIno, "A [v1]");
  EXPECT_EQ(dir, first_ino);
  auto files = again.names->List(dir);
  ASSERT_TRUE(files.ok()) << files.error().ToString();
  EXPECT_EQ(Names(*files), first_names);
  auto snaps = again.names->List(Child(*again.names, dir, "snapshots"));
  ASSERT_TRUE(snaps.ok());
  EXPECT_EQ(snaps->size(), 2u);
  EXPECT_TRUE(again.api.calls().empty()) << "an API call after a remount";
}

TEST(NamespaceTest, AChangedMediumIsListedAgainAndTheKernelTold) {
  FsHarness h;
  h.AddVideo("v1", "One", 1000, 1);
  h.AddVideo("v2", "Two", 1000);
  Ino one = Child(*h.names, kVideosIno, "One [v1]");
  Ino snaps = Child(*h.names, one, "snapshots");
  ASSERT_TRUE(h.names->List(snaps).ok());
  const int before = DetailCalls(h);
  h.api.RemoveVideo("v2");
  h.api.UpdateVideo("v1", [](vod::MediaInfo& m) {
    m.title = "Renamed";
    m.modification_time += 10;
  });
  h.Sync();
  auto now = h.names->List(kVideosIno);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(Names(*now), std::set<std::string>{"Renamed [v1]"});
  EXPECT_EQ((*now)[0].ino, one);  // same medium, same inode
  EXPECT_EQ(h.names->Lookup(kVideosIno, "Two [v2]").code(), ErrorCode::kNotFound);
  std::set<std::string> told;
  std::set<Ino> inodes;
  {
    std::lock_guard<std::mutex> lock(h.notifier.mu);
    for (const auto& [parent, name] : h.notifier.entries) told.insert(name);
    inodes.insert(h.notifier.inodes.begin(), h.notifier.inodes.end());
  }
  EXPECT_TRUE(told.count("Two [v2]"));
  EXPECT_TRUE(told.count("One [v1]"));
  EXPECT_TRUE(told.count("0001.jpg"));  // the files of the changed medium, too
  EXPECT_TRUE(inodes.count(one));
  EXPECT_TRUE(inodes.count(snaps));
  // Its details are fetched again (its ModificationTime moved).
  ASSERT_TRUE(h.names->List(one).ok());
  EXPECT_GT(DetailCalls(h), before);
}

TEST(NamespaceTest, DetailsOlderThanTheirTtlAreRefreshedAndDifferencesTold) {
  NsOptions o;
  o.details_ttl = 100;
  FsHarness h(o);
  auto& v = h.AddVideo("v1", "A", 1000, 0);
  Ino dir = Child(*h.names, kVideosIno, "A [v1]");
  ASSERT_EQ(Names(*h.names->List(dir)).count("HD.mp4"), 0u);
  vod::PlayInfo hd = v.streams[0];
  hd.definition = "HD";
  hd.job_id = "job-hd";
  hd.play_url = "hd/v1";
  h.origin.Put(hd.play_url, "hd bytes");
  v.streams.push_back(hd);
  EXPECT_EQ(Names(*h.names->List(dir)).count("HD.mp4"), 0u);  // still fresh
  h.clock.Advance(std::chrono::seconds(101));
  // The refresher is not started here, so the refresh runs at once.
  ASSERT_TRUE(h.names->List(dir).ok());
  EXPECT_EQ(Names(*h.names->List(dir)).count("HD.mp4"), 1u);
  std::set<std::string> told;
  {
    std::lock_guard<std::mutex> lock(h.notifier.mu);
    for (const auto& [parent, name] : h.notifier.entries) told.insert(name);
  }
  EXPECT_TRUE(told.count("HD.mp4"));
  EXPECT_EQ(h.names->Stats().details_refreshed, 1u);
}

TEST(NamespaceTest, AListingWaitsForTheFirstSyncNeverShowsAPartialOne) {
  FsHarness h;
  testing::FakeVodApi::Video v;
  v.info.id = "v1";
  v.info.title = "A";
  v.info.status = "Normal";
  v.info.media_type = "video";
  h.api.AddVideo(v);  // in the library, not in the index yet
  EXPECT_FALSE(h.syncer->Complete());
  auto listing = std::async(std::launch::async, [&h] { return h.names->List(kVideosIno); });
  ASSERT_TRUE(Eventually([&h] { return h.names->Stats().listing_waits == 1; }));
  EXPECT_EQ(listing.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  h.Sync();
  auto r = listing.get();
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(Names(*r), std::set<std::string>{"A [v1]"});
}

TEST(NamespaceTest, AFailedFirstSyncFailsTheListingInsteadOfWaitingForever) {
  FsHarness h;
  h.api.FailAll(ErrorCode::kUnavailable);
  EXPECT_FALSE(h.syncer->SyncNow().ok());
  auto r = h.names->List(kVideosIno);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("not been listed"), std::string::npos) << r.error().message;
  EXPECT_GT(h.syncer->Stats().offline_since, 0);
}

TEST(NamespaceTest, ByIdResolvesAnyMediumBeforeTheFirstSync) {
  FsHarness h;
  testing::FakeVodApi::Video v;
  v.info.id = "0123456789abcdef0123456789abcdef";
  v.info.title = "Early";
  v.info.status = "Normal";
  v.info.media_type = "video";
  h.api.AddVideo(v);
  auto link = h.names->Lookup(kByIdIno, v.info.id);
  ASSERT_TRUE(link.ok()) << link.error().ToString();
  EXPECT_EQ(link->kind, Kind::kSymlink);
  EXPECT_EQ(link->link, "../videos/Early [" + v.info.id + "]");
  EXPECT_EQ(h.api.calls()["GetVideoInfo"], 1);
  EXPECT_EQ(h.api.calls()["SearchMedia"], 0);
  // The link resolves: its target is looked up in videos/ at once.
  auto dir = h.names->Lookup(kVideosIno, "Early [" + v.info.id + "]");
  ASSERT_TRUE(dir.ok()) << dir.error().ToString();
  EXPECT_EQ(dir->kind, Kind::kDir);
  EXPECT_TRUE(h.names->Get(link->ino).ok());
  // Not an id: no API call; by-id/ lists nothing.
  EXPECT_EQ(h.names->Lookup(kByIdIno, ".hidden").code(), ErrorCode::kNotFound);
  EXPECT_EQ(h.names->Lookup(kByIdIno, "ffffffffffffffffffffffffffffffff").code(), ErrorCode::kNotFound);
  EXPECT_EQ(h.api.calls()["GetVideoInfo"], 2);
  EXPECT_TRUE(h.names->List(kByIdIno)->empty());
}

TEST(NamespaceTest, AHugeDirectoryIsReadPageByPageInNameOrder) {
  FsHarness h;
  for (int i = 0; i < 3000; ++i) {
    testing::FakeVodApi::Video v;
    v.info.id = "id" + std::to_string(i);
    v.info.title = "T" + std::to_string((i * 7919) % 3000);
    v.info.status = "Normal";
    v.info.media_type = "video";
    v.info.creation_time = 1600000000 + i;
    h.api.AddVideo(v);
  }
  h.Sync();
  auto cursor = h.names->OpenDir(kVideosIno);
  ASSERT_TRUE(cursor.ok());
  std::vector<std::string> names;
  while (true) {
    auto page = h.names->ReadDir(**cursor, names.size(), 100);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    EXPECT_LE(page->size(), 100u);
    for (const auto& n : *page) names.push_back(n.name);
  }
  ASSERT_EQ(names.size(), 3000u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), 3000u);
  // A seek (telldir/seekdir) lands where it says.
  auto seek = h.names->ReadDir(**cursor, 1234, 3);
  ASSERT_TRUE(seek.ok());
  ASSERT_EQ(seek->size(), 3u);
  EXPECT_EQ((*seek)[0].name, names[1234]);
  EXPECT_EQ((*seek)[2].name, names[1236]);
}

TEST(NamespaceTest, CategoriesHoldSubcategoriesAndLinksIntoVideos) {
  FsHarness h;
  h.api.SetCategories({{10, "Sports", 0, -1, 0, ""}, {11, "Football/Soccer", 1, 10, 0, ""}, {20, "News", 0, -1, 0, ""}});
  testing::FakeVodApi::Video v;
  v.info.id = "v1";
  v.info.title = "Goal";
  v.info.status = "Normal";
  v.info.media_type = "video";
  v.info.cate_id = 11;
  h.api.AddVideo(v);
  h.Sync();
  ASSERT_TRUE(h.names->Init().ok());
  EXPECT_EQ(Names(*h.names->List(kCategoriesIno)), (std::set<std::string>{"News", "Sports"}));
  Ino sports = Child(*h.names, kCategoriesIno, "Sports");
  EXPECT_EQ(Names(*h.names->List(sports)), std::set<std::string>{"Football\xEF\xBC\x8FSoccer"});
  Ino football = Child(*h.names, sports, "Football\xEF\xBC\x8FSoccer");
  auto links = h.names->List(football);
  ASSERT_TRUE(links.ok());
  ASSERT_EQ(links->size(), 1u);
  EXPECT_EQ((*links)[0].kind, Kind::kSymlink);
  EXPECT_EQ((*links)[0].link, "../../../videos/Goal [v1]");
  auto got = h.names->Get((*links)[0].ino);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->parent, football);
  EXPECT_EQ(Child(*h.names, football, "Goal [v1]"), (*links)[0].ino);
}

TEST(NamespaceTest, ImagesAreFilesWithTheirExtensionAndSize) {
  FsHarness h;
  testing::FakeVodApi::Image img;
  img.info.id = "img1";
  img.info.title = "Poster";
  img.info.creation_time = 1600000000;
  img.info.file_size = 4321;
  img.info.original_file_name = "poster.PNG";
  img.key = "img/1";
  h.origin.Put(img.key, std::string(4321, 'p'));
  h.api.AddImage(img);
  h.Sync();
  auto list = h.names->List(kImagesIno);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "Poster [img1].png");
  EXPECT_EQ((*list)[0].size, 4321u);
  auto n = h.names->Lookup(kImagesIno, "Poster [img1].png");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->ref.role, resolve::Role::kImage);
}

TEST(NamespaceTest, DamagedDetailsInTheIndexAreFetchedAgain) {
  testing::TempDir index_dir;
  {
    FsHarness h({}, {}, false, nullptr, index_dir.path());
    h.AddVideo("v1", "A", 1000, 1);
    ASSERT_TRUE(h.names->List(Child(*h.names, kVideosIno, "A [v1]")).ok());
    auto c = h.store->db().Acquire();
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->Run("UPDATE details SET body = '{\"v\":1,\"nodes\":[{\"l\":\"x\"}]' WHERE key = 'v1'").ok());
  }
  {
    // An API that no longer has the medium: the damaged details cannot be
    // replaced, and the listing fails clearly instead of showing garbage.
    FsHarness gone({}, {}, false, nullptr, index_dir.path());
    auto broken = gone.names->List(Child(*gone.names, kVideosIno, "A [v1]"));
    ASSERT_FALSE(broken.ok());
    EXPECT_EQ(broken.code(), ErrorCode::kNotFound);
  }
  FsHarness h({}, {}, false, nullptr, index_dir.path());
  h.AddVideo("v1", "A", 1000, 1);
  auto fixed = h.names->List(Child(*h.names, kVideosIno, "A [v1]"));
  ASSERT_TRUE(fixed.ok()) << fixed.error().ToString();
  EXPECT_TRUE(Names(*fixed).count("snapshots"));
  EXPECT_GT(DetailCalls(h), 0);
}

TEST(NamespaceTest, OfflineTheIndexKeepsServingNamesSizesAndTimes) {
  testing::TempDir index_dir;
  {
    FsHarness h({}, {}, false, nullptr, index_dir.path());
    h.AddVideo("v1", "A", 1000, 2);
    ASSERT_TRUE(h.names->List(Child(*h.names, kVideosIno, "A [v1]")).ok());
  }
  FsHarness h({}, {}, false, nullptr, index_dir.path());
  h.api.FailAll(ErrorCode::kUnavailable);
  EXPECT_FALSE(h.syncer->SyncNow().ok());
  EXPECT_GT(h.syncer->Stats().offline_since, 0);
  Ino dir = Child(*h.names, kVideosIno, "A [v1]");
  auto files = h.names->List(dir);
  ASSERT_TRUE(files.ok()) << files.error().ToString();
  for (const auto& f : *files) {
    if (f.name == "source.mp4") {
      EXPECT_EQ(f.size, 1000u);
    }
  }
}

TEST(NamespaceTest, InodeNumbersAreTheSameInEveryInstance) {
  FsHarness a, b;
  for (auto* h : {&a, &b}) h->AddVideo("v1", "A", 1000, 2);
  auto path = [](FsHarness& h) {
    Ino dir = Child(*h.names, kVideosIno, "A [v1]");
    Ino snaps = Child(*h.names, dir, "snapshots");
    return std::vector<Ino>{dir, Child(*h.names, dir, "source.mp4"), snaps, Child(*h.names, snaps, "0002.jpg")};
  };
  EXPECT_EQ(path(a), path(b));
  std::set<Ino> distinct;
  for (Ino i : path(a)) distinct.insert(i);
  EXPECT_EQ(distinct.size(), 4u);
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
  auto files = h.names->List(Child(*h.names, kVideosIno, "A [v1]"));
  ASSERT_TRUE(files.ok());
  EXPECT_TRUE(Names(*files).count("LD.mp4"));
  EXPECT_TRUE(Names(*files).count("LD [oldjob12].mp4"));
}

TEST(NamespaceTest, InfoJsonHasMetadataAndNoUrls) {
  FsHarness h;
  h.AddVideo("v1", "A", 1000, 1);
  Ino info = Child(*h.names, Child(*h.names, kVideosIno, "A [v1]"), "info.json");
  auto n = h.names->Get(info);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->content, Content::kGenerated);
  EXPECT_EQ(n->size, n->text.size());
  EXPECT_NE(n->text.find("\"VideoId\": \"v1\""), std::string::npos);
  EXPECT_NE(n->text.find("\"File\": \"LD.mp4\""), std::string::npos);
  EXPECT_EQ(n->text.find("origin.test"), std::string::npos);
  EXPECT_EQ(n->text.find("sig="), std::string::npos);
  // Nor does the index.
  auto d = h.store->Details("v1");
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ((*d)->body.find("origin.test"), std::string::npos);
  EXPECT_EQ((*d)->body.find("sig="), std::string::npos);
}

}  // namespace
}  // namespace vodfs::ns
