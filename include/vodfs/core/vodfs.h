// VodFs: the filesystem in inode terms, testable without a kernel. The FUSE
// adapter translates kernel requests to these calls and errors to errno.
//
// Reads: a handle is pinned to the version (size, ETag, Last-Modified) of
// the object it first sees; blocks come from the block cache keyed by that
// version, misses are fetched and verified by RangeFetcher. A version change
// seen mid-read fails the read with kStale (ESTALE) and invalidates the
// kernel's cache of the file, never splicing two versions.
//
// Thread-safety: every method is safe to call concurrently (libfuse's
// multithreaded loop). LOCK ORDERING: handles_mu_ before a handle's mu.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "vodfs/cache/block_cache.h"
#include "vodfs/cache/disk_tier.h"
#include "vodfs/fetch/fetcher.h"
#include "vodfs/fetch/version_table.h"
#include "vodfs/ns/names.h"
#include "vodfs/ns/namespace.h"
#include "vodfs/util/clock.h"
#include "vodfs/util/executor.h"
#include "vodfs/util/result.h"

namespace vodfs::core {

using ns::Ino;

struct Attr {
  Ino ino = 0;
  uint32_t mode = 0;  // with file type bits
  uint32_t nlink = 1;
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;
  int64_t mtime = 0;  // also atime and ctime
  uint32_t blksize = 0;
  uint64_t blocks = 0;  // 512-byte units
};

struct Entry {
  Attr attr;
  double attr_timeout = 0;
  double entry_timeout = 0;
};

struct DirEntry {
  std::string name;
  Attr attr;
};

struct OpenReply {
  uint64_t fh = 0;
  bool keep_cache = false;  // the kernel may keep pages from earlier opens
  bool direct_io = false;   // live files: no page cache, no size limit
};

struct FsStats {
  uint64_t block_size = 0;
  uint64_t files = 0;
  uint64_t name_max = 255;
};

struct CoreOptions {
  uint32_t uid = 0, gid = 0;
  uint32_t umask = 022;
  // Permission bits before umask (the mount is read-only whatever they say).
  uint32_t file_mode = 0444;
  uint32_t dir_mode = 0555;
  double attr_timeout = 60;
  double entry_timeout = 60;
  double negative_timeout = 5;
  uint64_t block_size = 64 << 10;
  // Read-ahead of sequential readers (0 disables).
  uint64_t readahead_max = 64 << 20;
  uint64_t readahead_initial = 1 << 20;  // the first window
  // A cursor opens a window once it has read this much sequentially (the
  // kernel's own read-ahead serves shorter bursts).
  uint64_t readahead_trigger = 4 << 20;
  // The first read at the head of a file also fetches this much after it
  // (media is read from the start: a demuxer's header and first frames),
  // in up to head_parts requests of at least head_part_min bytes each.
  uint64_t head_prefetch = 3 << 19;  // 1.5 MiB
  uint64_t head_parts = 8;
  uint64_t head_part_min = 192 << 10;
  // The first read at the head of a file named like an MP4 also fetches
  // its last tail_prefetch bytes, where a trailing index would be.
  uint64_t tail_prefetch = 128 << 10;
  size_t max_parallel_fetches = 8;
};

struct ReadSlices {
  struct Piece {
    const char* data;
    size_t size;
  };
  std::vector<Piece> pieces;
  size_t size = 0;                           // sum of the pieces
  std::vector<std::shared_ptr<const void>> hold;  // what keeps the pieces alive
};

struct CoreStats {
  uint64_t opens = 0;
  uint64_t reads = 0;
  uint64_t bytes_read = 0;      // bytes handed to readers
  uint64_t stale_reads = 0;     // reads failed because the object changed
  uint64_t read_errors = 0;
  uint64_t readahead_blocks = 0;
  uint64_t readahead_resets = 0;
  uint64_t index_prefetches = 0;  // MP4 indexes fetched ahead of the demuxer
  uint64_t open_handles = 0;
};

class VodFs {
 public:
  // `readahead` runs read-ahead fetches (nullptr: none); `disk` is the
  // persistent tier behind `cache` (nullptr: none), which also remembers
  // object versions across mounts.
  VodFs(ns::Namespace& ns, fetch::RangeFetcher& fetcher, fetch::VersionTable& versions,
        cache::BlockCache& cache, Executor* readahead, CoreOptions options,
        cache::DiskTier* disk = nullptr);
  ~VodFs();
  VodFs(const VodFs&) = delete;
  VodFs& operator=(const VodFs&) = delete;

