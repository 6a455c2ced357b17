#include "vodfs/cache/disk_tier.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>

#include "cache/extent_header.h"
#include "vodfs/util/crc32c.h"
#include "vodfs/util/log.h"
#include "vodfs/util/strings.h"

namespace vodfs::cache {

namespace {

constexpr size_t kHeaderSize = kExtentHeaderSize;
// The directory of this format. Extents of older formats are deleted.
constexpr const char* kFormatDir = "/v2";
constexpr const char* kOldFormatDirs[] = {"/v1"};

constexpr uint64_t kMaxRunBytes = 4 << 20;  // the largest single write
// How long a block waits for room in the write queue before it is dropped
// (only a writer that is stuck for this long drops anything).
constexpr auto kMaxPutWait = std::chrono::seconds(5);

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string ObjectHash(const std::string& object) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(str::StableHash64(object, 1)),
                static_cast<unsigned long long>(str::StableHash64(object, 2)));
  return buf;
}

bool PreadAll(int fd, char* buf, size_t n, off_t off) {
  while (n > 0) {
    ssize_t r = ::pread(fd, buf, n, off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<size_t>(r);
    off += r;
  }
  return true;
}

int PwriteAll(int fd, const char* buf, size_t n, off_t off) {
  while (n > 0) {
    ssize_t r = ::pwrite(fd, buf, n, off);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno;
    buf += r;
    n -= static_cast<size_t>(r);
    off += r;
  }
  return 0;
}

// Reads into `iov` until `need` bytes are in (or end of file). Returns the
// bytes read, or -errno.
ssize_t PreadvAtLeast(int fd, std::vector<iovec> iov, size_t need, off_t off) {
  size_t got = 0;
  size_t first = 0;
  while (got < need && first < iov.size()) {
    const int cnt = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
    ssize_t r = ::preadv(fd, iov.data() + first, cnt, off + static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    if (r == 0) break;
    got += static_cast<size_t>(r);
    size_t left = static_cast<size_t>(r);
    while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (left > 0) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return static_cast<ssize_t>(got);
}

int PwritevAll(int fd, std::vector<iovec> iov, off_t off) {
  size_t first = 0;
  while (first < iov.size()) {
    const int cnt = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
    ssize_t r = ::pwritev(fd, iov.data() + first, cnt, off);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno;
    off += r;
    size_t left = static_cast<size_t>(r);
    while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (left > 0) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return 0;
}

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status(ErrorCode::kFailedPrecondition, "Cannot create " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

template <typename F>
void ForEachExtentFile(const std::string& root, F&& f) {
  DIR* d = ::opendir(root.c_str());
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    std::string sub = e->d_name;
    if (sub.size() != 2) continue;
    std::string subdir = root + "/" + sub;
    DIR* d2 = ::opendir(subdir.c_str());
    if (!d2) continue;
    while (dirent* e2 = ::readdir(d2)) {
      std::string name = e2->d_name;
      if (str::EndsWith(name, ".ext")) f(subdir + "/" + name);
    }
    ::closedir(d2);
  }
  ::closedir(d);
}

// Deletes the extents of a format this version no longer reads.
void RemoveOldFormats(const std::string& dir) {
  for (const char* old : kOldFormatDirs) {
    const std::string root = dir + old;
    size_t n = 0;
    ForEachExtentFile(root, [&](const std::string& p) { n += ::unlink(p.c_str()) == 0; });
    if (DIR* d = ::opendir(root.c_str())) {
      while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] != '.') ::rmdir((root + "/" + e->d_name).c_str());
      }
      ::closedir(d);
      ::rmdir(root.c_str());
    }
    if (n > 0) VODFS_LOG(kInfo) << "disk cache: removed " << n << " extents of an older format";
  }
}

bool ReadHeader(int fd, ExtentHeader* h) {
  char buf[kHeaderSize];
  return PreadAll(fd, buf, kHeaderSize, 0) && ParseExtentHeader(std::string_view(buf, kHeaderSize), h);
}

uint32_t FlagsOf(bool verified, const StoredVersion& v) {
  return (verified ? kExtentVerified : 0) | (v.crc64 ? kExtentHasCrc64 : 0);
}

}  // namespace

