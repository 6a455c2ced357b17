// The library index on both engines (SQLite, and PostgreSQL in a throw-away
// cluster of this test binary): schema and migrations, media records and
// their inode prefixes, staging and applying a full sync, the change log,
// and what a crash or a damaged file leaves. Each test runs against both
// (TEST_P), on a fresh file or a fresh database.
#include "vodfs/index/store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "support/services.h"
#include "support/temp_dir.h"

namespace vodfs::index {
namespace {

using testing::TempDir;

MediaRecord Video(const std::string& id, const std::string& name, int64_t ctime = 1000, int64_t mtime = 2000) {
  MediaRecord m;
  m.id = id;
  m.kind = MediaKind::kVideo;
  m.name = name;
  m.title = name;
  m.creation_time = ctime;
  m.modification_time = mtime;
  m.status = "Normal";
  return m;
}

class StoreTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    if (GetParam() == Engine::kPostgres) url_ = testing::PostgresServer::Shared().CreateDatabase();
  }
  // The engine's database of this test (the same one on every call).
  Result<std::unique_ptr<Database>> OpenDb() {
    if (GetParam() == Engine::kPostgres) return OpenPostgres({.conninfo = url_});
    return OpenSqlite({.path = dir_.path() + "/index.db"});
  }
  std::unique_ptr<IndexStore> Open(const std::vector<Migration>* migrations = nullptr) {
    auto db = OpenDb();
    EXPECT_TRUE(db.ok()) << db.error().ToString();
    auto s = IndexStore::Open(std::move(db).value(), migrations);
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  Status Upsert(IndexStore& s, std::vector<MediaRecord> batch, std::vector<ChangeRecord>* changes = nullptr) {
    auto w = s.Write();
    if (!w.ok()) return w.status();
    VODFS_RETURN_IF_ERROR(w->UpsertMedia(std::move(batch), changes));
    return w->Commit();
  }
  TempDir dir_;
  std::string url_;
};

INSTANTIATE_TEST_SUITE_P(Engines, StoreTest, ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& i) {
                           return i.param == Engine::kSqlite ? "Sqlite" : "Postgres";
                         });

TEST_P(StoreTest, AFreshIndexHasTheNewestSchemaAndKeepsWhatWasWritten) {
  {
    auto s = Open();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->schema_version(), Migrations().back().version);
    ASSERT_TRUE(Upsert(*s, {Video("a1", "Alpha [a1]")}).ok());
    auto w = s->Write();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->SetMeta("sync.generation", "3").ok());
    ASSERT_TRUE(w->Commit().ok());
  }
  auto s = Open();
  ASSERT_TRUE(s);
  auto m = s->MediaById("a1");
  ASSERT_TRUE(m.ok() && m->has_value());
  EXPECT_EQ((*m)->name, "Alpha [a1]");
  EXPECT_NE((*m)->ino, 0u);
  auto g = s->GetMeta("sync.generation");
  ASSERT_TRUE(g.ok() && g->has_value());
  EXPECT_EQ(**g, "3");
}

TEST_P(StoreTest, MigrationsUpgradeKeepDataAndANewerIndexIsRefused) {
  std::vector<Migration> v1 = {Migrations()[0]};
  {
    auto s = Open(&v1);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->schema_version(), 1);
    ASSERT_TRUE(Upsert(*s, {Video("a1", "Alpha [a1]")}).ok());
  }
  std::vector<Migration> v2 = v1;
  v2.push_back({2, "ALTER TABLE media ADD COLUMN rating BIGINT NOT NULL DEFAULT 7",
                "ALTER TABLE media ADD COLUMN rating BIGINT NOT NULL DEFAULT 7"});
  {
    auto s = Open(&v2);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->schema_version(), 2);
    auto m = s->MediaById("a1");
    ASSERT_TRUE(m.ok() && m->has_value());
    EXPECT_EQ((*m)->name, "Alpha [a1]");
    auto c = s->db().Acquire();
    ASSERT_TRUE(c.ok());
    int64_t rating = 0;
    ASSERT_TRUE((*c)->Run("SELECT rating FROM media WHERE id = 'a1'", {}, [&](const Row& r) { rating = r.Int(0); }).ok());
    EXPECT_EQ(rating, 7);
  }
  // An older vodfs (knowing only version 1) refuses the version-2 index.
  auto db = OpenDb();
  ASSERT_TRUE(db.ok());
  auto old = IndexStore::Open(std::move(db).value(), &v1);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(old.error().message.find("newer"), std::string::npos);
}

