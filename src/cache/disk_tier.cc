#include "vodfs/cache/disk_tier.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "cache/extent_header.h"
#include "vodfs/util/crc32c.h"
#include "vodfs/util/log.h"
#include "vodfs/util/strings.h"

namespace vodfs::cache {

namespace {

constexpr char kMagic[8] = {'V', 'O', 'D', 'F', 'S', 'E', 'X', '1'};
constexpr size_t kHeaderSize = kExtentHeaderSize;
constexpr size_t kRecordsOffset = 2048;
constexpr size_t kRecordSize = 16;
constexpr size_t kStringsOffset = 40;
constexpr uint64_t kCheckSalt = 0x766f646673626c6bULL;

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

uint64_t Check(uint32_t len, uint32_t crc, uint64_t position) {
  return str::Mix64(str::Mix64(len ^ kCheckSalt) ^ (static_cast<uint64_t>(crc) << 17) ^ position);
}

template <typename T>
void PutLe(char* p, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
}
template <typename T>
T GetLe(const char* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return static_cast<T>(v);
}

std::string ObjectHash(const std::string& object) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(str::StableHash64(object, 1)),
                static_cast<unsigned long long>(str::StableHash64(object, 2)));
  return buf;
}

constexpr size_t kDirectAlign = 4096;
constexpr uint64_t kMaxRunBytes = 4 << 20;  // the largest single write
// How long a block waits for room in the write queue before it is dropped
// (only a writer that is stuck for this long drops anything).
constexpr auto kMaxPutWait = std::chrono::seconds(5);

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

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status(ErrorCode::kFailedPrecondition, "Cannot create " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
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

struct DiskTier::Extent {
  std::string object;
  uint64_t index = 0;
  std::string path;
  std::string ref;
  StoredVersion version;
  std::vector<uint32_t> len, crc;
  uint64_t bytes = 0;  // header + block bytes
  int64_t last_access = 0;
  bool accessed = false;  // since start: its time is written back at Stop
  bool evicted = false;
  int writers = 0;  // writes in progress (not evictable meanwhile)
  std::shared_ptr<Fd> fd;
  std::shared_ptr<Fd> direct;  // the same file opened O_DIRECT for block data (null: unsupported)
  std::mutex io;  // one writer at a time
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
  std::unique_ptr<DiskTier> t(new DiskTier(options));
  VODFS_RETURN_IF_ERROR(t->Init());
  return t;
}

bool ParseExtentHeader(std::string_view bytes, ExtentHeader* h) {
  if (bytes.size() < kHeaderSize || std::memcmp(bytes.data(), kMagic, 8) != 0) return false;
  const char* buf = bytes.data();
  h->block_size = GetLe<uint32_t>(buf + 8);
  h->bpe = GetLe<uint32_t>(buf + 12);
  h->index = GetLe<uint64_t>(buf + 16);
  h->version.size = GetLe<uint64_t>(buf + 24);
  const size_t lens[4] = {GetLe<uint16_t>(buf + 32), GetLe<uint16_t>(buf + 34), GetLe<uint16_t>(buf + 36),
                          GetLe<uint16_t>(buf + 38)};
  if (h->bpe == 0 || h->bpe > 128 || kStringsOffset + lens[0] + lens[1] + lens[2] + lens[3] > kRecordsOffset) {
    return false;
  }
  const char* p = buf + kStringsOffset;
  h->object.assign(p, lens[0]);
  p += lens[0];
  h->ref.assign(p, lens[1]);
  p += lens[1];
  h->version.etag.assign(p, lens[2]);
  p += lens[2];
  h->version.last_modified.assign(p, lens[3]);
  h->len.assign(h->bpe, 0);
  h->crc.assign(h->bpe, 0);
  for (uint32_t i = 0; i < h->bpe; ++i) {
    const char* r = buf + kRecordsOffset + i * kRecordSize;
    uint32_t len = GetLe<uint32_t>(r), crc = GetLe<uint32_t>(r + 4);
    uint64_t check = GetLe<uint64_t>(r + 8);
    if (len > 0 && len <= h->block_size && check == Check(len, crc, h->index * h->bpe + i)) {
      h->len[i] = len;
      h->crc[i] = crc;
    }
  }
  return true;
}

std::string EncodeExtentHeader(const ExtentHeader& e) {
  std::string out(kHeaderSize, '\0');
  char* h = out.data();
  std::memcpy(h, kMagic, 8);
  PutLe<uint32_t>(h + 8, e.block_size);
  PutLe<uint32_t>(h + 12, e.bpe);
  PutLe<uint64_t>(h + 16, e.index);
  PutLe<uint64_t>(h + 24, e.version.size);
  const std::string* strs[4] = {&e.object, &e.ref, &e.version.etag, &e.version.last_modified};
  size_t total = 0;
  for (auto* x : strs) total += x->size();
  if (kStringsOffset + total <= kRecordsOffset) {
    char* p = h + kStringsOffset;
    for (int i = 0; i < 4; ++i) {
      PutLe<uint16_t>(h + 32 + 2 * i, static_cast<uint16_t>(strs[i]->size()));
      std::memcpy(p, strs[i]->data(), strs[i]->size());
      p += strs[i]->size();
    }
  }
  for (size_t i = 0; i < e.len.size() && i < e.bpe && i < 128; ++i) {
    if (e.len[i] == 0) continue;
    const uint32_t crc = i < e.crc.size() ? e.crc[i] : 0;
    char* r = h + kRecordsOffset + i * kRecordSize;
    PutLe<uint32_t>(r, e.len[i]);
    PutLe<uint32_t>(r + 4, crc);
    PutLe<uint64_t>(r + 8, Check(e.len[i], crc, e.index * e.bpe + i));
  }
  return out;
}

namespace {

// Reads and checks an extent header. Returns false if it is not one.
bool ReadHeader(int fd, ExtentHeader* h) {
  char buf[kHeaderSize];
  return PreadAll(fd, buf, kHeaderSize, 0) && ParseExtentHeader(std::string_view(buf, kHeaderSize), h);
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

}  // namespace

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
  const std::string root = options_.dir + "/v1";
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
    e->len = std::move(h.len);
    e->crc = std::move(h.crc);
    e->bytes = kHeaderSize;
    for (uint32_t l : e->len) e->bytes += l;
    e->last_access = fst.st_mtime;
    found.push_back(std::move(e));
  });
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a->last_access > b->last_access; });
  std::lock_guard<std::mutex> guard(mu_);
  for (auto& e : found) {
    lru_.push_back(e);
    e->lru = std::prev(lru_.end());
    bytes_ += e->bytes;
    if (!e->ref.empty()) {
      auto& k = known_[e->ref];
      if (e->last_access >= k.first) k = {e->last_access, e->version};
      described_[e->object] = {e->ref, e->version};
    }
    extents_[e->object + '\x1f' + std::to_string(e->index)] = std::move(e);
  }
  if (bytes_ > options_.quota) EvictLocked(options_.quota);
  VODFS_LOG(kInfo) << "disk cache " << options_.dir << ": " << str::FormatSize(bytes_) << " in " << extents_.size()
                   << " extents, quota " << str::FormatSize(options_.quota);
  return Status::Ok();
}