struct DiskTier::Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

// One extent file. Its fields are guarded by the tier's mu_ (the analysis
// cannot name another object's mutex here; every access below holds it).
struct DiskTier::Extent {
  std::string object;
  uint64_t index = 0;
  std::string path;
  std::string ref;
  StoredVersion version;
  bool verified = false;
  std::vector<uint32_t> len, crc;
  std::vector<uint64_t> crc64;
  uint64_t bytes = 0;  // header + block bytes
  int64_t last_access = 0;
  bool accessed = false;  // since start: its time is written back at Stop
  bool evicted = false;
  int writers = 0;  // writes in progress (not evictable meanwhile)
  std::shared_ptr<Fd> fd;
  std::shared_ptr<Fd> direct;  // the same file opened O_DIRECT for block data (null: unsupported)
  Mutex io;                    // one writer at a time
  std::list<std::shared_ptr<Extent>>::iterator lru;
};

DiskTier::DiskTier(DiskTierOptions options) : options_(std::move(options)) {
  options_.blocks_per_extent = std::clamp<uint32_t>(options_.blocks_per_extent, 1, 128);
}

DiskTier::~DiskTier() {
  Stop();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Result<std::unique_ptr<DiskTier>> DiskTier::Open(const DiskTierOptions& options) {
  if (options.block_size == 0 || options.block_size % BlockData::kAlign != 0) {
    return Error(ErrorCode::kInvalidArgument, "the disk cache's block size must be a multiple of 4 KiB");
  }
  std::unique_ptr<DiskTier> t(new DiskTier(options));
  VODFS_RETURN_IF_ERROR(t->Init());
  return t;
}

Status DiskTier::Init() {
  VODFS_RETURN_IF_ERROR(MakeDir(options_.dir));
  struct stat st {};
  if (::stat(options_.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status(ErrorCode::kFailedPrecondition, options_.dir + " is not a directory");
  }
  if (st.st_uid != ::geteuid()) {
    return Status(ErrorCode::kPermissionDenied, "the cache directory " + options_.dir + " belongs to another user");
  }
  if (st.st_mode & 077) {
    VODFS_LOG(kWarn) << "The cache directory " << options_.dir << " was readable by others; making it private (0700)";
    ::chmod(options_.dir.c_str(), 0700);
  }
  const std::string lock = options_.dir + "/lock";
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Status(ErrorCode::kFailedPrecondition,
                  "the cache directory " + options_.dir + " is in use by another vodfs (use another cache_dir)");
  }
  RemoveOldFormats(options_.dir);
  const std::string root = options_.dir + kFormatDir;
  VODFS_RETURN_IF_ERROR(MakeDir(root));
  std::vector<std::shared_ptr<Extent>> found;
  ForEachExtentFile(root, [&](const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    ExtentHeader h;
    struct stat fst {};
    bool ok = fd >= 0 && ReadHeader(fd, &h) && h.block_size == options_.block_size &&
              h.bpe == options_.blocks_per_extent && ::fstat(fd, &fst) == 0;
    if (fd >= 0) ::close(fd);
    if (!ok) {
      ::unlink(path.c_str());  // not ours, or from another block size: start over
      return;
    }
    auto e = std::make_shared<Extent>();
    e->object = h.object;
    e->index = h.index;
    e->path = path;
    e->ref = h.ref;
    e->version = h.version;
    e->verified = h.verified;
    e->len = std::move(h.len);
    e->crc = std::move(h.crc);
    e->crc64 = std::move(h.crc64);
    e->bytes = kHeaderSize;
    for (uint32_t l : e->len) e->bytes += l;
    e->last_access = fst.st_mtime;
    found.push_back(std::move(e));
  });
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a->last_access > b->last_access; });
  MutexLock guard(&mu_);
  for (auto& e : found) {
    lru_.push_back(e);
    e->lru = std::prev(lru_.end());
    bytes_ += e->bytes;
    if (!e->ref.empty()) {
      auto& k = known_[e->ref];
      if (e->last_access >= k.first) k = {e->last_access, e->version};
      described_[e->object] = {e->ref, e->version};
    }
    if (e->verified) verified_.insert(e->object);
    extents_[e->object + '\x1f' + std::to_string(e->index)] = std::move(e);
  }
  if (bytes_ > options_.quota) EvictLocked(options_.quota);
  VODFS_LOG(kInfo) << "disk cache " << options_.dir << ": " << str::FormatSize(bytes_) << " in " << extents_.size()
                   << " extents, quota " << str::FormatSize(options_.quota);
  return Status::Ok();
}

