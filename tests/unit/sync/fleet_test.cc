// A fleet on one PostgreSQL index (a real server of this test binary):
// several mounts' syncers, each with its own connections, as separate
// processes would have them. Exactly one syncs; a change it commits
// reaches the others through LISTEN/NOTIFY, well before their poll; when
// the syncing one goes, another takes over and syncs; the one that lost
// its lock while listing does not commit; any mount can ask for a sync.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "support/fakes.h"
#include "support/services.h"
#include "vodfs/sync/syncer.h"

namespace vodfs::sync {
namespace {

using index::ChangeRecord;
using testing::FakeOrigin;
using testing::FakeVodApi;
using Steady = std::chrono::steady_clock;

constexpr int64_t kBase = 1700000000;

class Recorder final : public ChangeListener {
 public:
  void OnChanges(const std::vector<ChangeRecord>& c) override {
    MutexLock lock(&mu);
    for (const auto& x : c) changes.push_back(x);
  }
  bool Saw(const std::string& id) {
    MutexLock lock(&mu);
    for (const auto& c : changes) {
      if (c.id == id) return true;
    }
    return false;
  }
  Mutex mu;
  std::vector<ChangeRecord> changes GUARDED_BY(mu);
};

std::string Id(int i) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%032x", i + 1);
  return buf;
}

template <typename Pred>
bool Eventually(Pred pred, std::chrono::milliseconds limit) {
  const auto end = Steady::now() + limit;
  while (Steady::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

// One mount of the fleet: its own database connections, store, syncer.
struct Mount {
  std::unique_ptr<index::IndexStore> store;
  std::unique_ptr<Syncer> syncer;
  Recorder changes;
};

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::PostgresServer::Shared().CreateDatabase();
    io_.Start();
  }
  void AddVideo(int i, int64_t mtime = 0) {
    FakeVodApi::Video v;
    v.info.id = Id(i);
    v.info.media_type = "video";
    v.info.title = "Clip " + std::to_string(i);
    v.info.status = "Normal";
    v.info.creation_time = kBase + i * 10;
    v.info.modification_time = mtime ? mtime : kBase + i * 10 + 5;
    api_.AddVideo(v);
  }
  std::unique_ptr<Mount> StartMount(int64_t follow_interval) {
    auto m = std::make_unique<Mount>();
    index::PostgresOptions po;
    po.conninfo = url_;
    po.lock_heartbeat_s = 1;
    po.lock_idle_timeout_s = 3;
    auto db = index::OpenPostgres(po);
    EXPECT_TRUE(db.ok()) << db.error().ToString();
    auto s = index::IndexStore::Open(std::move(db).value());
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    m->store = std::move(s).value();
    SyncOptions o;
    o.identity = "fleet-library";
    o.follow_interval = follow_interval;
    o.interval = 3600;  // syncs only when asked, so that the test decides
    m->syncer = std::make_unique<Syncer>(api_, *m->store, clock_, io_, o);
    EXPECT_TRUE(m->syncer->Init().ok());
    m->syncer->SetListener(&m->changes);
    m->syncer->Start();
    return m;
  }
  static int Leaders(const std::vector<Mount*>& mounts) {
    int n = 0;
    for (auto* m : mounts) n += m->syncer->Stats().leader ? 1 : 0;
    return n;
  }

  std::string url_;
  FakeOrigin origin_;
  FakeVodApi api_{origin_};
  FakeClock clock_{kBase + 10000000};
  Executor io_{4, "fleet-io"};
};

TEST_F(FleetTest, OneMountSyncsAndAChangeReachesEveryMountAtOnce) {
  for (int i = 0; i < 50; ++i) AddVideo(i);
  // A 60 s poll: only the announcement can bring a change within seconds.
  auto a = StartMount(60);
  ASSERT_TRUE(Eventually([&] { return a->syncer->Stats().leader && a->syncer->Complete(); }, std::chrono::seconds(20)));
  auto b = StartMount(60);
  auto c = StartMount(60);
  ASSERT_TRUE(b->syncer->WaitComplete().ok());
  ASSERT_TRUE(c->syncer->WaitComplete().ok());
  EXPECT_EQ(Leaders({a.get(), b.get(), c.get()}), 1);
  EXPECT_TRUE(b->syncer->Stats().watching);
  // The same tree on every mount.
  for (auto* m : {b.get(), c.get()}) {
    auto page = m->store->MediaPage(index::MediaKind::kVideo, "", 100);
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->size(), 50u);
  }
  const int calls = api_.total_calls();
  AddVideo(77, kBase + 900000);
  a->syncer->RequestSync();
  const auto t0 = Steady::now();
  ASSERT_TRUE(Eventually([&] { return b->changes.Saw(Id(77)) && c->changes.Saw(Id(77)); }, std::chrono::seconds(10)));
  EXPECT_LT(Steady::now() - t0, std::chrono::seconds(5));
  EXPECT_GE(b->syncer->Stats().notifications, 1);
  // One sync for the fleet: only the leader called the API.
  EXPECT_LE(api_.total_calls() - calls, 8);
  EXPECT_EQ(b->syncer->Stats().api_calls, 0);
  EXPECT_EQ(c->syncer->Stats().api_calls, 0);
}