void DiskTier::Start() {
  std::lock_guard<std::mutex> lock(queue_mu_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  writer_ = std::thread([this] { WriterLoop(); });
  pthread_setname_np(writer_.native_handle(), "vodfs-disk");
}

void DiskTier::Stop() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (!running_) return;
    stopping_ = true;
  }
  queue_cv_.notify_all();
  room_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    running_ = false;
  }
  // Record access times so the LRU order survives a remount.
  std::lock_guard<std::mutex> lock(mu_);
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
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
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
      std::lock_guard<std::mutex> lock(queue_mu_);
      queued_bytes_ -= written;
    }
    room_cv_.notify_all();
  }
}

void DiskTier::Describe(const std::string& object, const std::string& ref, const StoredVersion& version) {
  std::lock_guard<std::mutex> lock(mu_);
  described_[object] = {ref, version};
}

std::optional<StoredVersion> DiskTier::Known(const std::string& ref) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = known_.find(ref);
  if (it == known_.end()) return std::nullopt;
  return it->second.second;
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
  e->path = options_.dir + "/v1/" + h.substr(0, 2) + "/" + h + "-" + std::to_string(index) + ".ext";
  auto d = described_.find(object);
  if (d != described_.end()) {
    e->ref = d->second.first;
    e->version = d->second.second;
  }
  e->len.assign(options_.blocks_per_extent, 0);
  e->crc.assign(options_.blocks_per_extent, 0);
  lru_.push_front(e);
  e->lru = lru_.begin();
  extents_[k] = e;
  return e;
}

void DiskTier::EvictLocked(uint64_t target) {
  for (auto it = lru_.end(); bytes_ > target && it != lru_.begin();) {
    --it;
    std::shared_ptr<Extent> e = *it;
    if (e->writers > 0) continue;
    ::unlink(e->path.c_str());
    e->evicted = true;
    if (e->fd) {
      e->fd.reset();
      e->direct.reset();
      --open_files_;
    }
    bytes_ -= std::min(bytes_, e->bytes);
    extents_.erase(e->object + '\x1f' + std::to_string(e->index));
    it = lru_.erase(it);
    ++stats_.evictions;
  }
}

