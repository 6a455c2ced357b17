// Namespace: the tree vodfs shows, served from the library index.
//
//   /videos/<title> [<id>]/   source.<ext>, <DEF>.<fmt>, <DEF>.hls/ (index.m3u8 +
//                             segments), cover.<ext>, snapshots/, sprites/
//                             (+ originals/), info.json
//   /audio/...                the same for audio media
//   /images/<title> [<id>].<ext>
//   /categories/<name>/...    category tree; entries are symlinks into videos/, audio/
//   /by-id/<id>               a symlink to any medium or image, resolved on lookup
//   /.vodfs/                  stats, version
//
// Owns: answering lookups, attributes and directory listings. videos/,
// audio/, images/ and category directories are read from the index page by
// page (a directory of 2,000,000 entries is never held in memory); a
// medium's directory comes from its details, kept in the index and, for
// recently used media, in a bounded hot set. Details are fetched from the
// API (GetMezzanineInfo, GetPlayInfo, ListSnapshots in parallel) only when
// the index has none, when the medium's ModificationTime moved, or after
// `details_ttl` (then in the background, serving the old ones meanwhile).
// Listings of a library never listed wait for the first sync, and fail
// (EIO) when it fails: never a partial listing. It learns of library
// changes from the sync engine (ChangeListener) and tells the kernel
// through the Notifier.
//
// Does not own: the listing of the library (sync::Syncer), the bytes of
// files (core), origin access (OriginReader, implemented above it).
//
// Inode numbers: see ns/inodes.h.
//
// Thread-safety: all public methods are safe to call concurrently.
// LOCK ORDERING: mu_ is never held across an API call, an index query, a
// probe, or a Notifier call.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "vodfs/index/store.h"
#include "vodfs/ns/inodes.h"
#include "vodfs/resolve/media_ref.h"
#include "vodfs/resolve/url_broker.h"
#include "vodfs/sync/syncer.h"
#include "vodfs/util/clock.h"
#include "vodfs/util/executor.h"
#include "vodfs/util/lru_cache.h"
#include "vodfs/util/mutex.h"
#include "vodfs/util/result.h"
#include "vodfs/vod/api.h"

namespace vodfs::ns {

class MediaTree;

enum class Kind { kDir, kFile, kSymlink };

// How a file's bytes are produced.
enum class Content {
  kNone,       // directories, symlinks
  kMedia,      // a remote object (ref)
  kGenerated,  // fixed text built by the namespace (info.json, index.m3u8, version)
  kStats,      // live text produced at open (.vodfs/stats)
};

// The kinds of directory, which say how each is filled.
enum class DirType {
  kRoot, kVideos, kAudio, kImages, kCategories, kCategory, kMedia, kSnapshots, kSprites,
  kSpriteOrigins, kHls, kControl, kById
};

// A copy of one node, safe to use after the namespace changes.
struct NodeInfo {
  Ino ino = 0;
  Ino parent = 0;
  std::string name;
  Kind kind = Kind::kFile;
  DirType dir_type = DirType::kRoot;
  uint64_t size = 0;
  int64_t mtime = 0;
  Content content = Content::kNone;
  resolve::MediaRef ref;    // kMedia
  std::string text;         // kGenerated
  std::string link;         // symlinks
  std::vector<std::pair<std::string, std::string>> xattrs;  // names without "user."
};

// Tells the kernel that something it may have cached changed.
class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual void InvalidateInode(Ino ino) = 0;
  virtual void InvalidateEntry(Ino parent, const std::string& name) = 0;
};

// An object's version as its origin describes it.
struct ObjectVersion {
  uint64_t size = 0;
  std::string etag, last_modified;
};

// What the namespace needs of the origins (implemented over the fetcher).
class OriginReader {
 public:
  virtual ~OriginReader() = default;
  // The object's version without its bytes. kStale: the origin has no such
  // object (listed by the API but gone).
  virtual Result<ObjectVersion> Probe(const resolve::MediaRef& ref) = 0;
  // A whole small object (a playlist), at most `max_bytes`.
  virtual Result<std::string> FetchWhole(const resolve::MediaRef& ref, uint64_t max_bytes) = 0;
};

struct NsOptions {
  bool id_names = false;          // name_scheme=id
  bool all_streams = false;       // also Invisible / proprietary-encrypted streams
  vod::OutputType output_type = vod::OutputType::kCdn;
  int64_t auth_timeout = 3600;
  // Details (what a medium's directory holds) are fetched again after this
  // long even when the medium's ModificationTime did not move.
  int64_t details_ttl = 86400;
  size_t probe_parallelism = 16;
  // Memory for the details of recently used media: 32 MiB hold a few
  // thousand directories (a directory with its streams and snapshots
  // costs a few KiB).
  size_t hot_bytes = 32 << 20;
  std::string version_text;       // content of .vodfs/version
  // When this version of vodfs was made: the time of .vodfs/'s files (a
  // backup copies them again only when vodfs changed), and of the top
  // directories until the library was first listed.
  int64_t version_time = 0;
};

struct NsStats {
  uint64_t details_fetched = 0;    // media directories filled from the API
  uint64_t details_loaded = 0;     // ... from the index
  uint64_t details_refreshed = 0;  // ... again after details_ttl
  uint64_t probes = 0;             // origin size probes
  uint64_t hot_dirs = 0;
  uint64_t hot_bytes = 0;
  uint64_t index_queries = 0;
  uint64_t listing_waits = 0;      // listings that waited for the first sync
  uint64_t changes_applied = 0;
  uint64_t invalidations = 0;      // kernel notifications sent
  uint64_t entries = 0;            // media and images in the index
};

