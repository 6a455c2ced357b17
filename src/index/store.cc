#include "vodfs/index/store.h"

#include "index/schema.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "vodfs/util/log.h"
#include "vodfs/util/strings.h"

namespace vodfs::index {

namespace {

// 47 bits: the namespace keeps the 48th for categories (ns/inodes.h).
constexpr uint64_t kPrefixMask = (1ULL << 47) - 1;
// IN lists are sent with exactly this many placeholders (the last value
// repeated), so that every batch query is one prepared statement.
constexpr size_t kInList = 64;

const char* const kCols =
    "id, kind, name, ino, title, description, tags, cate_id, cate_name, duration, size, status,"
    " storage_class, creation_time, modification_time, width, height, image_type, file_name";
constexpr size_t kNumCols = 19;

std::string Placeholders(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += i ? ",?" : "?";
  return s;
}

std::string Prefixed(const std::string& alias) {
  std::string out;
  for (const auto& c : str::Split(kCols, ',')) {
    if (!out.empty()) out += ", ";
    out += alias + "." + std::string(str::Trim(c));
  }
  return out;
}

MediaRecord Decode(const Row& r, size_t at = 0) {
  MediaRecord m;
  m.id = r.Text(at + 0);
  m.kind = static_cast<MediaKind>(r.Int(at + 1));
  m.name = r.Text(at + 2);
  m.ino = static_cast<uint64_t>(r.Int(at + 3));
  m.title = r.Text(at + 4);
  m.description = r.Text(at + 5);
  m.tags = r.Text(at + 6);
  m.cate_id = r.Int(at + 7);
  m.cate_name = r.Text(at + 8);
  m.duration = r.Real(at + 9);
  m.size = r.Int(at + 10);
  m.status = r.Text(at + 11);
  m.storage_class = r.Text(at + 12);
  m.creation_time = r.Int(at + 13);
  m.modification_time = r.Int(at + 14);
  m.width = r.Int(at + 15);
  m.height = r.Int(at + 16);
  m.image_type = r.Text(at + 17);
  m.file_name = r.Text(at + 18);
  return m;
}

void Encode(const MediaRecord& m, Params* p) {
  p->push_back(m.id);
  p->push_back(static_cast<int64_t>(m.kind));
  p->push_back(m.name);
  p->push_back(static_cast<int64_t>(m.ino));
  p->push_back(m.title);
  p->push_back(m.description);
  p->push_back(m.tags);
  p->push_back(m.cate_id);
  p->push_back(m.cate_name);
  p->push_back(m.duration);
  p->push_back(m.size);
  p->push_back(m.status);
  p->push_back(m.storage_class);
  p->push_back(m.creation_time);
  p->push_back(m.modification_time);
  p->push_back(m.width);
  p->push_back(m.height);
  p->push_back(m.image_type);
  p->push_back(m.file_name);
}

// Runs `sql` (which ends in "IN (<kInList placeholders>)", optionally
// followed by more text) once per chunk of `values`.
Status RunIn(Connection& c, const std::string& before, const std::string& after, const Params& leading,
             const std::vector<Value>& values, const RowFn& on_row) {
  const std::string sql = before + " IN (" + Placeholders(kInList) + ")" + after;
  for (size_t i = 0; i < values.size(); i += kInList) {
    Params p = leading;
    for (size_t k = 0; k < kInList; ++k) p.push_back(values[std::min(i + k, values.size() - 1)]);
    VODFS_RETURN_IF_ERROR(c.Run(sql, p, on_row).status());
  }
  return Status::Ok();
}

std::string Identity(const MediaRecord& m) { return std::string(MediaKindName(m.kind)) + "/" + m.id; }

Result<std::optional<MediaRecord>> One(Connection& c, const std::string& where, const Params& p) {
  std::optional<MediaRecord> out;
  VODFS_RETURN_IF_ERROR(c.Run(std::string("SELECT ") + kCols + " FROM media WHERE " + where + " LIMIT 1", p,
                               [&out](const Row& r) { out = Decode(r); }).status());
  return out;
}

}  // namespace

const char* MediaKindName(MediaKind k) {
  switch (k) {
    case MediaKind::kVideo: return "video";
    case MediaKind::kAudio: return "audio";
    case MediaKind::kImage: return "image";
  }
  return "video";
}

const char* ChangeOpName(ChangeRecord::Op op) {
  switch (op) {
    case ChangeRecord::Op::kAdd: return "add";
    case ChangeRecord::Op::kModify: return "modify";
    case ChangeRecord::Op::kRemove: return "remove";
    case ChangeRecord::Op::kReset: return "reset";
    case ChangeRecord::Op::kCategories: return "categories";
  }
  return "?";
}

bool MediaRecord::SameContent(const MediaRecord& o) const {
  return id == o.id && kind == o.kind && name == o.name && title == o.title && description == o.description &&
         tags == o.tags && cate_id == o.cate_id && cate_name == o.cate_name && duration == o.duration &&
         size == o.size && status == o.status && storage_class == o.storage_class &&
         creation_time == o.creation_time && modification_time == o.modification_time && width == o.width &&
         height == o.height && image_type == o.image_type && file_name == o.file_name;
}

uint64_t InoPrefixFor(const std::string& identity, uint64_t previous) {
  uint64_t h = previous == 0 ? str::StableHash64(identity, 0x696e6f646573ULL)
                             : str::Mix64(previous ^ str::StableHash64(identity, 0x70726f6265ULL));
  h &= kPrefixMask;
  return h == 0 ? 1 : h;
}

// ---------------------------------------------------------------------------
// Opening and migrations

Result<std::unique_ptr<IndexStore>> IndexStore::Open(std::unique_ptr<Database> db,
                                                     const std::vector<Migration>* migrations) {
  const std::vector<Migration>& steps = migrations ? *migrations : Migrations();
  const int newest = steps.empty() ? 0 : steps.back().version;
  VODFS_ASSIGN_OR_RETURN(Database::Lease c, db->Acquire());
  {
    // In a write transaction: two processes opening a new PostgreSQL index
    // at once would otherwise race to create the table (and one fail).
    VODFS_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*c, true));
    VODFS_RETURN_IF_ERROR(c->Script("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"));
    VODFS_RETURN_IF_ERROR(txn.Commit());
  }
  auto read_version = [&c]() -> Result<int> {
    int v = 0;
    VODFS_RETURN_IF_ERROR(c->Run("SELECT value FROM meta WHERE key = ?", {std::string("schema_version")},
                                             [&v](const Row& r) { v = static_cast<int>(str::ParseInt64(r.Text(0)).value_or(-1)); }).status());
    if (v < 0) return Error(ErrorCode::kDataLoss, "the index's schema version is not a number");
    return v;
  };
  VODFS_ASSIGN_OR_RETURN(int version, read_version());
  if (version > newest) {
    return Error(ErrorCode::kFailedPrecondition,
                 "the index " + db->Describe() + " has schema version " + std::to_string(version) +
                     ", newer than this vodfs knows (" + std::to_string(newest) +
                     "): use a newer vodfs, or clear the index (vodfs index clear)");
  }
  for (const Migration& m : steps) {
    if (m.version <= version) continue;
    VODFS_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*c, true));
    // Another process may have migrated meanwhile (it held the write lock).
    VODFS_ASSIGN_OR_RETURN(int now, read_version());
    if (now >= m.version) {
      version = now;
      continue;
    }
    Status s = c->Script(db->engine() == Engine::kSqlite ? m.sqlite_sql : m.postgres_sql);
    if (!s.ok()) {
      return Error(s.code(), "Cannot migrate the index to schema version " + std::to_string(m.version) + ": " +
                                 s.error().message);
    }
    VODFS_RETURN_IF_ERROR(c->Run("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO "
                                             "UPDATE SET value = excluded.value",
                                             {std::string("schema_version"), std::to_string(m.version)}).status());
    VODFS_RETURN_IF_ERROR(txn.Commit());
    if (version > 0) VODFS_LOG(kInfo) << "Migrated the index to schema version " << m.version;
    version = m.version;
  }
  c = Database::Lease();
  return std::unique_ptr<IndexStore>(new IndexStore(std::move(db), version));
}

