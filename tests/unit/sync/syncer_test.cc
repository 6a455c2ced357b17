// The sync engine over a fake VOD API and a real index, on each engine
// (SQLite, and PostgreSQL in a throw-away cluster: TEST_P): what a full
// listing costs, what an unchanged, a changed and a shrunk library cost,
// resuming a killed listing, images past 5,000, categories, by-id, the
// change log handed to listeners, and a service that never ends a listing.
#include "vodfs/sync/syncer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "support/fakes.h"
#include "support/services.h"
#include "support/temp_dir.h"
#include "vodfs/util/strings.h"

namespace vodfs::sync {
namespace {

using index::ChangeRecord;
using index::MediaKind;
using testing::FakeOrigin;
using testing::FakeVodApi;
using testing::TempDir;

constexpr int64_t kBase = 1700000000;

class Recorder final : public ChangeListener {
 public:
  void OnChanges(const std::vector<ChangeRecord>& c) override {
    MutexLock lock(&mu);
    for (const auto& x : c) changes.push_back(x);
  }
  std::vector<ChangeRecord> Take() {
    MutexLock lock(&mu);
    return std::exchange(changes, {});
  }
  Mutex mu;
  std::vector<ChangeRecord> changes;
};

std::string Id(int i) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%032x", i + 1);
  return buf;
}

class SyncerTest : public ::testing::TestWithParam<index::Engine> {
 protected:
  void SetUp() override {
    if (GetParam() == index::Engine::kPostgres) url_ = testing::PostgresServer::Shared().CreateDatabase();
    io_.Start();
  }

  void AddVideos(int n, int from = 0, const std::string& type = "video") {
    for (int i = from; i < from + n; ++i) {
      FakeVodApi::Video v;
      v.info.id = Id(i);
      v.info.media_type = type;
      v.info.title = "Clip " + std::to_string(i);
      v.info.status = "Normal";
      v.info.creation_time = kBase + i * 10;
      v.info.modification_time = kBase + i * 10 + 5;
      api_.AddVideo(v);
    }
  }
  void AddImages(int n) {
    for (int i = 0; i < n; ++i) {
      FakeVodApi::Image img;
      img.info.id = Id(900000 + i);
      img.info.title = "Picture " + std::to_string(i);
      img.info.creation_time = kBase + i * 3;
      img.info.modification_time = kBase + i * 3;
      img.info.file_size = 1000 + i;
      img.info.original_file_name = "p" + std::to_string(i) + ".png";
      img.key = "img/" + img.info.id;
      api_.AddImage(img);
    }
  }

  std::unique_ptr<index::IndexStore> OpenStore() {
    auto db = GetParam() == index::Engine::kPostgres ? index::OpenPostgres({.conninfo = url_})
                                                     : index::OpenSqlite({.path = dir_.path() + "/index.db"});
    EXPECT_TRUE(db.ok()) << db.error().ToString();
    auto s = index::IndexStore::Open(std::move(db).value());
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return std::move(s).value();
  }
  std::unique_ptr<Syncer> MakeSyncer(index::IndexStore& store, SyncOptions o = {}) {
    o.identity = o.identity.empty() ? "test-library" : o.identity;
    auto s = std::make_unique<Syncer>(api_, store, clock_, io_, o);
    EXPECT_TRUE(s->Init().ok());
    s->SetListener(&recorder_);
    return s;
  }
  int Calls() { return api_.total_calls(); }

