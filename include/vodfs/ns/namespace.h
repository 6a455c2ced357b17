// Namespace: the tree vodfs shows, built lazily from the VOD API.
//
//   /videos/<title> [<id>]/   source.<ext>, <DEF>.<fmt>, <DEF>.hls/ (index.m3u8 +
//                             segments), cover.<ext>, snapshots/, sprites/
//                             (+ originals/), info.json
//   /audio/...                the same for audio media
//   /images/<title> [<id>].<ext>
//   /categories/<name>/...    category tree; entries are symlinks into videos/, audio/
//   /.vodfs/                  stats, version
//
// Listings come from SearchMedia (ScrollToken past 5,000), image sizes from
// GetImageInfos (20 per call). A medium's directory is filled on first use
// with GetMezzanineInfo, GetPlayInfo and ListSnapshots in parallel; sizes
// the API does not give (snapshots, covers, HLS segments) are probed from
// the origin in parallel. Everything is trusted for `metadata_ttl`, then
// refreshed in the background while the old view is served; differences are
// applied and the kernel's caches invalidated through the Notifier.
//
// Inode numbers are a stable hash of each node's identity (the same across
// remounts); nodes are never freed while mounted (a node that disappears
// from the library is detached: lookups fail, open handles keep working
// until the origin refuses them).
//
// Thread-safety: all public methods are safe to call concurrently.
// LOCK ORDERING: mu_ is never held across an API call, a probe, or a
// Notifier call.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "vodfs/fetch/fetcher.h"
#include "vodfs/fetch/version_table.h"
#include "vodfs/resolve/media_ref.h"
#include "vodfs/resolve/url_broker.h"
#include "vodfs/util/clock.h"
#include "vodfs/util/executor.h"
#include "vodfs/util/result.h"
#include "vodfs/vod/api.h"

namespace vodfs::ns {

using Ino = uint64_t;
inline constexpr Ino kRootIno = 1;

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
  kSpriteOrigins, kHls, kControl
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
  bool detached = false;    // gone from the library
};

// Tells the kernel that something it may have cached changed.
class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual void InvalidateInode(Ino ino) = 0;
  virtual void InvalidateEntry(Ino parent, const std::string& name) = 0;
};

struct NsOptions {
  bool id_names = false;          // name_scheme=id
  int64_t metadata_ttl = 300;     // seconds
  bool all_streams = false;       // also Invisible / proprietary-encrypted streams
  vod::OutputType output_type = vod::OutputType::kCdn;
  int64_t auth_timeout = 3600;
  size_t probe_parallelism = 16;
  std::string version_text;       // content of .vodfs/version
};

struct NsStats {
  uint64_t listings = 0;        // library listings (full traversals)
  uint64_t populations = 0;     // directories filled
  uint64_t refreshes = 0;       // TTL refreshes
  uint64_t probes = 0;          // origin size probes
  uint64_t nodes = 0;
};

class Namespace {
 public:
  Namespace(vod::VodApi& api, resolve::UrlBroker& broker, fetch::RangeFetcher& fetcher,
            fetch::VersionTable& versions, Executor& executor, Clock& clock, NsOptions options);
  ~Namespace();
  Namespace(const Namespace&) = delete;
  Namespace& operator=(const Namespace&) = delete;

  void SetNotifier(Notifier* n) { notifier_ = n; }
  // Produces the text of .vodfs/stats.
  void SetStatsSource(std::function<std::string()> f) { stats_source_ = std::move(f); }

  // Lists the library once; fails if the API cannot be used (credentials,
  // endpoint), so that a broken setup is reported before mounting.
  Status Init();
  // Starts background refreshes (after any daemonising fork).
  void Start();
  void Stop();

  Result<NodeInfo> Get(Ino ino);
  Result<NodeInfo> Lookup(Ino parent, const std::string& name);
  // Children of a directory, in name order.
  Result<std::vector<NodeInfo>> List(Ino dir);
  // Calls `fn` for each child in name order, without xattrs, under the
  // namespace's lock (`fn` must not call back into the namespace); a large
  // directory is never copied whole.
  Status ForEachChild(Ino dir, const std::function<void(const NodeInfo&)>& fn);
  // The origin reports a size different from the API's (origin wins).
  void CorrectSize(Ino ino, uint64_t size);
  // The content of `ino` changed: the kernel must drop what it cached.
  void InvalidateContent(Ino ino) {
    if (notifier_) notifier_->InvalidateInode(ino);
  }
  // Text of a kStats file right now.
  std::string StatsText() const { return stats_source_ ? stats_source_() : "{}\n"; }

