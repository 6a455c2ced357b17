// What only the PostgreSQL engine has, against a real server: the writer
// lock shared by processes (released when its holder dies, taken from a
// holder that hangs), change announcements (LISTEN/NOTIFY, at commit
// only), a database that goes away and comes back, and a password that
// never reaches a message or a log line. The store's behaviour on both
// engines is in store_test.cc.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "support/services.h"
#include "vodfs/index/db.h"
#include "vodfs/index/store.h"
#include "vodfs/util/log.h"

namespace vodfs::index {
namespace {

using Clock = std::chrono::steady_clock;
using testing::PostgresServer;

Result<std::unique_ptr<Database>> Open(const std::string& url, int idle_timeout_s = 20) {
  PostgresOptions o;
  o.conninfo = url;
  o.lock_heartbeat_s = 1;
  o.lock_idle_timeout_s = idle_timeout_s;
  return OpenPostgres(o);
}

std::unique_ptr<IndexStore> OpenStore(const std::string& url) {
  auto db = Open(url);
  EXPECT_TRUE(db.ok()) << db.error().ToString();
  if (!db.ok()) return nullptr;
  auto s = IndexStore::Open(std::move(db).value());
  EXPECT_TRUE(s.ok()) << s.error().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

// Waits up to `limit` for `pred`.
template <typename Pred>
bool Eventually(Pred pred, std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

TEST(RedactConninfoTest, PasswordsAreCutFromEveryForm) {
  EXPECT_EQ(RedactConninfo("postgresql://vodfs:s3cret@db1:5432/vod"), "postgresql://vodfs:<redacted>@db1:5432/vod");
  EXPECT_EQ(RedactConninfo("postgres://vodfs:p%40ss@db1/vod?sslmode=require"),
            "postgres://vodfs:<redacted>@db1/vod?sslmode=require");
  EXPECT_EQ(RedactConninfo("postgresql://db1/vod?user=u&password=s3cret&sslmode=require"),
            "postgresql://db1/vod?user=u&password=<redacted>&sslmode=require");
  EXPECT_EQ(RedactConninfo("postgresql://vodfs@db1/vod"), "postgresql://vodfs@db1/vod");
  EXPECT_EQ(RedactConninfo("host=db1 password=s3cret dbname=vod"), "host=db1 password=<redacted> dbname=vod");
  EXPECT_EQ(RedactConninfo("host=db1 password = 'se cr\\'et' dbname=vod"), "host=db1 password = <redacted> dbname=vod");
  EXPECT_TRUE(IsPostgresLocation("postgresql://db1/vod"));
  EXPECT_TRUE(IsPostgresLocation("postgres://db1/vod"));
  EXPECT_FALSE(IsPostgresLocation("/var/cache/vodfs/index.db"));
}

TEST(PostgresTest, ThePasswordNeverReachesAMessageOrALogLine) {
  PostgresServer& pg = PostgresServer::Shared();
  const std::string url = pg.CreateDatabase();
  std::vector<std::string> lines;
  log::SetLevel(log::Level::kDebug);
  log::SetSink([&lines](log::Level, std::string_view line) { lines.emplace_back(line); });
  {
    auto db = Open(url);
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    EXPECT_EQ((*db)->Describe().find(pg.password()), std::string::npos);
    EXPECT_NE((*db)->Describe().find("127.0.0.1"), std::string::npos);
    auto c = (*db)->Acquire();
    ASSERT_TRUE(c.ok());
    auto bad = (*c)->Run("SELECT no_such_column FROM pg_class");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().message.find(pg.password()), std::string::npos) << bad.error().message;
    VODFS_LOG(kWarn) << "the index is at " << url;
  }
  // A wrong password: refused, said so, and neither password shown.
  std::string wrong = url;
  wrong.replace(wrong.find(pg.password()), pg.password().size(), "wrong-" + pg.password());
  auto refused = Open(wrong);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(refused.error().message.find(pg.password()), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("password authentication failed"), std::string::npos)
      << refused.error().message;
  log::SetSink(nullptr);
  log::SetLevel(log::Level::kInfo);
  ASSERT_FALSE(lines.empty());
  for (const auto& l : lines) EXPECT_EQ(l.find(pg.password()), std::string::npos) << l;
}

TEST(PostgresTest, ADatabaseThatCannotBeReachedIsUnavailableAtOnce) {
  const auto t0 = Clock::now();
  auto db = Open("postgresql://nobody:pw-unused@127.0.0.1:" + std::to_string(testing::FreeLoopbackPort()) + "/none");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.code(), ErrorCode::kUnavailable);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(6));
}

TEST(PostgresTest, OneWriterAtATimeAndTheLockGoesWithItsHolder) {
  const std::string url = PostgresServer::Shared().CreateDatabase();
  auto a = Open(url);
  auto b = Open(url);
  ASSERT_TRUE(a.ok() && b.ok());
  auto held = (*a)->TryLockWriter();
  ASSERT_TRUE(held.ok()) << held.error().ToString();
  ASSERT_TRUE(*held);
  EXPECT_TRUE((*held)->Held());
  auto second = (*b)->TryLockWriter();
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
  // The holder is named (host and pid), and is this process.
  EXPECT_NE((*b)->WriterHolder().find("pid " + std::to_string(getpid())), std::string::npos)
      << (*b)->WriterHolder();
  EXPECT_EQ((*b)->WriterPid(), getpid());
  held->reset();
  auto third = (*b)->TryLockWriter();
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(*third);
  EXPECT_EQ((*a)->WriterPid(), getpid());
}

TEST(PostgresTest, AHolderWhoseSessionIsCutKnowsItLostTheLock) {
  PostgresServer& pg = PostgresServer::Shared();
  const std::string url = pg.CreateDatabase();
  auto a = Open(url);
  ASSERT_TRUE(a.ok());
  auto held = (*a)->TryLockWriter();
  ASSERT_TRUE(held.ok() && *held);
  const std::string db_name = url.substr(url.rfind('/') + 1);
  pg.Admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db_name +
           "' AND application_name LIKE 'vodfs sync%'");
  EXPECT_TRUE(Eventually([&] { return !(*held)->Held(); }, std::chrono::seconds(5)));
  auto again = (*a)->TryLockWriter();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*again);
}

