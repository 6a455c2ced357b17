// DiskTier: the persistent block cache behind the memory tier.
//
// Layout: <dir>/v2/<aa>/<object hash>-<extent>.ext, one file per extent of
// `blocks_per_extent` blocks of one object version. A file starts with a
// 4 KiB header (src/cache/extent_header.h: the object's identity and
// version, whether it was verified against its origin, and one record per
// block: length, CRC-32C, CRC-64, and a check word binding them to the
// block's position) followed by the blocks at fixed offsets (sparse).
//
// Integrity: the CRC-32C of a record protects a block against the local
// disk; it is checked on every read (with the CPU's CRC instruction, a
// fraction of the cost of the read). The CRC-64 is the one the block had
// when it arrived from the origin: it lets an object whose blocks were
// fetched across several mounts be checked whole against the origin's
// CRC-64. Crash safety without fsync: a block is written before its
// record, so a torn block or record is detected, dropped and fetched
// again, never served.
//
// I/O: block data is read and written with O_DIRECT where the file system
// allows it, straight between the disk and the blocks' own (aligned)
// memory: the page cache would otherwise hold every byte twice (this
// file's pages and the mounted file's), and a run of neighbouring blocks
// is one request. Writes happen on a background thread through a bounded
// queue; a full queue makes the caller wait (a reader goes no faster than
// the disk takes its blocks), and only a writer stuck for seconds gets
// blocks dropped.
//
// Quota: least recently used extents are deleted to stay under the quota;
// a full disk (ENOSPC) evicts more instead of failing.
//
// The directory is private (0700) and used by one vodfs at a time (an
// exclusive lock on <dir>/lock).
//
// Thread-safety: all methods are safe to call concurrently.
// LOCK ORDERING: writing_mu_ before queue_mu_ before an extent's io mutex
// before mu_; mu_ is never held across file I/O except small header writes.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "vodfs/cache/block_cache.h"
#include "vodfs/cache/version_store.h"
#include "vodfs/util/mutex.h"
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
  uint64_t dropped_objects = 0;  // objects dropped because they did not verify
};

class DiskTier final : public SecondTier, public VersionStore {
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
  std::vector<Block> GetRun(const std::string& object, uint64_t first, uint64_t count) override;
  // Whether a block is recorded (its bytes are verified only when read).
  bool Has(const BlockKey& key) const;
  using SecondTier::Put;
  void Put(const BlockKey& key, const Block& block, const std::function<bool()>& still_valid) override;

  // VersionStore.
  std::optional<StoredVersion> Known(const std::string& ref) const override;
  void Describe(const std::string& object, const std::string& ref, const StoredVersion& version) override;
  bool Verified(const std::string& object) const override;
  void MarkVerified(const std::string& object, uint64_t blocks) override;
  std::vector<std::pair<uint64_t, uint64_t>> BlockCrcs(const std::string& object, uint64_t blocks) const override;
  void DropObject(const std::string& object, uint64_t blocks) override;

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
  // What a read of one extent needs, copied out under mu_.
  struct ReadPlan;

  explicit DiskTier(DiskTierOptions options);
  Status Init();
  void WriterLoop();
  // Writes consecutive blocks of one extent, starting at `first`.
  void WriteRun(const BlockKey& first, const std::vector<Block>& run);
  int OpenExtent(Extent& e, std::shared_ptr<Fd>* fd, std::shared_ptr<Fd>* direct) EXCLUDES(mu_);
  // Reads slots [slot0, slot0+count) of one extent into out[0..count).
  void ReadSlots(const std::string& object, uint64_t extent, uint64_t slot0, uint64_t count, Block* out)
      EXCLUDES(mu_);
  std::shared_ptr<Extent> FindExtent(const std::string& object, uint64_t extent, bool create) REQUIRES(mu_);
  void RemoveExtentLocked(const std::shared_ptr<Extent>& e) REQUIRES(mu_);
  void EvictLocked(uint64_t target) REQUIRES(mu_);
  void Touch(const std::shared_ptr<Extent>& e) REQUIRES(mu_);
  void CloseIdleLocked() REQUIRES(mu_);
  std::shared_ptr<Fd> ReadFdLocked(Extent& e, bool* direct) REQUIRES(mu_);

  DiskTierOptions options_;
  std::atomic<bool> direct_io_{true};  // block data with O_DIRECT while the file system takes it
  int lock_fd_ = -1;
  mutable Mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Extent>> extents_ GUARDED_BY(mu_);  // "<object>\x1f<extent>"
  std::list<std::shared_ptr<Extent>> lru_ GUARDED_BY(mu_);  // front = most recent
  size_t open_files_ GUARDED_BY(mu_) = 0;                     // extents with an open fd
  std::unordered_map<std::string, std::pair<std::string, StoredVersion>> described_ GUARDED_BY(mu_);  // object
  std::unordered_map<std::string, std::pair<int64_t, StoredVersion>> known_ GUARDED_BY(mu_);  // ref -> newest
  std::unordered_set<std::string> verified_ GUARDED_BY(mu_);  // objects verified whole
  uint64_t bytes_ GUARDED_BY(mu_) = 0;
  DiskStats stats_ GUARDED_BY(mu_);

  // Held while blocks are written (see DropObject).
  Mutex writing_mu_ ACQUIRED_BEFORE(queue_mu_);
  Mutex queue_mu_ ACQUIRED_BEFORE(mu_);
  CondVar queue_cv_;
  CondVar room_cv_;  // queued_bytes_ went down
  std::deque<Pending> queue_ GUARDED_BY(queue_mu_);
  uint64_t queued_bytes_ GUARDED_BY(queue_mu_) = 0;
  bool running_ GUARDED_BY(queue_mu_) = false;
  bool stopping_ GUARDED_BY(queue_mu_) = false;
  std::thread writer_;
};

}  // namespace vodfs::cache