// ---------------------------------------------------------------------------
// Reads

Result<std::optional<std::string>> IndexStore::GetMeta(const std::string& key) {
  VODFS_ASSIGN_OR_RETURN(Database::Lease c, db_->Acquire());
  std::optional<std::string> v;
  VODFS_RETURN_IF_ERROR(c->Run("SELECT value FROM meta WHERE key = ?", {key},
                                           [&v](const Row& r) { v = r.Text(0); }).status());
  return v;
}

Result<std::optional<MediaRecord>> IndexStore::MediaById(const std::string& id) {
  VODFS_ASSIGN_OR_RETURN(Database::Lease c, db_->Acquire());
  return One(*c, "id = ?", {id});
}

Result<std::optional<MediaRecord>> IndexStore::MediaByName(MediaKind kind, const std::string& name) {
  VODFS_ASSIGN_OR_RETURN(Database::Lease c, db_->Acquire());
  return One(*c, "kind = ? AND name = ?", {static_cast<int64_t>(kind), name});
}

Result<std::optional<MediaRecord>> IndexStore::MediaByIno(uint64_t ino) {
  VODFS_ASSIGN_OR_RETURN(Database::Lease c, db_->Acquire());
  return One(*c, "ino = ?", {static_cast<int64_t>(ino)});
}

Result<std::vector<MediaRecord>> IndexStore::MediaPage(MediaKind kind, const std::string& after, size_t limit,
                                                       size_t offset) {
  VODFS_ASSIGN_OR_RETURN(Database::Lease c, db_->Acquire());
  std::vector<MediaRecord> out;
  out.reserve(std::min<size_t>(limit, 1024));
  VODFS_RETURN_IF_ERROR(c->Run(std::string("SELECT ") + kCols +
                            " FROM media WHERE kind = ? AND name > ? ORDER BY name LIMIT ? OFFSET ?",
                        {static_cast<int64_t>(kind), after, static_cast<int64_t>(limit), static_cast<int64_t>(offset)},
                        [&out](const Row& r) { out.push_back(Decode(r)); }).status());
  return out;
}