// Two processes: the child takes the lock; killed, it frees the lock at
// once; stopped (a hung mount), the server ends its silent session after
// the idle timeout and the parent takes over.
TEST(PostgresTest, ADeadOrHungHolderIsTakenOverFrom) {
  const std::string url = PostgresServer::Shared().CreateDatabase();
  for (int signal_to_send : {SIGKILL, SIGSTOP}) {
    int pipefd[2];
    ASSERT_EQ(pipe(pipefd), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(pipefd[0]);
      auto db = Open(url, /*idle_timeout_s=*/3);
      if (!db.ok()) _exit(3);
      auto lock = (*db)->TryLockWriter();
      if (!lock.ok() || !*lock) _exit(4);
      (void)!write(pipefd[1], "x", 1);
      while (true) pause();
    }
    close(pipefd[1]);
    char ch = 0;
    ASSERT_EQ(read(pipefd[0], &ch, 1), 1);
    close(pipefd[0]);
    auto db = Open(url);
    ASSERT_TRUE(db.ok());
    {
      auto busy = (*db)->TryLockWriter();
      ASSERT_TRUE(busy.ok());
      EXPECT_FALSE(*busy) << "the child holds the lock";
    }
    kill(child, signal_to_send);
    const auto t0 = Clock::now();
    std::unique_ptr<Database::WriterLock> mine;
    ASSERT_TRUE(Eventually(
        [&] {
          auto l = (*db)->TryLockWriter();
          if (l.ok() && *l) mine = std::move(l).value();
          return mine != nullptr;
        },
        std::chrono::seconds(15)));
    const auto waited = Clock::now() - t0;
    if (signal_to_send == SIGKILL) {
      EXPECT_LT(waited, std::chrono::seconds(2));
    } else {
      EXPECT_GE(waited, std::chrono::seconds(2));  // the idle timeout, not at once
      kill(child, SIGKILL);
    }
    waitpid(child, nullptr, 0);
  }
}

TEST(PostgresTest, CommittedChangesAreAnnouncedRolledBackOnesAreNot) {
  const std::string url = PostgresServer::Shared().CreateDatabase();
  auto writer = OpenStore(url);
  ASSERT_TRUE(writer);
  auto follower = Open(url);
  ASSERT_TRUE(follower.ok());
  auto watch = (*follower)->WatchChanges();
  ASSERT_TRUE(watch.ok()) << watch.error().ToString();
  ASSERT_TRUE(*watch);
  auto quiet = (**watch).Wait(std::chrono::milliseconds(200));
  ASSERT_TRUE(quiet.ok());
  EXPECT_FALSE(*quiet);
  auto log_one = [&](bool commit) {
    auto w = writer->Write();
    ASSERT_TRUE(w.ok());
    std::vector<ChangeRecord> changes(1);
    changes[0].op = ChangeRecord::Op::kReset;
    ASSERT_TRUE(w->LogChanges(&changes).ok());
    if (commit) {
      ASSERT_TRUE(w->Commit().ok());
    }
  };
  log_one(false);
  auto after_rollback = (**watch).Wait(std::chrono::milliseconds(300));
  ASSERT_TRUE(after_rollback.ok());
  EXPECT_FALSE(*after_rollback);
  log_one(true);
  const auto t0 = Clock::now();
  auto after_commit = (**watch).Wait(std::chrono::seconds(5));
  ASSERT_TRUE(after_commit.ok());
  EXPECT_TRUE(*after_commit);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(1));
}

// The server stops and starts again: what failed meanwhile failed as
// kUnavailable, and the same Database works again afterwards (broken
// connections are dropped, not handed out again); the watch reconnects
// and says so.
TEST(PostgresTest, AServerRestartIsRiddenOut) {
  PostgresServer pg;
  const std::string url = pg.CreateDatabase();
  auto store = OpenStore(url);
  ASSERT_TRUE(store);
  auto watch = store->db().WatchChanges();
  ASSERT_TRUE(watch.ok() && *watch);
  ASSERT_TRUE(store->GetMeta("x").ok());
  pg.Stop();
  auto down = store->GetMeta("x");
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.code(), ErrorCode::kUnavailable) << down.error().ToString();
  auto w = (**watch).Wait(std::chrono::milliseconds(500));
  EXPECT_TRUE(!w.ok() || *w);
  pg.Start();
  EXPECT_TRUE(Eventually([&] { return store->GetMeta("x").ok(); }, std::chrono::seconds(10)));
  bool reconnected = false;
  for (int i = 0; i < 20 && !reconnected; ++i) {
    auto r = (**watch).Wait(std::chrono::milliseconds(200));
    reconnected = r.ok() && *r;
  }
  EXPECT_TRUE(reconnected);
  auto wr = store->Write();
  ASSERT_TRUE(wr.ok());
  ASSERT_TRUE(wr->SetMeta("x", "1").ok());
  ASSERT_TRUE(wr->Commit().ok());
}

}  // namespace
}  // namespace vodfs::index