class Namespace final : public sync::ChangeListener {
 public:
  Namespace(vod::VodApi& api, resolve::UrlBroker& broker, OriginReader& origin, index::IndexStore& store,
            sync::Syncer& syncer, Executor& executor, Clock& clock, NsOptions options);
  ~Namespace() override;
  Namespace(const Namespace&) = delete;
  Namespace& operator=(const Namespace&) = delete;

  void SetNotifier(Notifier* n) { notifier_.store(n); }
  // Produces the text of .vodfs/stats.
  void SetStatsSource(std::function<std::string()> f) { stats_source_ = std::move(f); }

  // Reads what the tree needs from the index (categories, the library's
  // time). Makes no API call.
  Status Init();
  // Starts background refreshes (after any daemonising fork).
  void Start();
  void Stop();

  Result<NodeInfo> Get(Ino ino);
  Result<NodeInfo> Lookup(Ino parent, const std::string& name);

  // A directory being read: where the last ReadDir stopped, so that the
  // next one continues from there with one index query.
  class DirCursor;
  Result<std::shared_ptr<DirCursor>> OpenDir(Ino dir);
  // Children from position `offset` (0: the first child), at most `max`,
  // without xattrs.
  Result<std::vector<NodeInfo>> ReadDir(DirCursor& cursor, uint64_t offset, size_t max);
  // All children, in one vector (small directories, tests).
  Result<std::vector<NodeInfo>> List(Ino dir);

  // The origin reports a size different from the one listed (origin wins).
  void CorrectSize(Ino ino, uint64_t size);
  // The content of `ino` changed: the kernel must drop what it cached.
  void InvalidateContent(Ino ino);
  // Text of a kStats file right now.
  std::string StatsText() const { return stats_source_ ? stats_source_() : "{}\n"; }

  NsStats Stats() const;

  // sync::ChangeListener: a sync (here or in another process) changed the index.
  void OnChanges(const std::vector<index::ChangeRecord>& changes) override;

 private:
  struct Category {
    int64_t id = -1, parent = -1;
    std::string name;  // entry name among its siblings
    Ino ino = 0;
    int depth = 0;     // 0: under categories/
    std::vector<int64_t> children;  // in name order
    std::string cate_name;
    int64_t level = 0;
  };
  struct Categories {
    std::map<int64_t, Category> by_id;
    std::unordered_map<Ino, int64_t> by_ino;
    std::vector<int64_t> top;  // in name order
  };
  using TreePtr = std::shared_ptr<const MediaTree>;

  NodeInfo Fixed(Ino ino) const;
  Result<NodeInfo> RecordNode(const index::MediaRecord& m, uint16_t local);
  NodeInfo TreeNodeInfo(const index::MediaRecord& m, const MediaTree& t, uint16_t local) const;
  NodeInfo CategoryNode(const Category& c) const;
  NodeInfo CategoryLink(const index::MediaRecord& m, const Category& c) const;
  Result<std::optional<index::MediaRecord>> Record(uint64_t prefix);
  // The tree of a medium's directory: hot, from the index, or from the API.
  Result<TreePtr> Tree(const index::MediaRecord& m);
  Result<TreePtr> LoadTree(const index::MediaRecord& m);
  // Fills an HLS directory of `tree` (its playlist's segments).
  Result<TreePtr> FillHls(const index::MediaRecord& m, TreePtr tree, uint16_t local);
  Status Persist(const MediaTree& t, std::optional<uint16_t> hls);
  void RefreshInBackground(const index::MediaRecord& m, TreePtr old);
  Status WaitListing();
  Result<std::vector<NodeInfo>> ReadTop(index::MediaKind kind, DirCursor& c, uint64_t offset, size_t max);
  Result<std::vector<NodeInfo>> ReadCategory(const Category& cat, DirCursor& c, uint64_t offset, size_t max);
  std::shared_ptr<const Categories> LoadCategories(const std::vector<index::CategoryRecord>& records) const;
  std::shared_ptr<const Categories> CurrentCategories() const;
  Ino TopIno(index::MediaKind kind) const;
  std::string TopName(index::MediaKind kind) const;
  // The newest medium's time; before the first listing, this version's.
  int64_t LibraryTime() const {
    const int64_t t = library_mtime_.load();
    return t > 0 ? t : options_.version_time;
  }
  void Notify(const std::vector<std::pair<Ino, std::string>>& entries, const std::vector<Ino>& inodes);

  vod::VodApi& api_;
  resolve::UrlBroker& broker_;
  OriginReader& origin_;
  index::IndexStore& store_;
  sync::Syncer& syncer_;
  Executor& executor_;
  Clock& clock_;
  const NsOptions options_;
  std::atomic<Notifier*> notifier_{nullptr};
  std::function<std::string()> stats_source_;

  // Recently used media trees (by medium id) and index records (by prefix).
  LruCache<std::string, MediaTree> hot_;
  LruCache<uint64_t, index::MediaRecord> records_;
  std::atomic<int64_t> library_mtime_{0};
  std::atomic<uint64_t> entries_{0};
  void CountEntries();

  mutable Mutex mu_;
  std::shared_ptr<const Categories> categories_ GUARDED_BY(mu_);
  // Media whose details are being fetched: later callers wait for them.
  std::unordered_map<std::string, std::shared_ptr<struct Flight>> flights_ GUARDED_BY(mu_);
  std::unordered_map<std::string, bool> refreshing_ GUARDED_BY(mu_);
  NsStats stats_ GUARDED_BY(mu_);
  Executor refresher_{2, "vodfs-refresh"};
};

}  // namespace vodfs::ns