  TempDir dir_;
  std::string url_;
  FakeOrigin origin_;
  FakeVodApi api_{origin_};
  FakeClock clock_{kBase + 10000000};
  Executor io_{4, "sync-io"};
  Recorder recorder_;
};

INSTANTIATE_TEST_SUITE_P(Engines, SyncerTest, ::testing::Values(index::Engine::kSqlite, index::Engine::kPostgres),
                         [](const ::testing::TestParamInfo<index::Engine>& i) {
                           return i.param == index::Engine::kSqlite ? "Sqlite" : "Postgres";
                         });

TEST_P(SyncerTest, AFirstSyncListsEverythingAtTheMinimumOfCalls) {
  AddVideos(2345);
  AddVideos(30, 5000, "audio");
  auto store = OpenStore();
  auto syncer = MakeSyncer(*store);
  EXPECT_FALSE(syncer->Complete());
  ASSERT_TRUE(syncer->SyncNow().ok());
  EXPECT_TRUE(syncer->Complete());
  EXPECT_EQ(*store->CountMedia(MediaKind::kVideo), 2345);
  EXPECT_EQ(*store->CountMedia(MediaKind::kAudio), 30);
  // 24 pages of videos and one of audio are the minimum; each kind also
  // costs its oldest/newest probe, and a partition can end one page early.
  const auto calls = api_.calls();
  const int minimum = 24 + 1;
  EXPECT_GE(calls.at("SearchMedia"), minimum);
  EXPECT_LE(calls.at("SearchMedia"), minimum + 2 * 2 + 4 + 2) << "pages beyond the partitions' own";
  auto m = store->MediaById(Id(7));
  ASSERT_TRUE(m.ok() && m->has_value());
  EXPECT_EQ((*m)->name, "Clip 7 [" + Id(7) + "]");
  EXPECT_EQ((*m)->modification_time, kBase + 75);
  // The first listing is announced as one reset per kind, not 2,375 adds.
  auto changes = recorder_.Take();
  ASSERT_FALSE(changes.empty());
  for (const auto& c : changes) EXPECT_EQ(c.op, ChangeRecord::Op::kReset);
  EXPECT_EQ(syncer->Stats().generation, 1);
}

TEST_P(SyncerTest, AnUnchangedLibraryCostsAHandfulOfCalls) {
  AddVideos(3000);
  auto store = OpenStore();
  auto syncer = MakeSyncer(*store);
  ASSERT_TRUE(syncer->SyncNow().ok());
  recorder_.Take();
  const int before = Calls();
  ASSERT_TRUE(syncer->SyncNow().ok());
  const int cost = Calls() - before;
  // Per kind: changed since the newest (1) and the total (1); categories (1).
  EXPECT_LE(cost, 7);
  EXPECT_TRUE(recorder_.Take().empty());
  EXPECT_EQ(syncer->Stats().full_syncs, 1);
  EXPECT_EQ(syncer->Stats().syncs, 2);
}

TEST_P(SyncerTest, ModifiedAndNewMediaAreFoundByTheirTimesAndRenamesMove) {
  AddVideos(2000);
  auto store = OpenStore();
  auto syncer = MakeSyncer(*store);
  ASSERT_TRUE(syncer->SyncNow().ok());
  recorder_.Take();
  const int64_t later = kBase + 500000;
  api_.UpdateVideo(Id(10), [&](vod::MediaInfo& m) {
    m.title = "Renamed";
    m.modification_time = later;
  });
  api_.UpdateVideo(Id(11), [&](vod::MediaInfo& m) {
    m.status = "Blocked";
    m.modification_time = later;
  });
  AddVideos(150, 100000);  // created (and modified) after everything else
  const uint64_t ino = (*store->MediaById(Id(10)))->ino;
  const int before = Calls();
  ASSERT_TRUE(syncer->SyncNow().ok());
  const int cost = Calls() - before;
  // 152 changed media are 2 pages; then the totals and categories.
  EXPECT_LE(cost, 2 + 1 + 4 + 1) << cost;
  auto renamed = store->MediaById(Id(10));
  EXPECT_EQ((*renamed)->name, "Renamed [" + Id(10) + "]");
  EXPECT_EQ((*renamed)->ino, ino);
  EXPECT_EQ((*store->MediaById(Id(11)))->status, "Blocked");
  EXPECT_EQ(*store->CountMedia(MediaKind::kVideo), 2150);
  std::map<std::string, ChangeRecord> by_id;
  for (const auto& c : recorder_.Take()) by_id[c.id] = c;
  EXPECT_EQ(by_id.size(), 152u);
  EXPECT_EQ(by_id[Id(10)].op, ChangeRecord::Op::kModify);
  EXPECT_EQ(by_id[Id(10)].old_name, "Clip 10 [" + Id(10) + "]");
  EXPECT_EQ(by_id[Id(10)].new_name, "Renamed [" + Id(10) + "]");
  EXPECT_EQ(by_id[Id(100000)].op, ChangeRecord::Op::kAdd);
}

TEST_P(SyncerTest, DeletionsAreFoundByPartitionCountsWithoutListingEverything) {
  AddVideos(20000);
  auto store = OpenStore();
  SyncOptions o;
  auto syncer = MakeSyncer(*store, o);
  ASSERT_TRUE(syncer->SyncNow().ok());
  recorder_.Take();
  const std::vector<int> gone = {17, 4321, 12345, 19998};
  for (int i : gone) api_.RemoveVideo(Id(i));
  const int before = Calls();
  ASSERT_TRUE(syncer->SyncNow().ok());
  const int cost = Calls() - before;
  EXPECT_EQ(*store->CountMedia(MediaKind::kVideo), 20000 - 4);
  for (int i : gone) EXPECT_FALSE(store->MediaById(Id(i))->has_value());
  std::set<std::string> removed;
  for (const auto& c : recorder_.Take()) {
    EXPECT_EQ(c.op, ChangeRecord::Op::kRemove);
    removed.insert(c.id);
  }
  EXPECT_EQ(removed.size(), 4u);
  // Each deletion is located by halving (one count per level of
  // log2(20000/400) ~ 6) and a relisting of its leaf (at most 4 pages):
  // far from the 200 calls of a full listing.
  EXPECT_LE(cost, 7 + 4 * (7 + 4)) << cost;
  EXPECT_GT(cost, 7);
}

TEST_P(SyncerTest, AKilledFullListingResumesWhereItStoppedAndServesTheOldStateMeanwhile) {
  AddVideos(1000);
  auto store = OpenStore();
  {
    auto syncer = MakeSyncer(*store);
    ASSERT_TRUE(syncer->SyncNow().ok());
  }
  // The library grows; a full listing of it fails after 20 calls.
  AddVideos(9000, 1000);
  api_.FailSearchAfter(20);
  {
    auto syncer = MakeSyncer(*store);
    Status s = syncer->SyncNow(/*full=*/true);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), ErrorCode::kUnavailable);
    EXPECT_GT(syncer->Stats().offline_since, 0);
  }
  // What is visible is still the old, complete listing.
  EXPECT_EQ(*store->CountMedia(MediaKind::kVideo), 1000);
  const int64_t staged = *store->CountStaged(MediaKind::kVideo);
  EXPECT_GT(staged, 0);
  const int before = Calls();
  auto syncer = MakeSyncer(*store);
  ASSERT_TRUE(syncer->SyncNow().ok());
  EXPECT_EQ(*store->CountMedia(MediaKind::kVideo), 10000);
  // The resumed listing did not list what was staged again.
  const int resumed = Calls() - before;
  EXPECT_LT(resumed, 100 + 12 - staged / 100 + 4) << resumed;
  EXPECT_EQ(*store->CountStaged(MediaKind::kVideo), 0);
}

