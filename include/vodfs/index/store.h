// IndexStore: the library index, what the tree is built from.
//
// It holds media records (videos, audio and images, each with the entry name
// it has in its top directory and its inode prefix), categories, each
// medium's details (what its directory contains, as the namespace rendered
// it), object versions and probed sizes, the sync state, and a log of the
// changes each sync applied (so that every mount of a shared index can tell
// its kernel what changed). Never a signed URL, never a secret.
//
// Every write goes through a Writer: one transaction, committed or rolled
// back as a whole, so that a process killed at any point leaves the index
// as it was before the transaction or after it. A full sync stages what it
// lists in `media_next` (resumable) and applies it in one transaction.
//
// Inode prefixes: 47 bits from a stable hash of the medium's identity,
// probed deterministically on a collision (see InoPrefixFor); the namespace
// composes inode numbers from them.
//
// The schema has a version; Open() applies the migrations a version lacks
// and refuses an index newer than it knows.
//
// Thread-safety: all methods are safe to call concurrently (each takes a
// connection of its own from the pool).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vodfs/index/db.h"
#include "vodfs/util/result.h"

namespace vodfs::index {

enum class MediaKind : int { kVideo = 0, kAudio = 1, kImage = 2 };
inline constexpr MediaKind kAllKinds[] = {MediaKind::kVideo, MediaKind::kAudio, MediaKind::kImage};
// "video", "audio", "image" (SearchMedia's SearchType).
const char* MediaKindName(MediaKind k);

// A medium as the library lists it, with its place in the tree.
struct MediaRecord {
  std::string id;
  MediaKind kind = MediaKind::kVideo;
  std::string name;       // entry name in videos/, audio/ or images/
  uint64_t ino = 0;       // inode prefix, 47 bits (0: not assigned yet)
  std::string title, description, tags;
  int64_t cate_id = -1;
  std::string cate_name;
  double duration = 0;
  int64_t size = 0;       // source size (video, audio) or file size (image); 0 unknown
  std::string status, storage_class;
  int64_t creation_time = 0;
  int64_t modification_time = 0;
  // Images.
  int64_t width = 0, height = 0;
  std::string image_type;
  std::string file_name;  // original file name (its extension names the entry)

  // What the tree shows of it changed (not only its time).
  bool SameContent(const MediaRecord& o) const;
};

struct CategoryRecord {
  int64_t id = -1;
  int64_t parent_id = -1;  // -1: level 1
  std::string name;
  int64_t level = 0;
};

// What a medium's directory (or one of its HLS streams) holds, rendered by
// the namespace; `modification_time` is the medium's at the time.
struct DetailsRecord {
  std::string key;  // "<id>" or "<id>/hls/<job>"
  std::string media_id;
  int64_t modification_time = 0;
  int64_t fetched_at = 0;
  std::string body;
};

// The last version of an object seen at its origin.
struct ObjectRecord {
  std::string ref;  // MediaRef key
  std::string media_id;
  uint64_t size = 0;
  std::string etag, last_modified;
  int64_t seen_at = 0;
};

// One change a sync applied, for the mounts that read the index.
struct ChangeRecord {
  enum class Op { kAdd, kModify, kRemove, kReset, kCategories };
  int64_t seq = 0;
  Op op = Op::kAdd;
  MediaKind kind = MediaKind::kVideo;
  std::string id;
  std::string old_name, new_name;  // old_name empty for an add, new_name for a removal
  uint64_t ino = 0;
  int64_t old_cate = -1, new_cate = -1;
  int64_t at = 0;
};
const char* ChangeOpName(ChangeRecord::Op op);

// A schema migration: the statements that take version - 1 to version.
struct Migration {
  int version;
  std::string sqlite_sql;
  std::string postgres_sql;
};
// The migrations this build knows, in order.
const std::vector<Migration>& Migrations();

class IndexStore {
 public:
  // Opens the index on `db`, migrating it to the newest schema this build
  // knows (`migrations`, Migrations() by default).
  static Result<std::unique_ptr<IndexStore>> Open(std::unique_ptr<Database> db,
                                                  const std::vector<Migration>* migrations = nullptr);
  IndexStore(const IndexStore&) = delete;
  IndexStore& operator=(const IndexStore&) = delete;

  int schema_version() const { return version_; }
  Database& db() { return *db_; }
  std::string Describe() const { return db_->Describe(); }