bool DiskTier::Has(const BlockKey& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t bpe = options_.blocks_per_extent;
  auto it = extents_.find(key.object + '\x1f' + std::to_string(key.index / bpe));
  return it != extents_.end() && it->second->len[key.index % bpe] != 0;
}

Block DiskTier::Get(const BlockKey& key) {
  const uint64_t bpe = options_.blocks_per_extent;
  const uint64_t slot = key.index % bpe;
  std::shared_ptr<Extent> e;
  std::shared_ptr<Fd> fd;
  uint32_t len, crc;
  {
    std::lock_guard<std::mutex> lock(mu_);
    e = FindExtent(key.object, key.index / bpe, false);
    if (!e || e->len[slot] == 0) {
      ++stats_.misses;
      return nullptr;
    }
    len = e->len[slot];
    crc = e->crc[slot];
    if (!e->fd) {
      int f = ::open(e->path.c_str(), O_RDWR | O_CLOEXEC);
      if (f < 0) {
        e->len[slot] = 0;
        ++stats_.misses;
        return nullptr;
      }
      e->fd = std::make_shared<Fd>(f);
      ++open_files_;
    }
    fd = e->fd;
    CloseIdleLocked();
    Touch(e);
  }
  auto data = std::make_shared<std::string>(len, '\0');
  const off_t off = static_cast<off_t>(kHeaderSize + slot * options_.block_size);
  if (!PreadAll(fd->fd, data->data(), len, off) || Crc32c(data->data(), len) != crc) {
    VODFS_LOG(kWarn) << "disk cache: block " << key.index << " of " << e->path << " failed verification; fetching it again";
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.corrupt;
    if (e->len[slot] == len) {
      e->len[slot] = 0;
      e->bytes -= len;
      if (!e->evicted) bytes_ -= len;
      char zero[kRecordSize] = {};
      PwriteAll(fd->fd, zero, kRecordSize, static_cast<off_t>(kRecordsOffset + slot * kRecordSize));
    }
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.hits;
  return data;
}

void DiskTier::Put(const BlockKey& key, const Block& block) {
  if (!block || block->empty()) return;
  {
    std::unique_lock<std::mutex> lock(queue_mu_);
    if (running_ && !stopping_) {
      if (queued_bytes_ + block->size() > options_.max_pending_bytes) {
        // A full queue slows the reader down to what the disk takes: a
        // cache that silently skipped blocks would look warm and be cold.
        // Only a writer that makes no progress at all (a hung disk) gets
        // its blocks dropped, so that reads go on.
        {
          std::lock_guard<std::mutex> l(mu_);
          ++stats_.write_waits;
        }
        const bool room = room_cv_.wait_for(lock, kMaxPutWait, [&] {
          return stopping_ || queued_bytes_ + block->size() <= options_.max_pending_bytes;
        });
        if (!room || stopping_) {
          std::lock_guard<std::mutex> l(mu_);
          ++stats_.dropped_writes;
          return;
        }
      }
      queue_.push_back({key, block});
      queued_bytes_ += block->size();
      queue_cv_.notify_one();
      return;
    }
  }
  WriteRun(key, {block});
}

// Opens (creating, with its header) the file of an extent. REQUIRES: e.io held.
int DiskTier::OpenExtent(Extent& e, std::shared_ptr<Fd>* fd_out, std::shared_ptr<Fd>* direct_out) {
  const std::string dir = e.path.substr(0, e.path.rfind('/'));
  (void)MakeDir(dir);  // open() below reports the real failure
  const int f = ::open(e.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (f < 0) return errno;
  auto fd = std::make_shared<Fd>(f);
  struct stat st {};
  if (::fstat(f, &st) == 0 && st.st_size < static_cast<off_t>(kHeaderSize)) {
    ExtentHeader header;
    header.block_size = static_cast<uint32_t>(options_.block_size);
    header.bpe = options_.blocks_per_extent;
    header.index = e.index;
    header.object = e.object;
    header.ref = e.ref;
    header.version = e.version;
    const std::string h = EncodeExtentHeader(header);
    if (int err = PwriteAll(f, h.data(), kHeaderSize, 0)) return err;
  }
  std::shared_ptr<Fd> direct;
  if (direct_io_) {
    // Block data bypasses the page cache: a cold read of a large file would
    // otherwise pay for it twice (copying into dirty pages, then writing
    // them back) and crowd out what readers need.
    const int d = ::open(e.path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
    if (d >= 0) {
      direct = std::make_shared<Fd>(d);
    } else {
      direct_io_ = false;  // e.g. tmpfs
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
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
    std::lock_guard<std::mutex> lock(mu_);
    e = FindExtent(first.object, first.index / bpe, true);
    bool all_there = true;
    for (size_t i = 0; i < n && all_there; ++i) all_there = e->len[slot0 + i] == run[i]->size();
    if (all_there) return;
    ++e->writers;
  }
  std::lock_guard<std::mutex> io(e->io);
  auto fail = [&](int err) {
    std::lock_guard<std::mutex> lock(mu_);
    --e->writers;
    ++stats_.write_errors;
    VODFS_LOG(kDebug) << "disk cache: cannot write " << e->path << ": " << std::strerror(err);
  };
  std::shared_ptr<Fd> fd;
  std::shared_ptr<Fd> direct;
  {
    std::lock_guard<std::mutex> lock(mu_);
    fd = e->fd;
    direct = e->direct;
  }
  if (!fd) {
    if (int err = OpenExtent(*e, &fd, &direct)) return fail(err);
  }
  // The blocks first, then their records: a crash in between leaves blocks
  // without (valid) records, which are simply absent.
  const off_t off = static_cast<off_t>(kHeaderSize + slot0 * bs);
  const uint64_t bytes = (n - 1) * bs + run.back()->size();
  auto write_blocks = [&]() -> int {
    if (direct) {
      // O_DIRECT wants an aligned buffer and length: the run is copied into
      // one and padded with zeros (the last slot is a whole block anyway).
      const size_t padded = (bytes + kDirectAlign - 1) / kDirectAlign * kDirectAlign;
      thread_local std::unique_ptr<char, decltype(&std::free)> bounce(nullptr, &std::free);
      thread_local size_t bounce_size = 0;
      if (bounce_size < padded) {
        bounce.reset(static_cast<char*>(std::aligned_alloc(kDirectAlign, padded)));
        bounce_size = bounce ? padded : 0;
      }
      if (bounce) {
        for (size_t i = 0; i < n; ++i) std::memcpy(bounce.get() + i * bs, run[i]->data(), run[i]->size());
        std::memset(bounce.get() + bytes, 0, padded - bytes);
        const int err = PwriteAll(direct->fd, bounce.get(), padded, off);
        if (err != EINVAL) return err;
      }
      // Refused (alignment rules of this file system): buffered from now on.
      direct_io_ = false;
      direct.reset();
      std::lock_guard<std::mutex> lock(mu_);
      e->direct.reset();
    }
    for (size_t i = 0; i < n; ++i) {
      if (int err = PwriteAll(fd->fd, run[i]->data(), run[i]->size(), off + static_cast<off_t>(i * bs))) return err;
    }
    return 0;
  };
  int err = write_blocks();
  if (err == ENOSPC) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      EvictLocked(bytes_ - std::min(bytes_, options_.quota / 10));
    }
    err = write_blocks();
  }
  if (err) return fail(err);
  std::vector<uint32_t> crcs(n);
  std::string recs(n * kRecordSize, '\0');
  for (size_t i = 0; i < n; ++i) {
    const uint32_t len = static_cast<uint32_t>(run[i]->size());
    crcs[i] = Crc32c(run[i]->data(), run[i]->size());
    char* rec = recs.data() + i * kRecordSize;
    PutLe<uint32_t>(rec, len);
    PutLe<uint32_t>(rec + 4, crcs[i]);
    PutLe<uint64_t>(rec + 8, Check(len, crcs[i], e->index * bpe + slot0 + i));
  }
  if (int e2 = PwriteAll(fd->fd, recs.data(), recs.size(), static_cast<off_t>(kRecordsOffset + slot0 * kRecordSize))) {
    return fail(e2);
  }
  std::lock_guard<std::mutex> lock(mu_);
  --e->writers;
  stats_.writes += n;
  if (e->evicted) return;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t len = run[i]->size();
    const uint64_t old = e->len[slot0 + i];
    e->len[slot0 + i] = static_cast<uint32_t>(len);
    e->crc[slot0 + i] = crcs[i];
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
  std::lock_guard<std::mutex> lock(mu_);
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
  ForEachExtentFile(dir + "/v1", [&](const std::string& path) {
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
  ForEachExtentFile(dir + "/v1", [&](const std::string& p) { files.push_back(p); });
  for (const auto& f : files) ::unlink(f.c_str());
  ::close(fd);
  return Status::Ok();
}

}  // namespace vodfs::cache