TEST_P(StoreTest, AFailingMigrationLeavesTheIndexAtItsVersion) {
  std::vector<Migration> v1 = {Migrations()[0]};
  {
    auto s = Open(&v1);
    ASSERT_TRUE(s);
    ASSERT_TRUE(Upsert(*s, {Video("a1", "Alpha [a1]")}).ok());
  }
  std::vector<Migration> broken = v1;
  broken.push_back({2, "ALTER TABLE media ADD COLUMN x BIGINT; THIS IS NOT SQL",
                    "ALTER TABLE media ADD COLUMN x BIGINT; THIS IS NOT SQL"});
  auto db = OpenDb();
  ASSERT_TRUE(db.ok());
  auto bad = IndexStore::Open(std::move(db).value(), &broken);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("schema version 2"), std::string::npos);
  auto s = Open(&v1);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->schema_version(), 1);
  auto c = s->db().Acquire();
  ASSERT_TRUE(c.ok());
  // The half-run script was rolled back: no column x.
  EXPECT_FALSE((*c)->Run("SELECT x FROM media").ok());
  EXPECT_TRUE(s->MediaById("a1").ok());
}

// A damaged file is SQLite's case: a PostgreSQL index is no file.
class SqliteStoreTest : public StoreTest {};
TEST_P(SqliteStoreTest, AFileThatIsNotAnIndexIsDataLoss) {
  {
    std::ofstream f(dir_.path() + "/index.db");
    f << std::string(8192, 'x');
  }
  auto db = OpenDb();
  if (db.ok()) {
    auto s = IndexStore::Open(std::move(db).value());
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), ErrorCode::kDataLoss) << s.error().ToString();
  } else {
    EXPECT_EQ(db.code(), ErrorCode::kDataLoss) << db.error().ToString();
  }
}
INSTANTIATE_TEST_SUITE_P(Engines, SqliteStoreTest, ::testing::Values(Engine::kSqlite),
                         [](const ::testing::TestParamInfo<Engine>&) { return "Sqlite"; });

TEST_P(StoreTest, UpsertsKeepInodePrefixesAndReportWhatChanged) {
  auto s = Open();
  ASSERT_TRUE(s);
  std::vector<ChangeRecord> changes;
  ASSERT_TRUE(Upsert(*s, {Video("a1", "Alpha [a1]"), Video("b2", "Beta [b2]")}, &changes).ok());
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].op, ChangeRecord::Op::kAdd);
  const uint64_t ino = (*s->MediaById("a1"))->ino;
  EXPECT_EQ(ino, InoPrefixFor("video/a1"));

  // The same content again: nothing changes.
  changes.clear();
  ASSERT_TRUE(Upsert(*s, {Video("a1", "Alpha [a1]")}, &changes).ok());
  EXPECT_TRUE(changes.empty());

  // A rename keeps the inode prefix and says where it moved from.
  MediaRecord renamed = Video("a1", "Gamma [a1]", 1000, 3000);
  ASSERT_TRUE(Upsert(*s, {renamed}, &changes).ok());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].op, ChangeRecord::Op::kModify);
  EXPECT_EQ(changes[0].old_name, "Alpha [a1]");
  EXPECT_EQ(changes[0].new_name, "Gamma [a1]");
  EXPECT_EQ(changes[0].ino, ino);
  EXPECT_EQ((*s->MediaById("a1"))->ino, ino);
  auto by_old = s->MediaByName(MediaKind::kVideo, "Alpha [a1]");
  ASSERT_TRUE(by_old.ok());
  EXPECT_FALSE(by_old->has_value());
  auto by_new = s->MediaByName(MediaKind::kVideo, "Gamma [a1]");
  ASSERT_TRUE(by_new.ok() && by_new->has_value());
  auto by_ino = s->MediaByIno(ino);
  ASSERT_TRUE(by_ino.ok() && by_ino->has_value());
  EXPECT_EQ((*by_ino)->id, "a1");
}