void DiskTier::Start() {
  MutexLock lock(&queue_mu_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  writer_ = std::thread([this] { WriterLoop(); });
  pthread_setname_np(writer_.native_handle(), "vodfs-disk");
}

void DiskTier::Stop() {
  {
    MutexLock lock(&queue_mu_);
    if (!running_) return;
    stopping_ = true;
  }
  queue_cv_.SignalAll();
  room_cv_.SignalAll();
  if (writer_.joinable()) writer_.join();
  {
    MutexLock lock(&queue_mu_);
    running_ = false;
  }
  // Record access times so the LRU order survives a remount.
  MutexLock lock(&mu_);
  for (auto& e : lru_) {
    if (!e->accessed) continue;
    timespec ts[2] = {{e->last_access, 0}, {e->last_access, 0}};
    ::utimensat(AT_FDCWD, e->path.c_str(), ts, 0);
  }
}

void DiskTier::WriterLoop() {
  std::vector<Pending> batch;
  std::vector<Block> run;
  while (true) {
    batch.clear();
    {
      MutexLock lock(&queue_mu_);
      while (!stopping_ && queue_.empty()) queue_cv_.Wait(&queue_mu_);
      if (queue_.empty()) return;
    }
    // Held from taking the batch until it is on disk, so that a DropObject
    // meanwhile waits for these writes instead of racing them.
    MutexLock writing(&writing_mu_);
    {
      MutexLock lock(&queue_mu_);
      // Whatever is queued (up to a bound) is written in one go, so that
      // neighbouring blocks become one large write.
      uint64_t taken = 0;
      while (!queue_.empty() && taken < kMaxRunBytes * 16) {
        taken += queue_.front().block->size();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    // Parallel fetches complete their blocks interleaved: in order, each
    // fetch's blocks are neighbours again.
    std::sort(batch.begin(), batch.end(), [](const Pending& a, const Pending& b) {
      return a.key.object != b.key.object ? a.key.object < b.key.object : a.key.index < b.key.index;
    });
    const uint64_t bpe = options_.blocks_per_extent;
    for (size_t i = 0; i < batch.size();) {
      run.assign(1, batch[i].block);
      size_t j = i + 1;
      while (j < batch.size() && batch[j].key.object == batch[i].key.object &&
             batch[j].key.index == batch[j - 1].key.index + 1 && batch[j].key.index / bpe == batch[i].key.index / bpe &&
             batch[j - 1].block->size() == options_.block_size && (j - i + 1) * options_.block_size <= kMaxRunBytes) {
        run.push_back(batch[j].block);
        ++j;
      }
      WriteRun(batch[i].key, run);
      i = j;
    }
    // The batch counts against the queue's bound until it is written.
    uint64_t written = 0;
    for (const auto& p : batch) written += p.block->size();
    {
      MutexLock lock(&queue_mu_);
      queued_bytes_ -= written;
    }
    room_cv_.SignalAll();
  }
}

void DiskTier::Describe(const std::string& object, const std::string& ref, const StoredVersion& version) {
  MutexLock lock(&mu_);
  described_[object] = {ref, version};
}

std::optional<StoredVersion> DiskTier::Known(const std::string& ref) const {
  MutexLock lock(&mu_);
  auto it = known_.find(ref);
  if (it == known_.end()) return std::nullopt;
  return it->second.second;
}

bool DiskTier::Verified(const std::string& object) const {
  MutexLock lock(&mu_);
  return verified_.count(object) > 0;
}

void DiskTier::MarkVerified(const std::string& object, uint64_t blocks) {
  const uint64_t bpe = options_.blocks_per_extent;
  std::vector<std::pair<std::string, uint32_t>> files;  // path, flags
  {
    MutexLock lock(&mu_);
    if (!verified_.insert(object).second) return;
    for (uint64_t x = 0; x * bpe < blocks; ++x) {
      auto e = FindExtent(object, x, false);
      if (!e || e->verified) continue;
      e->verified = true;
      files.emplace_back(e->path, FlagsOf(true, e->version));
    }
  }
  // Each header's flags word is rewritten in place: 4 bytes of one sector.
  for (const auto& [path, flags] : files) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) continue;  // evicted meanwhile
    char word[4];
    for (int i = 0; i < 4; ++i) word[i] = static_cast<char>((flags >> (8 * i)) & 0xff);
    (void)PwriteAll(fd, word, sizeof(word), static_cast<off_t>(kExtentFlagsOffset));
    ::close(fd);
  }
}

std::vector<std::pair<uint64_t, uint64_t>> DiskTier::BlockCrcs(const std::string& object, uint64_t blocks) const {
  const uint64_t bpe = options_.blocks_per_extent;
  std::vector<std::pair<uint64_t, uint64_t>> out;
  MutexLock lock(&mu_);
  for (uint64_t x = 0; x * bpe < blocks; ++x) {
    auto it = extents_.find(object + '\x1f' + std::to_string(x));
    if (it == extents_.end()) continue;
    const Extent& e = *it->second;
    for (uint64_t i = 0; i < bpe && x * bpe + i < blocks; ++i) {
      if (e.len[i] != 0) out.emplace_back(x * bpe + i, e.crc64[i]);
    }
  }
  return out;
}

void DiskTier::DropObject(const std::string& object, uint64_t blocks) {
  // Blocks of it being written or still queued would bring it back: the
  // writes in progress end first, the queued ones go.
  MutexLock writing(&writing_mu_);
  {
    MutexLock lock(&queue_mu_);
    uint64_t freed = 0;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->key.object == object) {
        freed += it->block->size();
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    queued_bytes_ -= freed;
  }
  room_cv_.SignalAll();
  const uint64_t bpe = options_.blocks_per_extent;
  MutexLock lock(&mu_);
  verified_.erase(object);
  for (uint64_t x = 0; x * bpe < blocks; ++x) {
    if (auto e = FindExtent(object, x, false)) RemoveExtentLocked(e);
  }
  ++stats_.dropped_objects;
}

void DiskTier::Touch(const std::shared_ptr<Extent>& e) {
  e->last_access = NowSeconds();
  e->accessed = true;
  lru_.splice(lru_.begin(), lru_, e->lru);
}

std::shared_ptr<DiskTier::Extent> DiskTier::FindExtent(const std::string& object, uint64_t index, bool create) {
  const std::string k = object + '\x1f' + std::to_string(index);
  auto it = extents_.find(k);
  if (it != extents_.end()) return it->second;
  if (!create) return nullptr;
  auto e = std::make_shared<Extent>();
  e->object = object;
  e->index = index;
  const std::string h = ObjectHash(object);
  e->path = options_.dir + kFormatDir + "/" + h.substr(0, 2) + "/" + h + "-" + std::to_string(index) + ".ext";
  auto d = described_.find(object);
  if (d != described_.end()) {
    e->ref = d->second.first;
    e->version = d->second.second;
  }
  e->verified = verified_.count(object) > 0;
  e->len.assign(options_.blocks_per_extent, 0);
  e->crc.assign(options_.blocks_per_extent, 0);
  e->crc64.assign(options_.blocks_per_extent, 0);
  lru_.push_front(e);
  e->lru = lru_.begin();
  extents_[k] = e;
  return e;
}

// Deletes an extent's file and forgets it (a writer still holding it
// finds it evicted and records nothing).
void DiskTier::RemoveExtentLocked(const std::shared_ptr<Extent>& e) {
  ::unlink(e->path.c_str());
  e->evicted = true;
  if (e->fd) {
    e->fd.reset();
    e->direct.reset();
    --open_files_;
  }
  bytes_ -= std::min(bytes_, e->bytes);
  extents_.erase(e->object + '\x1f' + std::to_string(e->index));
  lru_.erase(e->lru);
}

void DiskTier::EvictLocked(uint64_t target) {
  for (auto it = lru_.end(); bytes_ > target && it != lru_.begin();) {
    --it;
    std::shared_ptr<Extent> e = *it;
    if (e->writers > 0) continue;
    ++it;  // RemoveExtentLocked erases e's position
    RemoveExtentLocked(e);
    ++stats_.evictions;
  }
}

bool DiskTier::Has(const BlockKey& key) const {
  MutexLock lock(&mu_);
  const uint64_t bpe = options_.blocks_per_extent;
  auto it = extents_.find(key.object + '\x1f' + std::to_string(key.index / bpe));
  return it != extents_.end() && it->second->len[key.index % bpe] != 0;
}

// The descriptor to read block data with: O_DIRECT where it works.
std::shared_ptr<DiskTier::Fd> DiskTier::ReadFdLocked(Extent& e, bool* direct) {
  if (!e.fd) {
    const int f = ::open(e.path.c_str(), O_RDWR | O_CLOEXEC);
    if (f < 0) return nullptr;
    e.fd = std::make_shared<Fd>(f);
    ++open_files_;
  }
  if (direct_io_ && !e.direct) {
    const int d = ::open(e.path.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
    if (d >= 0) {
      e.direct = std::make_shared<Fd>(d);
    } else {
      direct_io_ = false;  // e.g. tmpfs
    }
  }
  *direct = direct_io_ && e.direct;
  return *direct ? e.direct : e.fd;
}

Block DiskTier::Get(const BlockKey& key) {
  Block b;
  ReadSlots(key.object, key.index / options_.blocks_per_extent, key.index % options_.blocks_per_extent, 1, &b);
  return b;
}

std::vector<Block> DiskTier::GetRun(const std::string& object, uint64_t first, uint64_t count) {
  std::vector<Block> out(count);
  const uint64_t bpe = options_.blocks_per_extent;
  for (uint64_t i = 0; i < count;) {
    const uint64_t b = first + i;
    const uint64_t n = std::min(count - i, bpe - b % bpe);
    ReadSlots(object, b / bpe, b % bpe, n, out.data() + i);
    i += n;
  }
  return out;
}

void DiskTier::ReadSlots(const std::string& object, uint64_t extent, uint64_t slot0, uint64_t count, Block* out) {
  const uint64_t bs = options_.block_size;
  std::shared_ptr<Extent> e;
  std::shared_ptr<Fd> fd;
  bool direct = false;
  std::vector<uint32_t> len(count), crc(count);
  std::vector<uint64_t> crc64(count);
  {
    MutexLock lock(&mu_);
    e = FindExtent(object, extent, false);
    uint64_t present = 0;
    if (e) {
      for (uint64_t i = 0; i < count; ++i) {
        len[i] = e->len[slot0 + i];
        crc[i] = e->crc[slot0 + i];
        crc64[i] = e->crc64[slot0 + i];
        present += len[i] != 0;
      }
    }
    stats_.misses += count - present;
    if (present == 0) return;
    fd = ReadFdLocked(*e, &direct);
    if (!fd) {
      RemoveExtentLocked(e);  // its file is gone
      stats_.misses += present;
      return;
    }
    CloseIdleLocked();
    Touch(e);
  }
  // Each run of present blocks is one read, straight into the blocks.
  uint64_t hits = 0;
  std::vector<uint64_t> bad;
  for (uint64_t i = 0; i < count;) {
    if (len[i] == 0) {
      ++i;
      continue;
    }
    uint64_t j = i;
    std::vector<MutableBlock> blocks;
    std::vector<iovec> iov;
    size_t need = 0;
    // Only the last block of a run may be short (the end of the object).
    while (j < count && len[j] != 0 && (j == i || len[j - 1] == bs)) {
      blocks.push_back(BlockData::Allocate(len[j]));
      iov.push_back({blocks.back()->data(), direct ? blocks.back()->capacity() : len[j]});
      need = (j - i) * bs + len[j];
      ++j;
    }
    const off_t off = static_cast<off_t>(kHeaderSize + (slot0 + i) * bs);
    ssize_t got = PreadvAtLeast(fd->fd, iov, need, off);
    if (got == -EINVAL && direct) {
      // Refused (alignment rules of this file system): buffered from now on.
      direct_io_ = false;
      direct = false;
      {
        MutexLock lock(&mu_);
        fd = e->fd;
      }
      if (fd) {
        for (size_t k = 0; k < iov.size(); ++k) iov[k].iov_len = len[i + k];
        got = PreadvAtLeast(fd->fd, iov, need, off);
      }
    }
    const uint64_t whole = got < 0 ? 0 : static_cast<uint64_t>(got);
    for (uint64_t k = i; k < j; ++k) {
      const MutableBlock& blk = blocks[k - i];
      const bool arrived = whole >= (k - i) * bs + len[k];
      if (!arrived || Crc32c(blk->data(), len[k]) != crc[k]) {
        bad.push_back(k);
        continue;
      }
      blk->set_crc64(crc64[k]);
      out[k] = blk;
      ++hits;
    }
    i = j;
  }
  MutexLock lock(&mu_);
  stats_.hits += hits;
  for (uint64_t k : bad) {
    VODFS_LOG(kWarn) << "disk cache: block " << extent * options_.blocks_per_extent + slot0 + k << " of " << e->path
                     << " failed verification; fetching it again";
    ++stats_.corrupt;
    ++stats_.misses;
    const uint64_t slot = slot0 + k;
    if (e->len[slot] != len[k] || e->evicted) continue;
    e->len[slot] = 0;
    e->bytes -= len[k];
    bytes_ -= len[k];
    if (e->fd) {
      const std::string zero(kExtentRecordSize, '\0');
      (void)PwriteAll(e->fd->fd, zero.data(), zero.size(),
                      static_cast<off_t>(kExtentRecordsOffset + slot * kExtentRecordSize));
    }
  }
}

void DiskTier::Put(const BlockKey& key, const Block& block, const std::function<bool()>& still_valid) {
  if (!block || block->empty()) return;
  {
    MutexLock lock(&queue_mu_);
    if (running_ && !stopping_) {
      if (queued_bytes_ + block->size() > options_.max_pending_bytes) {
        // A full queue slows the reader down to what the disk takes: a
        // cache that silently skipped blocks would look warm and be cold.
        // Only a writer that makes no progress at all (a hung disk) gets
        // its blocks dropped, so that reads go on.
        {
          MutexLock l(&mu_);
          ++stats_.write_waits;
        }
        const auto deadline = std::chrono::steady_clock::now() + kMaxPutWait;
        while (!stopping_ && queued_bytes_ + block->size() > options_.max_pending_bytes &&
               std::chrono::steady_clock::now() < deadline) {
          room_cv_.WaitFor(&queue_mu_, deadline - std::chrono::steady_clock::now());
        }
        if (stopping_ || queued_bytes_ + block->size() > options_.max_pending_bytes) {
          MutexLock l(&mu_);
          ++stats_.dropped_writes;
          return;
        }
      }
      // Checked under queue_mu_: a DropObject after this purges the queue.
      if (still_valid && !still_valid()) return;
      queue_.push_back({key, block});
      queued_bytes_ += block->size();
      queue_cv_.Signal();
      return;
    }
  }
  MutexLock writing(&writing_mu_);
  if (still_valid && !still_valid()) return;
  WriteRun(key, {block});
}

// Opens (creating, with its header) the file of an extent. REQUIRES: e.io held.
int DiskTier::OpenExtent(Extent& e, std::shared_ptr<Fd>* fd_out, std::shared_ptr<Fd>* direct_out) {
  const std::string dir = e.path.substr(0, e.path.rfind('/'));
  (void)MakeDir(dir);  // open() below reports the real failure
  std::shared_ptr<Fd> fd;
  {
    // Under mu_, so that an extent evicted or dropped meanwhile is never
    // created again by a write that was under way.
    MutexLock lock(&mu_);
    if (e.evicted) return ECANCELED;
    const int f = ::open(e.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (f < 0) return errno;
    fd = std::make_shared<Fd>(f);
  }
  const int f = fd->fd;
  struct stat st {};
  if (::fstat(f, &st) == 0 && st.st_size < static_cast<off_t>(kHeaderSize)) {
    ExtentHeader header;
    header.block_size = static_cast<uint32_t>(options_.block_size);
    header.bpe = options_.blocks_per_extent;
    header.index = e.index;
    {
      MutexLock lock(&mu_);
      header.object = e.object;
      header.ref = e.ref;
      header.version = e.version;
      header.verified = e.verified;
    }
    const std::string h = EncodeExtentHeader(header);
    if (int err = PwriteAll(f, h.data(), kHeaderSize, 0)) return err;
  }
  std::shared_ptr<Fd> direct;
  if (direct_io_) {
    const int d = ::open(e.path.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
    if (d >= 0) {
      direct = std::make_shared<Fd>(d);
    } else {
      direct_io_ = false;  // e.g. tmpfs
    }
  }
  MutexLock lock(&mu_);
  if (!e.fd) ++open_files_;
  e.fd = fd;
  e.direct = direct;
  if (e.bytes == 0) {
    e.bytes = kHeaderSize;
    if (!e.evicted) bytes_ += kHeaderSize;
  }
  *fd_out = fd;
  *direct_out = direct;
  return 0;
}

void DiskTier::WriteRun(const BlockKey& first, const std::vector<Block>& run) {
  const uint64_t bpe = options_.blocks_per_extent;
  const uint64_t bs = options_.block_size;
  const uint64_t slot0 = first.index % bpe;
  const size_t n = run.size();
  // Only the last block of a run may be short (the end of the object).
  for (size_t i = 0; i < n; ++i) {
    if (run[i]->size() > bs || (i + 1 < n && run[i]->size() != bs) || slot0 + i >= bpe) return;
  }
  std::shared_ptr<Extent> e;
  {
    MutexLock lock(&mu_);
    e = FindExtent(first.object, first.index / bpe, true);
    bool all_there = true;
    for (size_t i = 0; i < n && all_there; ++i) all_there = e->len[slot0 + i] == run[i]->size();
    if (all_there) return;
    ++e->writers;
  }
  MutexLock io(&e->io);
  auto fail = [&](int err) {
    MutexLock lock(&mu_);
    --e->writers;
    if (err == ECANCELED) return;  // evicted or dropped meanwhile
    ++stats_.write_errors;
    VODFS_LOG(kDebug) << "disk cache: cannot write " << e->path << ": " << std::strerror(err);
  };
  std::shared_ptr<Fd> fd;
  std::shared_ptr<Fd> direct;
  {
    MutexLock lock(&mu_);
    fd = e->fd;
    direct = e->direct;
  }
  if (!fd) {
    if (int err = OpenExtent(*e, &fd, &direct)) return fail(err);
  }
  // The blocks first, then their records: a crash in between leaves blocks
  // without (valid) records, which are simply absent.
  const off_t off = static_cast<off_t>(kHeaderSize + slot0 * bs);
  auto write_blocks = [&]() -> int {
    if (direct && direct_io_) {
      // Straight from the blocks' memory: each is aligned and its capacity
      // a whole number of sectors (the padding after a short last block is
      // zeros, see BlockData).
      std::vector<iovec> iov;
      for (const auto& b : run) iov.push_back({const_cast<char*>(b->data()), b->capacity()});
      const int err = PwritevAll(direct->fd, iov, off);
      if (err != EINVAL) return err;
      // Refused (alignment rules of this file system): buffered from now on.
      direct_io_ = false;
      direct.reset();
      MutexLock lock(&mu_);
      e->direct.reset();
    }
    std::vector<iovec> iov;
    for (const auto& b : run) iov.push_back({const_cast<char*>(b->data()), b->size()});
    for (size_t i = 0; i + 1 < n; ++i) iov[i].iov_len = bs;
    return PwritevAll(fd->fd, iov, off);
  };
  int err = write_blocks();
  if (err == ENOSPC) {
    {
      MutexLock lock(&mu_);
      EvictLocked(bytes_ - std::min(bytes_, options_.quota / 10));
    }
    err = write_blocks();
  }
  if (err) return fail(err);
  std::vector<uint32_t> crcs(n);
  std::string recs;
  recs.reserve(n * kExtentRecordSize);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t len = static_cast<uint32_t>(run[i]->size());
    crcs[i] = Crc32c(run[i]->data(), run[i]->size());
    recs += EncodeExtentRecord(len, crcs[i], run[i]->crc64(), e->index * bpe + slot0 + i);
  }
  if (int e2 = PwriteAll(fd->fd, recs.data(), recs.size(),
                         static_cast<off_t>(kExtentRecordsOffset + slot0 * kExtentRecordSize))) {
    return fail(e2);
  }
  MutexLock lock(&mu_);
  --e->writers;
  stats_.writes += n;
  if (e->evicted) return;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t len = run[i]->size();
    const uint64_t old = e->len[slot0 + i];
    e->len[slot0 + i] = static_cast<uint32_t>(len);
    e->crc[slot0 + i] = crcs[i];
    e->crc64[slot0 + i] = run[i]->crc64();
    e->bytes += len - old;
    bytes_ += len - old;
  }
  if (!e->ref.empty()) {
    auto& k = known_[e->ref];
    if (NowSeconds() >= k.first) k = {NowSeconds(), e->version};
  }
  Touch(e);
  if (bytes_ > options_.quota) EvictLocked(options_.quota - options_.quota / 20);
  CloseIdleLocked();
}

// Keeps the number of open files bounded, closing the least recently used
// (a reader holding one keeps it open until it is done).
void DiskTier::CloseIdleLocked() {
  if (open_files_ <= options_.max_open_files) return;
  for (auto it = lru_.rbegin(); it != lru_.rend() && open_files_ > options_.max_open_files; ++it) {
    Extent& x = **it;
    if (x.fd && x.writers == 0) {
      x.fd.reset();
      x.direct.reset();
      --open_files_;
    }
  }
}

DiskStats DiskTier::Stats() const {
  MutexLock lock(&mu_);
  DiskStats s = stats_;
  s.quota = options_.quota;
  s.bytes = bytes_;
  s.extents = extents_.size();
  return s;
}

Result<DiskStats> DiskTier::Inspect(const std::string& dir) {
  DiskStats s;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return s;
  ForEachExtentFile(dir + kFormatDir, [&](const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    ExtentHeader h;
    if (fd >= 0 && ReadHeader(fd, &h)) {
      ++s.extents;
      s.bytes += kHeaderSize;
      for (uint32_t l : h.len) s.bytes += l;
    }
    if (fd >= 0) ::close(fd);
  });
  return s;
}

Status DiskTier::Clear(const std::string& dir) {
  int fd = ::open((dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status(ErrorCode::kNotFound, "no cache at " + dir);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Status(ErrorCode::kFailedPrecondition, "the cache " + dir + " is in use by a mounted vodfs; unmount it first");
  }
  std::vector<std::string> files;
  ForEachExtentFile(dir + kFormatDir, [&](const std::string& p) { files.push_back(p); });
  for (const auto& f : files) ::unlink(f.c_str());
  RemoveOldFormats(dir);
  ::close(fd);
  return Status::Ok();
}

}  // namespace vodfs::cache