Result<std::vector<MediaRecord>> IndexStore::CategoryMediaPage(int64_t cate_id, const std::string& after,
                                                               size_t limit, size_t offset) {
  VODFS_ASSIGN_OR_RETURN(Database::Lease c, db_->Acquire());
  std::vector<MediaRecord> out;
  VODFS_RETURN_IF_ERROR(c->Run(std::string("SELECT ") + kCols +
                            " FROM media WHERE cate_id = ? AND kind < 2 AND name > ? ORDER BY name LIMIT ? OFFSET ?",
                        {cate_id, after, static_cast<int64_t>(limit), static_cast<int64_t>(offset)},
                        [&out](const Row& r) { out.push_back(Decode(r)); }).status());
  return out;
}

Result<std::optional<MediaRecord>> IndexStore::CategoryMediaByName(int64_t cate_id, const std::string& name) {
  VODFS_ASSIGN_OR_RETURN(Database::Lease c, db_->Acquire());
  return One(*c, "cate_id = ? AND kind < 2 AND name = ?", {cate_id, name});
}

Result<int64_t> IndexStore::CountMedia(MediaKind kind) {
  VODFS_ASSIGN_OR_RETURN(Database::Lease c, db_->Acquire());
  int64_t count = 0;
  VODFS_RETURN_IF_ERROR(c->Run("SELECT count(*) FROM media WHERE kind = ?", {static_cast<int64_t>(kind)},
                                           [&count](const Row& r) { count = r.Int(0); }).status());
  return count;
}

Result<int64_t> IndexStore::CountMediaCreated(MediaKind kind, int64_t from, int64_t to) {
  VODFS_ASSIGN_OR_RETURN(Database::Lease c, db_->Acquire());
  int64_t count = 0;
  VODFS_RETURN_IF_ERROR(c->Run("SELECT count(*) FROM media WHERE kind = ? AND creation_time >= ? AND creation_time < ?",
                                {static_cast<int64_t>(kind), from, to}, [&count](const Row& r) { count = r.Int(0); }).status());
  return count;
}

Result<std::optional<int64_t>> IndexStore::CreationTimeAt(MediaKind kind, int64_t from, int64_t to, int64_t nth) {
  VODFS_ASSIGN_OR_RETURN(Database::Lease c, db_->Acquire());
  std::optional<int64_t> t;
  VODFS_RETURN_IF_ERROR(c->Run("SELECT creation_time FROM media WHERE kind = ? AND creation_time >= ? AND "
                                           "creation_time < ? ORDER BY creation_time LIMIT 1 OFFSET ?",
                                           {static_cast<int64_t>(kind), from, to, nth},
                                           [&t](const Row& r) { t = r.Int(0); }).status());
  return t;
}

Result<std::vector<MediaRecord>> IndexStore::MediaCreated(MediaKind kind, int64_t from, int64_t to) {
  VODFS_ASSIGN_OR_RETURN(Database::Lease c, db_->Acquire());
  std::vector<MediaRecord> out;
  VODFS_RETURN_IF_ERROR(c->Run(std::string("SELECT ") + kCols +
                                               " FROM media WHERE kind = ? AND creation_time >= ? AND creation_time < ?",
                                           {static_cast<int64_t>(kind), from, to},
                                           [&out](const Row& r) { out.push_back(Decode(r)); }).status());
  return out;
}

Result<std::optional<int64_t>> IndexStore::NewestModification(MediaKind kind) {
  VODFS_ASSIGN_OR_RETURN(Database::Lease c, db_->Acquire());
  std::optional<int64_t> t;
  VODFS_RETURN_IF_ERROR(c->Run("SELECT max(modification_time) FROM media WHERE kind = ?",
                                           {static_cast<int64_t>(kind)}, [&t](const Row& r) {
                                             if (!r.IsNull(0)) t = r.Int(0);
                                           }).status());
  return t;
}

Result<std::vector<CategoryRecord>> IndexStore::Categories() {
  VODFS_ASSIGN_OR_RETURN(Database::Lease c, db_->Acquire());
  std::vector<CategoryRecord> out;
  VODFS_RETURN_IF_ERROR(c->Run("SELECT id, parent_id, name, level FROM categories ORDER BY id", {},
                                           [&out](const Row& r) {
                                             out.push_back({r.Int(0), r.Int(1), r.Text(2), r.Int(3)});
                                           }).status());
  return out;
}

Result<std::optional<DetailsRecord>> IndexStore::Details(const std::string& key) {
  VODFS_ASSIGN_OR_RETURN(Database::Lease c, db_->Acquire());
  std::optional<DetailsRecord> out;
  VODFS_RETURN_IF_ERROR(c->Run("SELECT key, media_id, modification_time, fetched_at, body FROM details "
                                           "WHERE key = ?",
                                           {key}, [&out](const Row& r) {
                                             out = DetailsRecord{r.Text(0), r.Text(1), r.Int(2), r.Int(3), r.Text(4)};
                                           }).status());
  return out;
}