TEST_P(StoreTest, TwoMediaSwappingNamesInOneBatchBothArrive) {
  auto s = Open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(Upsert(*s, {Video("a1", "one"), Video("b2", "two")}).ok());
  ASSERT_TRUE(Upsert(*s, {Video("a1", "two"), Video("b2", "one")}).ok());
  EXPECT_EQ((*s->MediaByName(MediaKind::kVideo, "two"))->id, "a1");
  EXPECT_EQ((*s->MediaByName(MediaKind::kVideo, "one"))->id, "b2");
}

TEST_P(StoreTest, AnInodePrefixCollisionIsProbedAway) {
  auto s = Open();
  ASSERT_TRUE(s);
  // A medium already holds the prefix b2 would hash to.
  MediaRecord squatter = Video("a1", "Alpha [a1]");
  squatter.ino = InoPrefixFor("video/b2");
  {
    auto c = s->db().Acquire();
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(Upsert(*s, {Video("a1", "Alpha [a1]")}).ok());
    ASSERT_TRUE((*c)->Run("UPDATE media SET ino = ? WHERE id = 'a1'", {static_cast<int64_t>(squatter.ino)}).ok());
  }
  ASSERT_TRUE(Upsert(*s, {Video("b2", "Beta [b2]")}).ok());
  const uint64_t b = (*s->MediaById("b2"))->ino;
  EXPECT_NE(b, squatter.ino);
  EXPECT_EQ(b, InoPrefixFor("video/b2", squatter.ino));
  EXPECT_LT(b, 1ULL << 48);
}

TEST_P(StoreTest, AClashingNameGetsTheIdAppendedNeverLost) {
  auto s = Open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(Upsert(*s, {Video("a1", "same")}).ok());
  std::vector<ChangeRecord> changes;
  ASSERT_TRUE(Upsert(*s, {Video("b2", "same")}, &changes).ok());
  auto b = s->MediaById("b2");
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->name, "same [b2]");
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].new_name, "same [b2]");
}

TEST_P(StoreTest, PagesFollowNameOrderAndOffsetsSkip) {
  auto s = Open();
  ASSERT_TRUE(s);
  std::vector<MediaRecord> batch;
  for (int i = 0; i < 250; ++i) {
    char name[16];
    std::snprintf(name, sizeof(name), "n%04d", (i * 37) % 250);
    batch.push_back(Video("id" + std::to_string(i), name));
  }
  MediaRecord audio = Video("au", "n0001x");
  audio.kind = MediaKind::kAudio;
  batch.push_back(audio);
  ASSERT_TRUE(Upsert(*s, batch).ok());
  std::vector<std::string> names;
  std::string after;
  while (true) {
    auto page = s->MediaPage(MediaKind::kVideo, after, 64);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    for (const auto& m : *page) names.push_back(m.name);
    after = page->back().name;
  }
  ASSERT_EQ(names.size(), 250u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), 250u);
  auto skipped = s->MediaPage(MediaKind::kVideo, "", 2, 100);
  ASSERT_TRUE(skipped.ok());
  ASSERT_EQ(skipped->size(), 2u);
  EXPECT_EQ((*skipped)[0].name, "n0100");
  EXPECT_EQ(*s->CountMedia(MediaKind::kVideo), 250);
  EXPECT_EQ(*s->CountMedia(MediaKind::kAudio), 1);
}

