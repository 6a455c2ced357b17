// DiskTier: the persistent block cache behind the memory tier.
//
// Layout: <dir>/v1/<aa>/<object hash>-<extent>.ext, one file per extent of
// `blocks_per_extent` blocks of one object version. A file starts with a
// 4 KiB header (magic, the object's identity and version, and one record
// per block: length, CRC-32C, and a check word binding both to the block's
// position) followed by the blocks at fixed offsets (sparse).
//
// Crash safety without fsync: a block is written before its record, and
// every read verifies the CRC; a torn or corrupted block (or record) is
// detected, dropped and fetched again, never served.
//
// Quota: least recently used extents are deleted to stay under the quota;
// a full disk (ENOSPC) evicts more instead of failing. Writes happen on a
// background thread through a bounded queue; a full queue makes the caller
// wait (a reader goes no faster than the disk takes its blocks), and only a
// writer stuck for seconds gets blocks dropped.
//
// The directory is private (0700) and used by one vodfs at a time (an
// exclusive lock on <dir>/lock).
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "vodfs/cache/block_cache.h"
#include "vodfs/util/result.h"

namespace vodfs::cache {

struct DiskTierOptions {
  std::string dir;
  uint64_t quota = 1ULL << 30;
  uint64_t block_size = 64 << 10;
  uint32_t blocks_per_extent = 64;
  uint64_t max_pending_bytes = 128ULL << 20;  // write queue bound (queued and being written)
  size_t max_open_files = 256;
};

// An object version as stored in extent headers.
struct StoredVersion {
  uint64_t size = 0;
  std::string etag;
  std::string last_modified;
};

struct DiskStats {
  uint64_t quota = 0;
  uint64_t bytes = 0;
  uint64_t extents = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t corrupt = 0;  // blocks that failed verification
  uint64_t evictions = 0;
  uint64_t writes = 0;
  uint64_t write_waits = 0;     // blocks that waited for room in the write queue
  uint64_t dropped_writes = 0;  // blocks not written: the writer was stuck
  uint64_t write_errors = 0;
};

class DiskTier final : public SecondTier {
 public:
  static Result<std::unique_ptr<DiskTier>> Open(const DiskTierOptions& options);
  ~DiskTier() override;
  DiskTier(const DiskTier&) = delete;
  DiskTier& operator=(const DiskTier&) = delete;

  // The writer thread (start after any daemonising fork; before Start,
  // writes are done inline).
  void Start();
  void Stop();  // writes what is pending, records access times

  Block Get(const BlockKey& key) override;
  // Whether a block is recorded (its bytes are verified only by Get).
  bool Has(const BlockKey& key) const;
  void Put(const BlockKey& key, const Block& block) override;

  // Records an object's identity for Put()s of its blocks: `object` is the
  // block-key object string, `ref` the reference it belongs to.
  void Describe(const std::string& object, const std::string& ref, const StoredVersion& version);
  // The newest version on disk of `ref`, if any.
  std::optional<StoredVersion> Known(const std::string& ref) const;

  DiskStats Stats() const;
  const DiskTierOptions& options() const { return options_; }

  // Without opening a cache for use: what is in `dir`, or empty it (fails
  // while a vodfs holds the directory).
  static Result<DiskStats> Inspect(const std::string& dir);
  static Status Clear(const std::string& dir);

 private:
  struct Extent;
  struct Fd;
  struct Pending {
    BlockKey key;
    Block block;
  };

  explicit DiskTier(DiskTierOptions options);
  Status Init();
  void WriterLoop();
  // Writes consecutive blocks of one extent, starting at `first`.
  void WriteRun(const BlockKey& first, const std::vector<Block>& run);
  int OpenExtent(Extent& e, std::shared_ptr<Fd>* fd, std::shared_ptr<Fd>* direct);
  std::shared_ptr<Extent> FindExtent(const std::string& object, uint64_t extent, bool create);
  void EvictLocked(uint64_t target);
  void Touch(const std::shared_ptr<Extent>& e);
  void CloseIdleLocked();

  DiskTierOptions options_;
  std::atomic<bool> direct_io_{true};  // block data with O_DIRECT while the file system takes it
  int lock_fd_ = -1;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Extent>> extents_;  // "<object>\x1f<extent>"
  std::list<std::shared_ptr<Extent>> lru_;
  size_t open_files_ = 0;  // extents with an open fd, GUARDED_BY(mu_)                            // front = most recent
  std::unordered_map<std::string, std::pair<std::string, StoredVersion>> described_;  // object -> ref, version
  std::unordered_map<std::string, std::pair<int64_t, StoredVersion>> known_;          // ref -> newest version
  uint64_t bytes_ = 0;
  DiskStats stats_;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::condition_variable room_cv_;  // queued_bytes_ went down
  std::deque<Pending> queue_;
  uint64_t queued_bytes_ = 0;
  bool running_ = false;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace vodfs::cache