TEST_P(SyncerTest, ImagesPastFiveThousandAreListedByPartitions) {
  AddImages(12000);
  auto store = OpenStore();
  auto syncer = MakeSyncer(*store);
  ASSERT_TRUE(syncer->SyncNow().ok()) << syncer->Stats().last_error;
  EXPECT_EQ(*store->CountMedia(MediaKind::kImage), 12000);
  auto img = store->MediaById(Id(900000 + 11999));
  ASSERT_TRUE(img.ok() && img->has_value());
  EXPECT_EQ((*img)->name, "Picture 11999 [" + Id(900000 + 11999) + "].png");
  EXPECT_EQ((*img)->size, 1000 + 11999);
  // 120 pages, 600 GetImageInfos of 20, a few partition counts.
  const auto calls = api_.calls();
  EXPECT_EQ(calls.at("GetImageInfos"), 600);
  EXPECT_LE(calls.at("SearchMedia"), 120 + 2 + 6 + 6);
  // An unchanged re-sync asks GetImageInfos nothing.
  ASSERT_TRUE(syncer->SyncNow().ok());
  EXPECT_EQ(api_.calls().at("GetImageInfos"), 600);
  // Deleted images are found as videos are.
  api_.RemoveImage(Id(900000 + 7000));
  ASSERT_TRUE(syncer->SyncNow().ok());
  EXPECT_EQ(*store->CountMedia(MediaKind::kImage), 11999);
}

TEST_P(SyncerTest, CategoriesAreWalkedWhenTheirFirstLevelChanges) {
  AddVideos(10);
  api_.SetCategories({{1, "Sports", 0, -1, 0, ""}, {11, "Football", 1, 1, 0, ""}, {111, "2024", 2, 11, 0, ""},
                      {2, "News", 0, -1, 0, ""}});
  auto store = OpenStore();
  auto syncer = MakeSyncer(*store);
  ASSERT_TRUE(syncer->SyncNow().ok());
  auto cats = store->Categories();
  ASSERT_TRUE(cats.ok());
  ASSERT_EQ(cats->size(), 4u);
  EXPECT_EQ((*cats)[2].id, 11);
  EXPECT_EQ((*cats)[2].parent_id, 1);
  recorder_.Take();
  const int before = api_.calls().at("GetCategories");
  ASSERT_TRUE(syncer->SyncNow().ok());
  EXPECT_EQ(api_.calls().at("GetCategories") - before, 1);  // the first level only
  api_.SetCategories({{1, "Sport", 0, -1, 0, ""}, {11, "Football", 1, 1, 0, ""}, {2, "News", 0, -1, 0, ""}});
  ASSERT_TRUE(syncer->SyncNow().ok());
  cats = store->Categories();
  ASSERT_EQ(cats->size(), 3u);
  EXPECT_EQ((*cats)[0].name, "Sport");
  bool announced = false;
  for (const auto& c : recorder_.Take()) announced |= c.op == ChangeRecord::Op::kCategories;
  EXPECT_TRUE(announced);
}