TEST_P(StoreTest, CreationRangesCountAndSplit) {
  auto s = Open();
  ASSERT_TRUE(s);
  std::vector<MediaRecord> batch;
  for (int i = 0; i < 100; ++i) batch.push_back(Video("v" + std::to_string(i), "v" + std::to_string(i), 1000 + i * 10));
  ASSERT_TRUE(Upsert(*s, batch).ok());
  EXPECT_EQ(*s->CountMediaCreated(MediaKind::kVideo, 1000, 1500), 50);
  EXPECT_EQ(*s->CountMediaCreated(MediaKind::kVideo, 0, INT64_MAX), 100);
  EXPECT_EQ(**s->CreationTimeAt(MediaKind::kVideo, 1000, 2000, 25), 1250);
  EXPECT_FALSE(s->CreationTimeAt(MediaKind::kVideo, 1000, 1100, 10)->has_value());
  EXPECT_EQ(s->MediaCreated(MediaKind::kVideo, 1200, 1230)->size(), 3u);
  EXPECT_EQ(**s->NewestModification(MediaKind::kVideo), 2000);
  EXPECT_FALSE(s->NewestModification(MediaKind::kImage)->has_value());
}

TEST_P(StoreTest, DeletingAMediumDropsItsDetailsAndObjects) {
  auto s = Open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(Upsert(*s, {Video("a1", "Alpha [a1]"), Video("b2", "Beta [b2]")}).ok());
  {
    auto w = s->Write();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->PutDetails({"a1", "a1", 2000, 5000, "{}"}).ok());
    ASSERT_TRUE(w->PutDetails({"a1/hls/j", "a1", 2000, 5000, "{\"x\":1}"}).ok());
    ASSERT_TRUE(w->PutObject({"source/a1", "a1", 123, "\"e\"", "lm", 5000}).ok());
    ASSERT_TRUE(w->PutDetails({"b2", "b2", 2000, 5000, "{}"}).ok());
    ASSERT_TRUE(w->Commit().ok());
  }
  EXPECT_EQ((*s->Object("source/a1"))->size, 123u);
  EXPECT_EQ((*s->Details("a1/hls/j"))->body, "{\"x\":1}");
  std::vector<ChangeRecord> changes;
  {
    auto w = s->Write();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->DeleteMedia({"a1"}, &changes).ok());
    ASSERT_TRUE(w->Commit().ok());
  }
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].op, ChangeRecord::Op::kRemove);
  EXPECT_EQ(changes[0].old_name, "Alpha [a1]");
  EXPECT_FALSE(s->MediaById("a1")->has_value());
  EXPECT_FALSE(s->Details("a1")->has_value());
  EXPECT_FALSE(s->Details("a1/hls/j")->has_value());
  EXPECT_FALSE(s->Object("source/a1")->has_value());
  EXPECT_TRUE(s->Details("b2")->has_value());
}

TEST_P(StoreTest, AnUncommittedWriterLeavesNoTrace) {
  auto s = Open();
  ASSERT_TRUE(s);
  {
    auto w = s->Write();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->UpsertMedia({Video("a1", "Alpha [a1]")}, nullptr).ok());
    ASSERT_TRUE(w->SetMeta("k", "v").ok());
  }
  EXPECT_FALSE(s->MediaById("a1")->has_value());
  EXPECT_FALSE(s->GetMeta("k")->has_value());
}