  NsStats Stats() const;

 private:
  // What a file, symlink or HLS directory carries beyond its attributes; a
  // medium's directory, the bulk of a large library, carries none.
  struct Payload {
    resolve::MediaRef ref;
    std::string text;
    std::string link;
    std::vector<std::pair<std::string, std::string>> xattrs;
  };
  struct Node {
    Ino parent = 0;
    std::string name;
    Kind kind = Kind::kFile;
    DirType dir_type = DirType::kRoot;
    Content content = Content::kNone;
    bool detached = false;
    // Directories filled from the API.
    bool populated = false;
    bool populating = false;
    bool refresh_pending = false;
    uint64_t size = 0;
    int64_t mtime = 0;
    int64_t populated_at = 0;
    std::string id;  // media/image/category id, job id for kHls
    std::shared_ptr<const Payload> payload;        // may be null
    std::shared_ptr<const vod::MediaInfo> media;   // kMedia: the medium as listed
    std::map<std::string, Ino> children;
    const Payload& P() const { return payload ? *payload : kNoPayload; }
  };
  static const Payload kNoPayload;
  // What a population produces: the new children of one directory.
  struct ChildSpec {
    std::string key;   // identity (inode hash input)
    std::string name;
    Kind kind = Kind::kFile;
    DirType dir_type = DirType::kRoot;
    Content content = Content::kNone;
    bool size_known = true;  // false: probe the origin
    // Subdirectories filled in the same pass (snapshots/, sprites/...).
    bool filled = false;
    uint64_t size = 0;
    int64_t mtime = 0;
    std::string id;
    std::shared_ptr<Payload> payload;
    std::shared_ptr<const vod::MediaInfo> media;
    std::vector<ChildSpec> children;
    // The payload, made on first use.
    Payload& p() {
      if (!payload) payload = std::make_shared<Payload>();
      return *payload;
    }
    const resolve::MediaRef& ref() const { return payload ? payload->ref : kNoPayload.ref; }
  };
  struct Listing {
    std::vector<ChildSpec> children;
    int64_t mtime = 0;  // of the directory itself
  };

  // Ensures `dir` is filled (first time: now; after the TTL: in the background).
  Status EnsurePopulated(Ino dir);
  Result<Listing> Build(Ino dir, const Node& snapshot);
  Result<Listing> BuildMediaList(const std::string& type);
  Result<Listing> BuildImages();
  Result<Listing> BuildCategories(int64_t cate_id, int depth);
  Result<Listing> BuildMedia(const Node& dir);
  Result<Listing> BuildSnapshots(const Node& dir);
  Result<Listing> BuildHls(const Node& dir);
  Status ProbeSizes(std::vector<ChildSpec>* children);
  // Installs a new listing (REQUIRES: mu_): adds, updates, detaches, and
  // collects what the kernel must forget.
  void Apply(Ino dir, Listing& listing, std::vector<std::pair<Ino, std::string>>* entries,
             std::vector<Ino>* inodes);
  void Detach(Ino ino);
  // Runs a refresh of `dir` (TTL expiry) on the refresher.
  void ScheduleRefresh(Ino dir);
  Status Populate(Ino dir, bool refresh);
  Ino InoFor(const std::string& key);
  Ino AddStatic(Ino parent, const std::string& name, const std::string& key, DirType type);
  NodeInfo Info(Ino ino, const Node& n, bool with_xattrs = true) const;  // REQUIRES: mu_ held
  void Notify(const std::vector<std::pair<Ino, std::string>>& entries, const std::vector<Ino>& inodes);

  vod::VodApi& api_;
  resolve::UrlBroker& broker_;
  fetch::RangeFetcher& fetcher_;
  fetch::VersionTable& versions_;
  Executor& executor_;
  Clock& clock_;
  NsOptions options_;
  Notifier* notifier_ = nullptr;
  std::function<std::string()> stats_source_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<Ino, Node> nodes_;
  // Inode -> a second hash of the key that made it, to tell a collision of
  // the inode hash from the same key asked again.
  std::unordered_map<Ino, uint64_t> ino_keys_;
  Ino videos_ = 0, audio_ = 0, images_dir_ = 0, categories_ = 0;
  NsStats stats_;
  Executor refresher_{2, "vodfs-refresh"};
};

}  // namespace vodfs::ns