TEST_P(SyncerTest, ByIdResolvesWithOneCallAndRemembers) {
  AddVideos(5);
  AddImages(2);
  auto store = OpenStore();
  auto syncer = MakeSyncer(*store);
  // Before any sync: one GetVideoInfo.
  auto v = syncer->Resolve(Id(3));
  ASSERT_TRUE(v.ok()) << v.error().ToString();
  EXPECT_EQ(v->kind, MediaKind::kVideo);
  EXPECT_EQ(api_.calls().at("GetVideoInfo"), 1);
  EXPECT_TRUE(store->MediaById(Id(3))->has_value());
  // Again: from the index.
  ASSERT_TRUE(syncer->Resolve(Id(3)).ok());
  EXPECT_EQ(api_.calls().at("GetVideoInfo"), 1);
  // An image id: the video lookup says not found, the image one finds it.
  auto img = syncer->Resolve(Id(900001));
  ASSERT_TRUE(img.ok()) << img.error().ToString();
  EXPECT_EQ(img->kind, MediaKind::kImage);
  EXPECT_EQ(img->name, "Picture 1 [" + Id(900001) + "].png");
  auto none = syncer->Resolve(Id(777777));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.code(), ErrorCode::kNotFound);
  // The listing of the library is still not complete.
  EXPECT_FALSE(syncer->Complete());
}

TEST_P(SyncerTest, AFollowerReceivesTheChangesAnotherProcessCommitted) {
  AddVideos(100);
  auto store = OpenStore();
  auto leader = MakeSyncer(*store);
  ASSERT_TRUE(leader->SyncNow().ok());
  auto follower_store = OpenStore();
  Recorder follower_changes;
  Syncer follower(api_, *follower_store, clock_, io_, {.identity = "test-library"});
  ASSERT_TRUE(follower.Init().ok());
  follower.SetListener(&follower_changes);
  EXPECT_TRUE(follower.Complete());
  // The follower cannot sync while the leader holds the lock.
  Status busy = follower.SyncNow();
  EXPECT_EQ(busy.code(), ErrorCode::kAborted);
  api_.UpdateVideo(Id(5), [](vod::MediaInfo& m) {
    m.title = "Changed";
    m.modification_time = kBase + 900000;
  });
  ASSERT_TRUE(leader->SyncNow().ok());
  follower.Follow();
  auto got = follower_changes.Take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, Id(5));
  EXPECT_EQ(got[0].new_name, "Changed [" + Id(5) + "]");
  follower.Follow();
  EXPECT_TRUE(follower_changes.Take().empty());
}

TEST_P(SyncerTest, AnIndexOfAnotherLibraryIsListedAgainNotMixed) {
  AddVideos(20);
  auto store = OpenStore();
  {
    auto s = MakeSyncer(*store, {.identity = "library-a"});
    ASSERT_TRUE(s->SyncNow().ok());
  }
  EXPECT_EQ(*store->CountMedia(MediaKind::kVideo), 20);
  auto other = MakeSyncer(*store, {.identity = "library-b"});
  EXPECT_EQ(*store->CountMedia(MediaKind::kVideo), 0);
  EXPECT_FALSE(other->Complete());
}

TEST_P(SyncerTest, AServiceRepeatingOnePageFailsTheSyncInsteadOfLooping) {
  AddVideos(500);
  api_.RepeatPages(true);
  auto store = OpenStore();
  auto syncer = MakeSyncer(*store);
  Status s = syncer->SyncNow();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kBadResponse);
  EXPECT_NE(s.error().message.find("no progress"), std::string::npos) << s.ToString();
  EXPECT_LT(Calls(), 20);
  // The mount's listing reports it rather than waiting.
  Status wait = syncer->WaitComplete();
  EXPECT_EQ(wait.code(), ErrorCode::kBadResponse);
}

}  // namespace
}  // namespace vodfs::sync