Result<std::optional<ObjectRecord>> IndexStore::Object(const std::string& ref) {
  VODFS_ASSIGN_OR_RETURN(Database::Lease c, db_->Acquire());
  std::optional<ObjectRecord> out;
  VODFS_RETURN_IF_ERROR(c->Run("SELECT ref, media_id, size, etag, last_modified, seen_at FROM objects "
                                           "WHERE ref = ?",
                                           {ref}, [&out](const Row& r) {
                                             out = ObjectRecord{r.Text(0), r.Text(1), static_cast<uint64_t>(r.Int(2)),
                                                                r.Text(3), r.Text(4), r.Int(5)};
                                           }).status());
  return out;
}

Result<std::vector<ChangeRecord>> IndexStore::ChangesSince(int64_t seq, size_t limit) {
  VODFS_ASSIGN_OR_RETURN(Database::Lease c, db_->Acquire());
  std::vector<ChangeRecord> out;
  VODFS_RETURN_IF_ERROR(c->Run("SELECT seq, at, op, kind, id, old_name, new_name, ino, old_cate, new_cate FROM changes "
                                "WHERE seq > ? ORDER BY seq LIMIT ?",
                                {seq, static_cast<int64_t>(limit)}, [&out](const Row& r) {
                                  ChangeRecord ch;
                                  ch.seq = r.Int(0);
                                  ch.at = r.Int(1);
                                  ch.op = static_cast<ChangeRecord::Op>(r.Int(2));
                                  ch.kind = static_cast<MediaKind>(r.Int(3));
                                  ch.id = r.Text(4);
                                  ch.old_name = r.Text(5);
                                  ch.new_name = r.Text(6);
                                  ch.ino = static_cast<uint64_t>(r.Int(7));
                                  ch.old_cate = r.Int(8);
                                  ch.new_cate = r.Int(9);
                                  out.push_back(std::move(ch));
                                }).status());
  return out;
}

Result<int64_t> IndexStore::LastChange() {
  VODFS_ASSIGN_OR_RETURN(Database::Lease c, db_->Acquire());
  int64_t seq = 0;
  VODFS_RETURN_IF_ERROR(c->Run("SELECT max(seq) FROM changes", {}, [&seq](const Row& r) {
                           if (!r.IsNull(0)) seq = r.Int(0);
                         }).status());
  return seq;
}

Result<int64_t> IndexStore::CountStaged(MediaKind kind) {
  VODFS_ASSIGN_OR_RETURN(Database::Lease c, db_->Acquire());
  int64_t count = 0;
  VODFS_RETURN_IF_ERROR(c->Run("SELECT count(*) FROM media_next WHERE kind = ?",
                                           {static_cast<int64_t>(kind)}, [&count](const Row& r) { count = r.Int(0); }).status());
  return count;
}

// ---------------------------------------------------------------------------
// Writes

Result<IndexStore::Writer> IndexStore::Write(bool bulk) {
  VODFS_ASSIGN_OR_RETURN(Database::Lease c, bulk ? db_->AcquireBulk() : db_->Acquire());
  VODFS_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*c, true));
  return Writer(std::move(c), std::move(txn));
}

Status IndexStore::Writer::Commit() { return txn_.Commit(); }