TEST_F(FleetTest, WhenTheSyncingMountGoesAnotherTakesOverAndSyncs) {
  for (int i = 0; i < 20; ++i) AddVideo(i);
  auto a = StartMount(1);
  ASSERT_TRUE(Eventually([&] { return a->syncer->Stats().leader && a->syncer->Complete(); }, std::chrono::seconds(20)));
  auto b = StartMount(1);
  ASSERT_TRUE(b->syncer->WaitComplete().ok());
  EXPECT_FALSE(b->syncer->Stats().leader);
  // The syncing mount goes away (an unmount; a killed or hung process is
  // the lock's own test, index/postgres_test.cc).
  const auto t0 = Steady::now();
  a.reset();
  ASSERT_TRUE(Eventually([&] { return b->syncer->Stats().leader; }, std::chrono::seconds(30)));
  EXPECT_LT(Steady::now() - t0, std::chrono::seconds(5));
  AddVideo(33, kBase + 900000);
  b->syncer->RequestSync();
  ASSERT_TRUE(Eventually([&] { return b->changes.Saw(Id(33)); }, std::chrono::seconds(20)));
  auto m = b->store->MediaById(Id(33));
  ASSERT_TRUE(m.ok() && m->has_value());
}

// A syncer that lost its lock (its session cut by the server) does not
// commit; it follows until it can lead again.
TEST_F(FleetTest, AMountThatLostTheLockDoesNotCommit) {
  for (int i = 0; i < 10; ++i) AddVideo(i);
  auto a = StartMount(1);
  ASSERT_TRUE(Eventually([&] { return a->syncer->Stats().leader && a->syncer->Complete(); }, std::chrono::seconds(20)));
  const std::string db_name = url_.substr(url_.rfind('/') + 1);
  testing::PostgresServer::Shared().Admin(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db_name +
      "' AND application_name LIKE 'vodfs sync%'");
  ASSERT_TRUE(Eventually([&] { return a->syncer->Stats().lost_leaderships >= 1 || a->syncer->Stats().fenced_syncs >= 1; },
                         std::chrono::seconds(10)));
  // It takes the lock again (nobody else holds it) and syncs on.
  ASSERT_TRUE(Eventually([&] { return a->syncer->Stats().leader; }, std::chrono::seconds(10)));
  AddVideo(44, kBase + 900000);
  a->syncer->RequestSync();
  ASSERT_TRUE(Eventually([&] { return a->changes.Saw(Id(44)); }, std::chrono::seconds(20)));
}

// `vodfs index sync` on a machine that does not sync: the request goes
// through the index to whichever mount syncs, which syncs at once.
TEST_F(FleetTest, ASyncCanBeAskedForFromAnyMountOfTheFleet) {
  for (int i = 0; i < 10; ++i) AddVideo(i);
  auto a = StartMount(60);
  ASSERT_TRUE(Eventually([&] { return a->syncer->Stats().leader && a->syncer->Complete(); }, std::chrono::seconds(20)));
  auto b = StartMount(60);
  ASSERT_TRUE(b->syncer->WaitComplete().ok());
  const int64_t syncs = a->syncer->Stats().syncs;
  AddVideo(55, kBase + 900000);
  ASSERT_TRUE(b->syncer->Request().ok());
  ASSERT_TRUE(Eventually([&] { return b->changes.Saw(Id(55)); }, std::chrono::seconds(10)));
  EXPECT_EQ(a->syncer->Stats().syncs, syncs + 1);
  EXPECT_EQ(b->syncer->Stats().api_calls, 0);
}

}  // namespace
}  // namespace vodfs::sync
