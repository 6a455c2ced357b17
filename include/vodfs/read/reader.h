// Reader: the read engine of media files. VodFs keeps the handles; this
// turns "bytes [offset, offset+size) of this open file" into blocks.
//
// An open file is pinned to one version of its object: one seen earlier
// in this mount (the version table), one the disk tier holds from an
// earlier mount (confirmed with the origin once, never on trust), or the
// one the origin names when the file's head is first asked for — at open,
// so that the first read finds its bytes on the way. A version change seen
// later fails the file's reads with kStale (ESTALE), never splicing two
// versions; an object found corrupt (see Verifier) fails the reads of
// every file opened before with kDataLoss (EIO).
//
// Blocks come from the memory tier, else are claimed and loaded by the
// BlockLoader (disk tier, then origin): a read loads the blocks it lacks on
// its own thread, read-ahead (PlanReadAhead) loads ahead of each
// sequential cursor on the executor, and the head of an MP4 that keeps its
// index at its end (TrailingMp4Index) has the index fetched with it.
//
// Thread-safety: all methods are safe to call concurrently (libfuse's
// multithreaded loop). No lock is held across a fetch: a file's mutex
// guards its pin state and cursors only, and a read waiting for a pin
// waits on a condition, holding nothing.
// LOCK ORDERING: Reader::mu_ and an OpenMedia's mu are never held
// together; the cache's and the loader's locks are taken with neither.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "vodfs/cache/block_cache.h"
#include "vodfs/cache/version_store.h"
#include "vodfs/fetch/fetcher.h"
#include "vodfs/fetch/version_table.h"
#include "vodfs/read/block_loader.h"
#include "vodfs/read/planner.h"
#include "vodfs/read/verifier.h"
#include "vodfs/util/executor.h"
#include "vodfs/util/mutex.h"
#include "vodfs/util/result.h"

namespace vodfs::read {

// Bytes of a read as pieces of cached blocks, valid while `hold` lives.
struct Slices {
  struct Piece {
    const char* data;
    size_t size;
  };
  std::vector<Piece> pieces;
  size_t size = 0;  // sum of the pieces
  std::vector<std::shared_ptr<const void>> hold;
};

// What the reader tells the layer above (the namespace).
class ReaderEvents {
 public:
  virtual ~ReaderEvents() = default;
  // The origin says the object of `ino` holds `size` bytes.
  virtual void SizeLearned(uint64_t ino, uint64_t size) = 0;
  // The object of `ino` is not what it was: the kernel must drop its pages.
  virtual void ContentChanged(uint64_t ino) = 0;
};

struct ReaderOptions {
  uint64_t block_size = 64 << 10;
  HeadOptions head;
  ReadAheadOptions ahead;
  bool readahead = true;  // read-ahead, head parts and index prefetch
  // Ask for a file's head when it is opened, not at its first read.
  bool head_at_open = true;
};

struct ReaderStats {
  uint64_t readahead_blocks = 0;
  uint64_t readahead_resets = 0;
  uint64_t index_prefetches = 0;  // MP4 indexes fetched ahead of the demuxer
  uint64_t stale_reads = 0;
  uint64_t corrupt_reads = 0;  // reads failed because their object did not verify
  uint64_t read_errors = 0;
  uint64_t windows = 0;  // sequential cursors with a read-ahead window now
  LoaderStats loader;
  VerifierStats verifier;
};

// One open media file (opaque outside the reader).
struct OpenMedia;

class Reader {
 public:
  // `local`/`store`: the disk tier (null: none). `io` runs read-ahead and
  // head parts (null: everything on the reading thread, no read-ahead).
  Reader(fetch::RangeFetcher& fetcher, fetch::VersionTable& versions, cache::BlockCache& cache,
         cache::SecondTier* local, cache::VersionStore* store, Executor* io, ReaderEvents& events,
         ReaderOptions options);
  ~Reader();  // waits for its tasks on the executor
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  struct Opened {
    std::shared_ptr<OpenMedia> file;
    // The version pinned at open is the one the previous open of this
    // inode read: the kernel may keep its pages.
    bool keep_cache = false;
  };
  // `listed_size`: what the API says the object holds. `iso_media`: named
  // like an MP4 (it may keep its index at its end).
  Opened Open(const resolve::MediaRef& ref, uint64_t ino, uint64_t listed_size, bool iso_media);
  Result<Slices> Read(const std::shared_ptr<OpenMedia>& file, uint64_t offset, size_t size);
  void Close(const std::shared_ptr<OpenMedia>& file);

  ReaderStats Stats() const;
  BlockLoader& loader() { return loader_; }
  Verifier& verifier() { return verifier_; }

 private:
  // Pins `f`, reading blocks [first, last] with the head if it has to ask.
  Status Pin(const std::shared_ptr<OpenMedia>& f, uint64_t first, uint64_t last);
  Result<ObjectVersion> FindVersion(const std::shared_ptr<OpenMedia>& f, uint64_t first, uint64_t last);
  void Pinned(OpenMedia& f, const ObjectVersion& v);
  void ReadAhead(const std::shared_ptr<OpenMedia>& f, const ObjectVersion& v, uint64_t offset, size_t size);
  void PrefetchMp4Index(const ObjectVersion& v, std::string_view head);
  // Loads the claims on the executor.
  void LoadInBackground(const std::shared_ptr<OpenMedia>& f, const ObjectVersion& v, BlockLoader::Claims claims);
  Result<cache::Block> GetBlock(const ObjectVersion& v, uint64_t index, bool* waited);
  void OnStale(OpenMedia& f, const std::string& why);
  // `object` did not verify (read through `ino`): the kernel forgets its pages.
  void Condemned(const std::string& object, uint64_t ino);
  void Post(std::function<void()> task);

  fetch::RangeFetcher& fetcher_;
  fetch::VersionTable& versions_;
  cache::BlockCache& cache_;
  cache::VersionStore* store_;
  Executor* io_;
  ReaderEvents& events_;
  const ReaderOptions options_;
  Verifier verifier_;
  BlockLoader loader_;

  Mutex mu_;
  // The version last opened per inode: the same again keeps the kernel's cache.
  std::unordered_map<uint64_t, std::string> opened_version_ GUARDED_BY(mu_);
  int tasks_ GUARDED_BY(mu_) = 0;  // posted to io_ and not yet finished
  CondVar tasks_done_;

  std::atomic<int> windows_{0};  // sequential cursors with a window, all files
  std::atomic<uint64_t> readahead_blocks_{0}, readahead_resets_{0}, index_prefetches_{0}, stale_reads_{0},
      corrupt_reads_{0}, read_errors_{0};
};

}  // namespace vodfs::read