Status IndexStore::Writer::SetMeta(const std::string& key, const std::string& value) {
  return lease_->Run("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     {key, value})
      .status();
}

Status IndexStore::Writer::DeleteMeta(const std::string& key) {
  return lease_->Run("DELETE FROM meta WHERE key = ?", {key}).status();
}

Status IndexStore::Writer::AssignInos(std::vector<MediaRecord>& batch, bool include_stage) {
  // Media already indexed keep their prefix.
  std::vector<Value> ids;
  for (const auto& m : batch) {
    if (m.ino == 0) ids.push_back(m.id);
  }
  if (ids.empty()) return Status::Ok();
  std::unordered_map<std::string, uint64_t> known;
  auto collect = [&known](const Row& r) { known[r.Text(0)] = static_cast<uint64_t>(r.Int(1)); };
  VODFS_RETURN_IF_ERROR(RunIn(*lease_, "SELECT id, ino FROM media WHERE id", "", {}, ids, collect));
  if (include_stage) {
    VODFS_RETURN_IF_ERROR(RunIn(*lease_, "SELECT id, ino FROM media_next WHERE id", "", {}, ids, collect));
  }
  std::vector<MediaRecord*> fresh;
  for (auto& m : batch) {
    if (m.ino != 0) continue;
    auto it = known.find(m.id);
    if (it != known.end()) {
      m.ino = it->second;
    } else {
      m.ino = InoPrefixFor(Identity(m));
      fresh.push_back(&m);
    }
  }
  // New ones: a prefix no other entry holds (in the index, the stage, or
  // this batch). Collisions are rare (48 bits): probe until none is left.
  std::unordered_set<uint64_t> taken;
  {
    const std::unordered_set<const MediaRecord*> is_fresh(fresh.begin(), fresh.end());
    for (const auto& m : batch) {
      if (!is_fresh.count(&m)) taken.insert(m.ino);
    }
  }
  while (!fresh.empty()) {
    std::vector<Value> candidates;
    candidates.reserve(fresh.size());
    for (const auto* m : fresh) candidates.emplace_back(std::in_place_index<1>, static_cast<int64_t>(m->ino));
    std::unordered_map<uint64_t, std::string> holders;
    auto hold = [&holders](const Row& r) { holders[static_cast<uint64_t>(r.Int(0))] = r.Text(1); };
    VODFS_RETURN_IF_ERROR(RunIn(*lease_, "SELECT ino, id FROM media WHERE ino", "", {}, candidates, hold));
    if (include_stage) {
      VODFS_RETURN_IF_ERROR(RunIn(*lease_, "SELECT ino, id FROM media_next WHERE ino", "", {}, candidates, hold));
    }
    std::vector<MediaRecord*> again;
    for (auto* m : fresh) {
      auto h = holders.find(m->ino);
      const bool clash = (h != holders.end() && h->second != m->id) || taken.count(m->ino);
      if (clash) {
        m->ino = InoPrefixFor(Identity(*m), m->ino);
        again.push_back(m);
      } else {
        taken.insert(m->ino);
      }
    }
    fresh = std::move(again);
  }
  return Status::Ok();
}

Status IndexStore::Writer::UpsertMedia(std::vector<MediaRecord> batch, std::vector<ChangeRecord>* changes) {
  if (batch.empty()) return Status::Ok();
  {
    // Last one wins for an id listed twice.
    std::unordered_map<std::string, size_t> pos;
    std::vector<MediaRecord> unique;
    for (auto& m : batch) {
      auto [it, fresh] = pos.emplace(m.id, unique.size());
      if (fresh) {
        unique.push_back(std::move(m));
      } else {
        unique[it->second] = std::move(m);
      }
    }
    batch = std::move(unique);
  }
  std::vector<Value> ids;
  for (const auto& m : batch) ids.push_back(m.id);
  std::unordered_map<std::string, MediaRecord> old;
  VODFS_RETURN_IF_ERROR(RunIn(*lease_, std::string("SELECT ") + kCols + " FROM media WHERE id", "", {}, ids,
                              [&old](const Row& r) {
                                MediaRecord m = Decode(r);
                                old.emplace(m.id, std::move(m));
                              }));
  std::vector<MediaRecord> write;
  std::vector<Value> replaced;
  for (auto& m : batch) {
    auto it = old.find(m.id);
    if (it != old.end()) {
      m.ino = it->second.ino;
      if (it->second.SameContent(m)) continue;
      replaced.push_back(m.id);
      if (changes) {
        ChangeRecord c;
        c.op = ChangeRecord::Op::kModify;
        c.kind = m.kind;
        c.id = m.id;
        c.old_name = it->second.name;
        c.new_name = m.name;
        c.ino = m.ino;
        c.old_cate = it->second.cate_id;
        c.new_cate = m.cate_id;
        changes->push_back(std::move(c));
      }
    } else {
      m.ino = 0;
    }
    write.push_back(std::move(m));
  }
  if (write.empty()) return Status::Ok();
  VODFS_RETURN_IF_ERROR(AssignInos(write, false));
  // Another medium already holding a new name can only come from a title
  // that imitates an id suffix of another scheme; keep both reachable.
  {
    std::vector<Value> names;
    for (const auto& m : write) names.push_back(m.name);
    std::set<std::pair<int64_t, std::string>> taken;
    std::unordered_set<std::string> moving;
    for (const auto& m : write) moving.insert(m.id);
    VODFS_RETURN_IF_ERROR(RunIn(*lease_, "SELECT kind, name, id FROM media WHERE name", "", {}, names,
                                [&](const Row& r) {
                                  if (!moving.count(r.Text(2))) taken.emplace(r.Int(0), r.Text(1));
                                }));
    std::set<std::pair<int64_t, std::string>> in_batch;
    for (auto& m : write) {
      auto key = std::make_pair(static_cast<int64_t>(m.kind), m.name);
      if (taken.count(key) || in_batch.count(key)) {
        VODFS_LOG(kWarn) << "Two media would be named \"" << m.name << "\"; the one with id " << m.id
                         << " gets its id appended";
        m.name += " [" + m.id + "]";
        if (changes) {
          for (auto& c : *changes) {
            if (c.id == m.id) c.new_name = m.name;
          }
        }
      }
      in_batch.emplace(static_cast<int64_t>(m.kind), m.name);
    }
  }
  // Rows that change are deleted first: two media that swap names in one
  // batch never hold the same name at once.
  if (!replaced.empty()) VODFS_RETURN_IF_ERROR(RunIn(*lease_, "DELETE FROM media WHERE id", "", {}, replaced, {}));
  const std::string insert = std::string("INSERT INTO media (") + kCols + ") VALUES (" + Placeholders(kNumCols) + ")";
  for (const auto& m : write) {
    Params p;
    Encode(m, &p);
    VODFS_RETURN_IF_ERROR(lease_->Run(insert, p).status());
    if (changes && !old.count(m.id)) {
      ChangeRecord c;
      c.op = ChangeRecord::Op::kAdd;
      c.kind = m.kind;
      c.id = m.id;
      c.new_name = m.name;
      c.ino = m.ino;
      c.new_cate = m.cate_id;
      changes->push_back(std::move(c));
    }
  }
  return Status::Ok();
}

Status IndexStore::Writer::DeleteMedia(const std::vector<std::string>& ids, std::vector<ChangeRecord>* changes) {
  if (ids.empty()) return Status::Ok();
  std::vector<Value> v(ids.begin(), ids.end());
  if (changes) {
    VODFS_RETURN_IF_ERROR(RunIn(*lease_, std::string("SELECT ") + kCols + " FROM media WHERE id", "", {}, v,
                                [changes](const Row& r) {
                                  MediaRecord m = Decode(r);
                                  ChangeRecord c;
                                  c.op = ChangeRecord::Op::kRemove;
                                  c.kind = m.kind;
                                  c.id = m.id;
                                  c.old_name = m.name;
                                  c.ino = m.ino;
                                  c.old_cate = m.cate_id;
                                  changes->push_back(std::move(c));
                                }));
  }
  VODFS_RETURN_IF_ERROR(RunIn(*lease_, "DELETE FROM media WHERE id", "", {}, v, {}));
  VODFS_RETURN_IF_ERROR(RunIn(*lease_, "DELETE FROM details WHERE media_id", "", {}, v, {}));
  VODFS_RETURN_IF_ERROR(RunIn(*lease_, "DELETE FROM objects WHERE media_id", "", {}, v, {}));
  return Status::Ok();
}

Status IndexStore::Writer::SetMediaSize(const std::string& id, int64_t size) {
  return lease_->Run("UPDATE media SET size = ? WHERE id = ?", {size, id}).status();
}

Status IndexStore::Writer::ReplaceCategories(const std::vector<CategoryRecord>& categories) {
  VODFS_RETURN_IF_ERROR(lease_->Run("DELETE FROM categories").status());
  for (const auto& c : categories) {
    VODFS_RETURN_IF_ERROR(lease_->Run("INSERT INTO categories (id, parent_id, name, level) VALUES (?, ?, ?, ?) "
                                                  "ON CONFLICT (id) DO UPDATE SET parent_id = excluded.parent_id, "
                                                  "name = excluded.name, level = excluded.level",
                                                  {c.id, c.parent_id, c.name, c.level}).status());
  }
  return Status::Ok();
}

Status IndexStore::Writer::PutDetails(const DetailsRecord& d) {
  return lease_
      ->Run("INSERT INTO details (key, media_id, modification_time, fetched_at, body) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET media_id = excluded.media_id, modification_time = "
            "excluded.modification_time, fetched_at = excluded.fetched_at, body = excluded.body",
            {d.key, d.media_id, d.modification_time, d.fetched_at, d.body})
      .status();
}

Status IndexStore::Writer::DropDetails(const std::string& media_id) {
  return lease_->Run("DELETE FROM details WHERE media_id = ?", {media_id}).status();
}

Status IndexStore::Writer::PutObject(const ObjectRecord& o) {
  return lease_
      ->Run("INSERT INTO objects (ref, media_id, size, etag, last_modified, seen_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (ref) DO UPDATE SET media_id = excluded.media_id, size = excluded.size, etag = "
            "excluded.etag, last_modified = excluded.last_modified, seen_at = excluded.seen_at",
            {o.ref, o.media_id, static_cast<int64_t>(o.size), o.etag, o.last_modified, o.seen_at})
      .status();
}

Status IndexStore::Writer::Stage(std::vector<MediaRecord> batch) {
  if (batch.empty()) return Status::Ok();
  for (auto& m : batch) m.ino = 0;
  // Prefixes: the indexed ones kept, new ones unique against the index.
  // Two staged media meeting on one prefix (or one listed twice by a
  // resumed walk) are settled when the stage is applied.
  VODFS_RETURN_IF_ERROR(AssignInos(batch, false));
  const std::string sql = std::string("INSERT INTO media_next (") + kCols + ") VALUES (" + Placeholders(kNumCols) + ")";
  for (const auto& m : batch) {
    Params p;
    Encode(m, &p);
    VODFS_RETURN_IF_ERROR(lease_->Run(sql, p).status());
  }
  return Status::Ok();
}

Status IndexStore::Writer::ClearStage() { return lease_->Run("DELETE FROM media_next").status(); }

Status IndexStore::Writer::ClearStaged(MediaKind kind) {
  return lease_->Run("DELETE FROM media_next WHERE kind = ?", {static_cast<int64_t>(kind)}).status();
}

Status IndexStore::Writer::SettleStage(const std::string& table) {
  Connection& c = *lease_;
  const bool postgres = c.engine() == Engine::kPostgres;
  const std::string t = table;
  // A medium staged twice (a walk resumed inside a second that held more
  // than a batch): the last one staged wins.
  VODFS_RETURN_IF_ERROR(
      c.Run(postgres ? "DELETE FROM " + t + " a USING " + t + " b WHERE a.id = b.id AND a.ctid < b.ctid"
                     : "DELETE FROM " + t + " WHERE rowid NOT IN (SELECT max(rowid) FROM " + t + " GROUP BY id)")
          .status());
  // Two media on one inode prefix: the one the index had keeps it, the
  // others probe on (rare: 47 bits).
  std::vector<int64_t> shared;
  VODFS_RETURN_IF_ERROR(c.Run("SELECT ino FROM " + t + " GROUP BY ino HAVING count(*) > 1", {},
                              [&shared](const Row& r) { shared.push_back(r.Int(0)); })
                            .status());
  for (int64_t ino : shared) {
    std::vector<MediaRecord> holders;
    VODFS_RETURN_IF_ERROR(c.Run(std::string("SELECT ") + kCols + " FROM " + t + " WHERE ino = ? ORDER BY id", {ino},
                                [&holders](const Row& r) { holders.push_back(Decode(r)); })
                              .status());
    std::string keeper = holders.front().id;
    if (t != "media") {
      VODFS_RETURN_IF_ERROR(c.Run("SELECT id FROM media WHERE ino = ?", {ino}, [&](const Row& r) {
                               for (const auto& h : holders) {
                                 if (h.id == r.Text(0)) keeper = h.id;
                               }
                             }).status());
    }
    for (auto& h : holders) {
      if (h.id == keeper) continue;
      uint64_t next = static_cast<uint64_t>(ino);
      while (true) {
        next = InoPrefixFor(Identity(h), next);
        int64_t used = 0;
        VODFS_RETURN_IF_ERROR(c.Run("SELECT count(*) FROM " + t + " WHERE ino = ?", {static_cast<int64_t>(next)},
                                    [&used](const Row& r) { used = r.Int(0); })
                                  .status());
        if (used == 0) break;
      }
      VODFS_RETURN_IF_ERROR(
          c.Run("UPDATE " + t + " SET ino = ? WHERE id = ?", {static_cast<int64_t>(next), h.id}).status());
    }
  }
  // Two media of one name (only titles imitating another's id suffix can
  // do that): all but the first by id get their id appended.
  std::vector<std::pair<int64_t, std::string>> names;
  VODFS_RETURN_IF_ERROR(c.Run("SELECT kind, name FROM " + t + " GROUP BY kind, name HAVING count(*) > 1", {},
                              [&names](const Row& r) { names.emplace_back(r.Int(0), r.Text(1)); })
                            .status());
  for (const auto& [kind, name] : names) {
    std::vector<std::string> ids;
    VODFS_RETURN_IF_ERROR(c.Run("SELECT id FROM " + t + " WHERE kind = ? AND name = ? ORDER BY id", {kind, name},
                                [&ids](const Row& r) { ids.push_back(r.Text(0)); })
                              .status());
    for (size_t i = 1; i < ids.size(); ++i) {
      VODFS_LOG(kWarn) << "Two media would be named \"" << name << "\"; the one with id " << ids[i]
                       << " gets its id appended";
      VODFS_RETURN_IF_ERROR(
          c.Run("UPDATE " + t + " SET name = ? WHERE id = ?", {name + " [" + ids[i] + "]", ids[i]}).status());
    }
  }
  return Status::Ok();
}

Status IndexStore::Writer::ApplyStage(const std::vector<MediaKind>& kinds, size_t max_changes,
                                      std::vector<ChangeRecord>* changes) {
  Connection& c = *lease_;
  const bool postgres = c.engine() == Engine::kPostgres;
  std::set<MediaKind> staged(kinds.begin(), kinds.end());
  // The kinds not listed keep what the index holds of them.
  for (MediaKind k : kAllKinds) {
    if (staged.count(k)) continue;
    VODFS_RETURN_IF_ERROR(c.Run(std::string("INSERT INTO media_next (") + kCols + ") SELECT " + kCols +
                                    " FROM media WHERE kind = ?",
                                {static_cast<int64_t>(k)})
                              .status());
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto since = [&t0] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  std::map<MediaKind, int64_t> before;
  VODFS_RETURN_IF_ERROR(c.Run("SELECT kind, count(*) FROM media GROUP BY kind", {}, [&before](const Row& r) {
                           before[static_cast<MediaKind>(r.Int(0))] = r.Int(1);
                         }).status());
  // What changed, for the mounts' kernels: staged rows joined with the
  // indexed ones (no need when the index held nothing of a kind).
  std::map<MediaKind, std::vector<ChangeRecord>> found;
  std::set<MediaKind> overflow;
  auto note = [&](ChangeRecord ch) {
    auto& v = found[ch.kind];
    if (v.size() < max_changes) {
      v.push_back(std::move(ch));
    } else {
      overflow.insert(ch.kind);
    }
  };
  std::vector<Value> removed;
  bool any_before = false;
  for (const auto& [k, n] : before) any_before |= n > 0 && staged.count(k);
  if (any_before) {
    VODFS_RETURN_IF_ERROR(c.Script("CREATE INDEX media_next_id ON media_next (id)"));
    VODFS_RETURN_IF_ERROR(
        c.Run(std::string("SELECT ") + Prefixed("n") + ", " + Prefixed("m") +
                  " FROM media_next n LEFT JOIN media m ON m.id = n.id",
              {}, [&](const Row& r) {
                MediaRecord next = Decode(r, 0);
                if (!staged.count(next.kind) || before[next.kind] == 0) return;
                ChangeRecord ch;
                ch.kind = next.kind;
                ch.id = next.id;
                ch.new_name = next.name;
                ch.ino = next.ino;
                ch.new_cate = next.cate_id;
                if (r.IsNull(kNumCols)) {
                  ch.op = ChangeRecord::Op::kAdd;
                  note(std::move(ch));
                  return;
                }
                MediaRecord cur = Decode(r, kNumCols);
                if (cur.SameContent(next) && cur.ino == next.ino) return;
                ch.op = ChangeRecord::Op::kModify;
                ch.old_name = cur.name;
                ch.old_cate = cur.cate_id;
                note(std::move(ch));
              })
            .status());
    VODFS_RETURN_IF_ERROR(c.Run(std::string("SELECT ") + kCols +
                                    " FROM media m WHERE NOT EXISTS (SELECT 1 FROM media_next n WHERE n.id = m.id)",
                                {}, [&](const Row& r) {
                                  MediaRecord cur = Decode(r);
                                  removed.push_back(cur.id);
                                  ChangeRecord ch;
                                  ch.op = ChangeRecord::Op::kRemove;
                                  ch.kind = cur.kind;
                                  ch.id = cur.id;
                                  ch.old_name = cur.name;
                                  ch.ino = cur.ino;
                                  ch.old_cate = cur.cate_id;
                                  note(std::move(ch));
                                })
                              .status());
    VODFS_RETURN_IF_ERROR(c.Script("DROP INDEX media_next_id"));
  }
  VODFS_LOG(kDebug) << "apply: differences found at " << since() << " s";
  if (!removed.empty()) {
    VODFS_RETURN_IF_ERROR(RunIn(c, "DELETE FROM details WHERE media_id", "", {}, removed, {}));
    VODFS_RETURN_IF_ERROR(RunIn(c, "DELETE FROM objects WHERE media_id", "", {}, removed, {}));
  }
  // The staged listing becomes the media table; its indexes are built in
  // bulk (a sort each), far cheaper than inserting 2,000,000 rows into five.
  VODFS_RETURN_IF_ERROR(c.Script("DROP TABLE media"));
  VODFS_RETURN_IF_ERROR(c.Script("ALTER TABLE media_next RENAME TO media"));
  // A failed statement aborts a PostgreSQL transaction as a whole; the
  // savepoint keeps what came before it (SQLite treats it alike).
  VODFS_RETURN_IF_ERROR(c.Script("SAVEPOINT media_indexes"));
  if (Status s = c.Script(MediaIndexes()); !s.ok()) {
    // A medium listed twice, or two sharing a prefix or a name: settled,
    // then indexed again (inside the same transaction).
    if (s.code() != ErrorCode::kAlreadyExists) {
      return Status(s.code(), "Cannot index the new listing of the library: " + s.error().message);
    }
    VODFS_RETURN_IF_ERROR(c.Script("ROLLBACK TO SAVEPOINT media_indexes"));
    VODFS_LOG(kDebug) << "apply: settling the listing (" << s.error().message << ")";
    for (const char* index : {"media_id", "media_name", "media_ino", "media_created", "media_category"}) {
      VODFS_RETURN_IF_ERROR(c.Script(std::string("DROP INDEX IF EXISTS ") + index));
    }
    VODFS_RETURN_IF_ERROR(SettleStage("media"));
    if (Status again = c.Script(MediaIndexes()); !again.ok()) {
      return Status(again.code(), "Cannot index the new listing of the library: " + again.error().message);
    }
  }
  VODFS_RETURN_IF_ERROR(c.Script(MediaNextTable(postgres)));
  VODFS_LOG(kDebug) << "apply: indexed at " << since() << " s";
  if (!changes) return Status::Ok();
  for (MediaKind k : kAllKinds) {
    if (!staged.count(k)) continue;
    if (before[k] == 0 || overflow.count(k)) {
      ChangeRecord ch;
      ch.op = ChangeRecord::Op::kReset;
      ch.kind = k;
      changes->push_back(std::move(ch));
    } else {
      for (auto& ch : found[k]) changes->push_back(std::move(ch));
    }
  }
  return Status::Ok();
}

Status IndexStore::Writer::LogChanges(std::vector<ChangeRecord>* changes, size_t keep) {
  if (changes->empty()) return Status::Ok();
  for (auto& c : *changes) {
    VODFS_RETURN_IF_ERROR(lease_->Run("INSERT INTO changes (at, op, kind, id, old_name, new_name, ino, "
                                                  "old_cate, new_cate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
                                                  {c.at, static_cast<int64_t>(c.op), static_cast<int64_t>(c.kind), c.id,
                                                   c.old_name, c.new_name, static_cast<int64_t>(c.ino), c.old_cate,
                                                   c.new_cate},
                                                  [&c](const Row& r) { c.seq = r.Int(0); }).status());
  }
  const int64_t last = changes->back().seq;
  VODFS_RETURN_IF_ERROR(lease_->Run("DELETE FROM changes WHERE seq <= ?", {last - static_cast<int64_t>(keep)}).status());
  // Delivered to the followers when (and only if) the transaction commits.
  return lease_->Announce(last);
}

}  // namespace vodfs::index