  Result<Entry> Lookup(Ino parent, const std::string& name);
  Result<Attr> GetAttr(Ino ino);
  Result<std::string> ReadLink(Ino ino);

  Result<uint64_t> OpenDir(Ino ino);
  // At most `max` entries from `offset` (0 = ".", 1 = "..", then the
  // children, as listed at OpenDir time so offsets stay stable).
  Result<std::vector<DirEntry>> ReadDir(uint64_t fh, uint64_t offset, size_t max = SIZE_MAX);
  void ReleaseDir(uint64_t fh);

  // flags: open(2) flags; any write access is kReadOnly.
  Result<OpenReply> Open(Ino ino, int flags);
  // Reads up to `size` bytes at `offset` into `out`; returns the count
  // (0 at end of file).
  Result<size_t> Read(uint64_t fh, uint64_t offset, size_t size, char* out);
  // The same bytes without a copy: pieces of cached blocks, valid while the
  // result lives (it holds the blocks).
  Result<ReadSlices> ReadRef(uint64_t fh, uint64_t offset, size_t size);
  void Release(uint64_t fh);

  Result<std::string> GetXattr(Ino ino, const std::string& name);
  Result<std::vector<std::string>> ListXattr(Ino ino);
  FsStats StatFs() const;

  double negative_timeout() const { return options_.negative_timeout; }
  CoreStats Stats() const;
  const CoreOptions& options() const { return options_; }

 private:
  struct FileHandle;
  struct DirHandle {
    Ino ino = 0;
    Ino parent = 0;
    std::mutex mu;  // one reader of the cursor at a time
    std::shared_ptr<ns::Namespace::DirCursor> cursor;
  };

  Attr ToAttr(const ns::NodeInfo& n) const;
  Result<cache::Block> GetBlock(FileHandle& h, uint64_t index);
  Result<std::string> FetchBlock(FileHandle& h, uint64_t index, const fetch::Fingerprint& fp);
  Status PinVersion(FileHandle& h, uint64_t first_block, uint64_t last_block);
  void Pin(FileHandle& h, const fetch::Fingerprint& fp);  // REQUIRES: h.mu held
  // Loads claimed blocks [first, first+count): from the disk tier when
  // there, the rest from the origin in runs (one request per run).
  bool PrefetchMp4Index(const resolve::MediaRef& ref, const std::string& object, const fetch::Fingerprint& fp,
                        std::string_view head);
  Status LoadClaimed(const resolve::MediaRef& ref, const std::string& object, const fetch::Fingerprint& fp,
                     uint64_t first, uint64_t count);
  void ReadAhead(const std::shared_ptr<FileHandle>& h, uint64_t offset, size_t size);
  // The object under `h` changed: fail this handle from now on, forget the
  // old version, and have the kernel drop its pages.
  void OnStale(FileHandle& h, const std::string& why);
  std::string ObjectKey(const FileHandle& h) const;

  ns::Namespace& ns_;
  fetch::RangeFetcher& fetcher_;
  fetch::VersionTable& versions_;
  cache::BlockCache& cache_;
  Executor* readahead_;
  cache::DiskTier* disk_;
  CoreOptions options_;

  mutable std::mutex handles_mu_;
  uint64_t next_fh_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<FileHandle>> files_;
  std::unordered_map<uint64_t, std::shared_ptr<DirHandle>> dirs_;
  // Version last opened per inode: same version again keeps the kernel's cache.
  std::unordered_map<Ino, std::string> opened_version_;

  std::atomic<int> active_streams_{0};  // sequential streams with a read-ahead window
  std::atomic<uint64_t> opens_{0}, reads_{0}, bytes_read_{0}, stale_reads_{0}, read_errors_{0},
      readahead_blocks_{0}, readahead_resets_{0}, index_prefetches_{0};
};

}  // namespace vodfs::core