  // --- Reads ---------------------------------------------------------------
  Result<std::optional<std::string>> GetMeta(const std::string& key);
  Result<std::optional<MediaRecord>> MediaById(const std::string& id);
  Result<std::optional<MediaRecord>> MediaByName(MediaKind kind, const std::string& name);
  Result<std::optional<MediaRecord>> MediaByIno(uint64_t ino);
  // Media of one kind in name order, after `after` (all from the start when
  // empty), at most `limit`; `offset` skips that many first (seekdir).
  Result<std::vector<MediaRecord>> MediaPage(MediaKind kind, const std::string& after, size_t limit,
                                             size_t offset = 0);
  // Video and audio media of a category in name order.
  Result<std::vector<MediaRecord>> CategoryMediaPage(int64_t cate_id, const std::string& after, size_t limit,
                                                     size_t offset = 0);
  Result<std::optional<MediaRecord>> CategoryMediaByName(int64_t cate_id, const std::string& name);
  Result<int64_t> CountMedia(MediaKind kind);
  // Media of `kind` created in [from, to).
  Result<int64_t> CountMediaCreated(MediaKind kind, int64_t from, int64_t to);
  // The creation time of the `n`-th (0-based) medium created in [from, to),
  // in creation order: where to split a partition.
  Result<std::optional<int64_t>> CreationTimeAt(MediaKind kind, int64_t from, int64_t to, int64_t n);
  // Ids and names of the media created in [from, to).
  Result<std::vector<MediaRecord>> MediaCreated(MediaKind kind, int64_t from, int64_t to);
  Result<std::optional<int64_t>> NewestModification(MediaKind kind);
  Result<std::vector<CategoryRecord>> Categories();
  Result<std::optional<DetailsRecord>> Details(const std::string& key);
  Result<std::optional<ObjectRecord>> Object(const std::string& ref);
  // Changes after `seq`, oldest first, at most `limit`.
  Result<std::vector<ChangeRecord>> ChangesSince(int64_t seq, size_t limit);
  Result<int64_t> LastChange();
  // Staged media (of a full sync in progress).
  Result<int64_t> CountStaged(MediaKind kind);

  // --- Writes --------------------------------------------------------------
  // A write transaction. Changes it makes are visible to others at Commit;
  // dropped without Commit, it leaves no trace.
  class Writer {
   public:
    Writer(Writer&&) noexcept = default;
    ~Writer() = default;

    Status SetMeta(const std::string& key, const std::string& value);
    Status DeleteMeta(const std::string& key);
    // Inserts or updates media (by id), keeping the inode prefix of media
    // already indexed and giving new ones a prefix no other entry has.
    // Appends what changed to `changes` (names, categories) unless null.
    Status UpsertMedia(std::vector<MediaRecord> batch, std::vector<ChangeRecord>* changes);
    Status DeleteMedia(const std::vector<std::string>& ids, std::vector<ChangeRecord>* changes);
    // Records a size the origin told (the API gave none). Not a change of
    // the library: nothing is logged.
    Status SetMediaSize(const std::string& id, int64_t size);
    Status ReplaceCategories(const std::vector<CategoryRecord>& categories);
    Status PutDetails(const DetailsRecord& d);
    // Drops the details of a medium (and its HLS streams).
    Status DropDetails(const std::string& media_id);
    Status PutObject(const ObjectRecord& o);

    // Full sync staging.
    Status Stage(std::vector<MediaRecord> batch);
    Status ClearStage();
    Status ClearStaged(MediaKind kind);
    // Makes the staged media of `kinds` the index's media of those kinds:
    // what is not staged goes, the rest is added or updated (the staging
    // table becomes the media table). Appends the changes (or one kReset
    // per kind when there are more than `max_changes` of a kind, or the
    // kind had no media before).
    Status ApplyStage(const std::vector<MediaKind>& kinds, size_t max_changes, std::vector<ChangeRecord>* changes);

    // Records changes in the change log (assigning their seq) and trims
    // the log to its newest `keep` entries.
    Status LogChanges(std::vector<ChangeRecord>* changes, size_t keep = 100000);

    Status Commit();
    Connection& connection() { return *lease_; }

   private:
    friend class IndexStore;
    Writer(Database::Lease lease, Transaction txn) : lease_(std::move(lease)), txn_(std::move(txn)) {}
    // Assigns inode prefixes to `batch` entries that have none, unique
    // against the media table (and the stage, with `include_stage`).
    Status AssignInos(std::vector<MediaRecord>& batch, bool include_stage);
    // Settles what staging may leave open in `table`: media staged twice,
    // two media on one inode prefix or one name.
    Status SettleStage(const std::string& table);
    Database::Lease lease_;
    Transaction txn_;
  };
  // `bulk`: a large write (a sync's) on the bulk connection.
  Result<Writer> Write(bool bulk = false);

 private:
  IndexStore(std::unique_ptr<Database> db, int version) : db_(std::move(db)), version_(version) {}
  std::unique_ptr<Database> db_;
  int version_;
};

// The 47-bit inode prefix of an entry identity (e.g. "video/<id>"), or the
// next candidate after `previous` when that one is taken. Never 0 (the
// namespace keeps prefix 0 for its fixed nodes).
uint64_t InoPrefixFor(const std::string& identity, uint64_t previous = 0);

}  // namespace vodfs::index