TEST_P(StoreTest, ApplyingAStageAddsRemovesAndRenamesInOneStep) {
  auto s = Open();
  ASSERT_TRUE(s);
  std::vector<ChangeRecord> changes;
  {
    auto w = s->Write();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->Stage({Video("a1", "Alpha [a1]"), Video("b2", "Beta [b2]")}).ok());
    ASSERT_TRUE(w->ApplyStage({MediaKind::kVideo}, 1000, &changes).ok());
    ASSERT_TRUE(w->Commit().ok());
  }
  // The first listing of a kind is one reset, not an add per medium.
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].op, ChangeRecord::Op::kReset);
  const uint64_t a_ino = (*s->MediaById("a1"))->ino;
  EXPECT_EQ(*s->CountStaged(MediaKind::kVideo), 0);

  changes.clear();
  {
    auto w = s->Write();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->Stage({Video("a1", "Alpha renamed [a1]", 1000, 2500), Video("c3", "Gamma [c3]")}).ok());
    ASSERT_TRUE(w->ApplyStage({MediaKind::kVideo}, 1000, &changes).ok());
    ASSERT_TRUE(w->Commit().ok());
  }
  std::map<std::string, ChangeRecord> by_id;
  for (const auto& c : changes) by_id[c.id] = c;
  ASSERT_EQ(by_id.size(), 3u);
  EXPECT_EQ(by_id["a1"].op, ChangeRecord::Op::kModify);
  EXPECT_EQ(by_id["a1"].old_name, "Alpha [a1]");
  EXPECT_EQ(by_id["a1"].new_name, "Alpha renamed [a1]");
  EXPECT_EQ(by_id["b2"].op, ChangeRecord::Op::kRemove);
  EXPECT_EQ(by_id["c3"].op, ChangeRecord::Op::kAdd);
  EXPECT_EQ((*s->MediaById("a1"))->ino, a_ino);  // the inode prefix survived the full listing
  EXPECT_FALSE(s->MediaById("b2")->has_value());
  EXPECT_EQ(*s->CountMedia(MediaKind::kVideo), 2);

  // Too many changes for one listing: a reset instead.
  changes.clear();
  {
    auto w = s->Write();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->Stage({Video("d4", "D [d4]"), Video("e5", "E [e5]"), Video("f6", "F [f6]")}).ok());
    ASSERT_TRUE(w->ApplyStage({MediaKind::kVideo}, 2, &changes).ok());
    ASSERT_TRUE(w->Commit().ok());
  }
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].op, ChangeRecord::Op::kReset);
  EXPECT_EQ(*s->CountMedia(MediaKind::kVideo), 3);
}

TEST_P(StoreTest, ApplyingAStageSettlesTwiceListedMediaAndSharedPrefixesAndNames) {
  auto s = Open();
  ASSERT_TRUE(s);
  {
    auto w = s->Write();
    ASSERT_TRUE(w.ok());
    // A resumed walk listed a1 twice (the second time renamed).
    ASSERT_TRUE(w->Stage({Video("a1", "Alpha [a1]"), Video("b2", "Beta [b2]")}).ok());
    ASSERT_TRUE(w->Stage({Video("a1", "Alpha again [a1]")}).ok());
    // Two media that land on one inode prefix and one name (as only a
    // collision of hashes and a hostile title could make them).
    ASSERT_TRUE(w->connection()
                    .Run("INSERT INTO media_next SELECT 'c3', kind, 'Same', ino, title, description, tags, cate_id, "
                         "cate_name, duration, size, status, storage_class, creation_time, modification_time, width, "
                         "height, image_type, file_name FROM media_next WHERE id = 'b2'")
                    .ok());
    ASSERT_TRUE(w->connection()
                    .Run("INSERT INTO media_next SELECT 'd4', kind, 'Same', ino + 1, title, description, tags, "
                         "cate_id, cate_name, duration, size, status, storage_class, creation_time, "
                         "modification_time, width, height, image_type, file_name FROM media_next WHERE id = 'b2'")
                    .ok());
    std::vector<ChangeRecord> changes;
    ASSERT_TRUE(w->ApplyStage({MediaKind::kVideo}, 1000, &changes).ok());
    ASSERT_TRUE(w->Commit().ok());
  }
  EXPECT_EQ(*s->CountMedia(MediaKind::kVideo), 4);
  EXPECT_EQ((*s->MediaById("a1"))->name, "Alpha again [a1]");
  std::set<uint64_t> inos;
  std::set<std::string> names;
  for (const char* id : {"a1", "b2", "c3", "d4"}) {
    auto m = s->MediaById(id);
    ASSERT_TRUE(m.ok() && m->has_value()) << id;
    inos.insert((*m)->ino);
    names.insert((*m)->name);
  }
  EXPECT_EQ(inos.size(), 4u);
  EXPECT_EQ(names.size(), 4u);
  EXPECT_EQ((*s->MediaById("b2"))->ino, InoPrefixFor("video/b2"));  // the first by id keeps it
  EXPECT_EQ((*s->MediaById("c3"))->name, "Same");
  EXPECT_EQ((*s->MediaById("d4"))->name, "Same [d4]");
  EXPECT_EQ(*s->CountStaged(MediaKind::kVideo), 0);
}

