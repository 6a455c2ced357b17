// VodFs: the filesystem in inode terms, testable without a kernel. The FUSE
// adapter translates kernel requests to these calls and errors to errno.
//
// It owns the open handles: directories read through the namespace's
// cursors, generated files from their text, media files through the read
// engine (read::Reader), which pins each open file to one version of its
// object and serves its bytes from the block caches and the origin.
//
// Thread-safety: every method is safe to call concurrently (libfuse's
// multithreaded loop). LOCK ORDERING: handles_mu_ is never held while a
// handle is used (it only finds them); a directory handle's mu is taken
// alone.
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

#include "vodfs/ns/names.h"
#include "vodfs/ns/namespace.h"
#include "vodfs/read/reader.h"
#include "vodfs/util/mutex.h"
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
  uint64_t block_size = 64 << 10;  // st_blksize (at most 1 MiB) and statfs's block size
};

using ReadSlices = read::Slices;

struct CoreStats {
  uint64_t opens = 0;
  uint64_t reads = 0;
  uint64_t bytes_read = 0;      // bytes handed to readers
  uint64_t stale_reads = 0;     // reads failed because the object changed
  uint64_t read_errors = 0;
  uint64_t readahead_blocks = 0;
  uint64_t readahead_resets = 0;
  uint64_t index_prefetches = 0;  // MP4 indexes fetched ahead of the demuxer
  uint64_t corrupt_reads = 0;     // reads failed because the object did not verify
  uint64_t open_handles = 0;
};

// The read engine's news, told to the namespace (and by it to the kernel).
class NamespaceEvents final : public read::ReaderEvents {
 public:
  explicit NamespaceEvents(ns::Namespace& ns) : ns_(ns) {}
  void SizeLearned(uint64_t ino, uint64_t size) override { ns_.CorrectSize(ino, size); }
  void ContentChanged(uint64_t ino) override { ns_.InvalidateContent(ino); }

 private:
  ns::Namespace& ns_;
};

class VodFs {
 public:
  VodFs(ns::Namespace& ns, read::Reader& reader, CoreOptions options);
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
  read::Reader& reader() { return reader_; }

 private:
  struct FileHandle {
    ns::Content content = ns::Content::kNone;
    std::string text;                     // generated content
    std::shared_ptr<read::OpenMedia> media;  // kMedia
  };
  struct DirHandle {
    Ino ino = 0;
    Ino parent = 0;
    Mutex mu;  // one reader of the cursor at a time
    std::shared_ptr<ns::Namespace::DirCursor> cursor GUARDED_BY(mu);
  };

  Attr ToAttr(const ns::NodeInfo& n) const;
  std::shared_ptr<FileHandle> FindFile(uint64_t fh) const;

  ns::Namespace& ns_;
  read::Reader& reader_;
  CoreOptions options_;

  mutable Mutex handles_mu_;
  uint64_t next_fh_ GUARDED_BY(handles_mu_) = 1;
  std::unordered_map<uint64_t, std::shared_ptr<FileHandle>> files_ GUARDED_BY(handles_mu_);
  std::unordered_map<uint64_t, std::shared_ptr<DirHandle>> dirs_ GUARDED_BY(handles_mu_);

  std::atomic<uint64_t> opens_{0}, reads_{0}, bytes_read_{0};
};

}  // namespace vodfs::core