TEST_P(StoreTest, TheChangeLogNumbersAndTrims) {
  auto s = Open();
  ASSERT_TRUE(s);
  for (int round = 0; round < 3; ++round) {
    std::vector<ChangeRecord> changes(4);
    for (int i = 0; i < 4; ++i) changes[i].id = "m" + std::to_string(round * 4 + i);
    auto w = s->Write();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->LogChanges(&changes, 6).ok());
    ASSERT_TRUE(w->Commit().ok());
    EXPECT_EQ(changes.back().seq, (round + 1) * 4);
  }
  EXPECT_EQ(*s->LastChange(), 12);
  auto tail = s->ChangesSince(0, 100);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->size(), 6u);  // trimmed to the newest 6
  EXPECT_EQ(tail->front().id, "m6");
  auto after = s->ChangesSince(10, 100);
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ(after->front().seq, 11);
}

// A process killed (SIGKILL) at any moment of a large write leaves the
// index as it was or as the write made it, never in between.
TEST_P(StoreTest, AKillDuringAWriteLeavesTheOldOrTheNewState) {
  auto s = Open();
  ASSERT_TRUE(s);
  std::vector<MediaRecord> old;
  for (int i = 0; i < 300; ++i) old.push_back(Video("o" + std::to_string(i), "old " + std::to_string(i)));
  ASSERT_TRUE(Upsert(*s, old).ok());
  s.reset();
  for (int attempt = 0; attempt < 6; ++attempt) {
    int pipefd[2];
    ASSERT_EQ(pipe(pipefd), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(pipefd[0]);
      auto db = OpenDb();
      auto st = IndexStore::Open(std::move(db).value());
      if (!st.ok()) _exit(3);
      // Rewrites every medium and adds as many, in one transaction; says
      // when it has begun, then loops so the parent can kill it mid-way.
      for (int round = 0;; ++round) {
        auto w = (*st)->Write();
        if (!w.ok()) _exit(4);
        std::vector<MediaRecord> next;
        for (int i = 0; i < 300; ++i) next.push_back(Video("o" + std::to_string(i), "new " + std::to_string(i)));
        for (int i = 0; i < 300; ++i) next.push_back(Video("n" + std::to_string(i), "added " + std::to_string(i)));
        if (round == 0) (void)!write(pipefd[1], "x", 1);
        if (!w->UpsertMedia(next, nullptr).ok()) _exit(5);
        if (!w->Commit().ok()) _exit(6);
        // Back to the old state, to be killed again in either direction.
        auto w2 = (*st)->Write();
        if (!w2.ok()) _exit(7);
        std::vector<std::string> added;
        for (int i = 0; i < 300; ++i) added.push_back("n" + std::to_string(i));
        if (!w2->DeleteMedia(added, nullptr).ok()) _exit(8);
        if (!w2->UpsertMedia(old, nullptr).ok()) _exit(9);
        if (!w2->Commit().ok()) _exit(10);
      }
    }
    close(pipefd[1]);
    char c;
    ASSERT_EQ(read(pipefd[0], &c, 1), 1);
    close(pipefd[0]);
    usleep(static_cast<useconds_t>(2000 + attempt * 7000));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer ended on its own: " << status;

    auto reopened = Open();
    ASSERT_TRUE(reopened);
    const int64_t n = *reopened->CountMedia(MediaKind::kVideo);
    auto first = reopened->MediaById("o0");
    auto last = reopened->MediaById("o299");
    ASSERT_TRUE(first.ok() && first->has_value() && last.ok() && last->has_value());
    if (n == 300) {
      EXPECT_EQ((*first)->name, "old 0");
      EXPECT_EQ((*last)->name, "old 299");
    } else {
      ASSERT_EQ(n, 600) << "a state between the old and the new one";
      EXPECT_EQ((*first)->name, "new 0");
      EXPECT_EQ((*last)->name, "new 299");
    }
  }
}

}  // namespace
}  // namespace vodfs::index
