#include "vodfs/core/vodfs.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>

#include "vodfs/core/mp4_index.h"
#include "vodfs/util/log.h"

namespace vodfs::core {

namespace {

// Read-ahead streams per handle: a demuxer reading the head, the tail (moov)
// and the head again keeps one stream per region.
constexpr size_t kMaxStreams = 4;
// Kernel read-ahead arrives slightly out of order from several threads: a
// read this close to a stream's cursor continues it.
constexpr uint64_t kBackTolerance = 1 << 20;

}  // namespace

struct VodFs::FileHandle {
  Ino ino = 0;
  ns::Content content = ns::Content::kNone;
  resolve::MediaRef ref;
  std::string text;       // generated content
  uint64_t node_size = 0;
  bool iso_media = false;  // named like an MP4 (ISO base media file)

  std::mutex mu;
  std::optional<fetch::Fingerprint> pinned;  // GUARDED_BY(mu)
  std::string object;                        // cache identity once pinned
  // A version found in the disk cache from an earlier mount: used only
  // once the origin confirms it (one probe), never on trust.
  std::optional<fetch::Fingerprint> candidate;  // GUARDED_BY(mu)
  bool stale = false;

  struct Stream {
    uint64_t start = 0;        // where the cursor began
    uint64_t next = 0;         // where the next sequential read would start
    uint64_t window = 0;       // current read-ahead window (0: not sequential yet)
    uint64_t ahead_until = 0;  // read-ahead issued up to here
    uint64_t last_use = 0;
  };
  std::vector<Stream> streams;  // GUARDED_BY(mu)
  int windowed = 0;             // streams with a window (counted in active_streams_)
  uint64_t use_clock = 0;
  int inflight = 0;  // read-ahead spans running, GUARDED_BY(mu)
};

VodFs::VodFs(ns::Namespace& ns, fetch::RangeFetcher& fetcher, fetch::VersionTable& versions,
             cache::BlockCache& cache, Executor* readahead, CoreOptions options, cache::DiskTier* disk)
    : ns_(ns), fetcher_(fetcher), versions_(versions), cache_(cache), readahead_(readahead),
      disk_(disk), options_(options) {}

VodFs::~VodFs() = default;

Attr VodFs::ToAttr(const ns::NodeInfo& n) const {
  Attr a;
  a.ino = n.ino;
  a.uid = options_.uid;
  a.gid = options_.gid;
  a.mtime = n.mtime;
  a.blksize = static_cast<uint32_t>(std::min<uint64_t>(options_.block_size, 1 << 20));
  switch (n.kind) {
    case ns::Kind::kDir:
      a.mode = S_IFDIR | (options_.dir_mode & ~options_.umask);
      // 1: "unknown number of subdirectories", so tools never skip any.
      a.nlink = 1;
      a.size = 4096;
      break;
    case ns::Kind::kSymlink:
      a.mode = S_IFLNK | 0777;
      a.size = n.link.size();
      break;
    case ns::Kind::kFile:
      a.mode = S_IFREG | (options_.file_mode & ~options_.umask);
      a.size = n.content == ns::Content::kStats ? 0 : n.size;
      break;
  }
  a.blocks = (a.size + 511) / 512;
  return a;
}

Result<Entry> VodFs::Lookup(Ino parent, const std::string& name) {
  if (name.empty() || name.size() > ns::kMaxName) {
    return Error(ErrorCode::kNotFound, "bad name");
  }
  VODFS_ASSIGN_OR_RETURN(ns::NodeInfo n, ns_.Lookup(parent, name));
  Entry e;
  e.attr = ToAttr(n);
  e.attr_timeout = options_.attr_timeout;
  e.entry_timeout = options_.entry_timeout;
  return e;
}

Result<Attr> VodFs::GetAttr(Ino ino) {
  VODFS_ASSIGN_OR_RETURN(ns::NodeInfo n, ns_.Get(ino));
  return ToAttr(n);
}

Result<std::string> VodFs::ReadLink(Ino ino) {
  VODFS_ASSIGN_OR_RETURN(ns::NodeInfo n, ns_.Get(ino));
  if (n.kind != ns::Kind::kSymlink) return Error(ErrorCode::kInvalidArgument, "not a symlink");
  return n.link;
}

Result<uint64_t> VodFs::OpenDir(Ino ino) {
  VODFS_ASSIGN_OR_RETURN(ns::NodeInfo self, ns_.Get(ino));
  if (self.kind != ns::Kind::kDir) return Error(ErrorCode::kNotADirectory, self.name);
  auto d = std::make_shared<DirHandle>();
  d->ino = ino;
  d->parent = self.parent;
  VODFS_ASSIGN_OR_RETURN(d->cursor, ns_.OpenDir(ino));
  std::lock_guard<std::mutex> lock(handles_mu_);
  const uint64_t fh = next_fh_++;
  dirs_[fh] = std::move(d);
  return fh;
}

Result<std::vector<DirEntry>> VodFs::ReadDir(uint64_t fh, uint64_t offset, size_t max) {
  std::shared_ptr<DirHandle> d;
  {
    std::lock_guard<std::mutex> lock(handles_mu_);
    auto it = dirs_.find(fh);
    if (it == dirs_.end()) return Error(ErrorCode::kInvalidArgument, "bad directory handle");
    d = it->second;
  }
  std::vector<DirEntry> out;
  for (; offset < 2 && out.size() < max; ++offset) {
    DirEntry e{offset == 0 ? "." : "..", {}};
    e.attr.ino = offset == 0 ? d->ino : d->parent;
    e.attr.mode = S_IFDIR;
    out.push_back(e);
  }
  if (out.size() >= max) return out;
  // The children come from the namespace a page at a time: a directory of
  // millions of entries is never copied whole.
  std::lock_guard<std::mutex> lock(d->mu);
  VODFS_ASSIGN_OR_RETURN(auto children, ns_.ReadDir(*d->cursor, offset - 2, max - out.size()));
  for (const auto& c : children) out.push_back({c.name, ToAttr(c)});
  return out;
}

void VodFs::ReleaseDir(uint64_t fh) {
  std::lock_guard<std::mutex> lock(handles_mu_);
  dirs_.erase(fh);
}

Result<OpenReply> VodFs::Open(Ino ino, int flags) {
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_TRUNC | O_APPEND | O_CREAT))) {
    return Error(ErrorCode::kReadOnly, "read-only filesystem");
  }
  VODFS_ASSIGN_OR_RETURN(ns::NodeInfo n, ns_.Get(ino));
  if (n.kind == ns::Kind::kDir) return Error(ErrorCode::kIsADirectory, n.name);
  auto h = std::make_shared<FileHandle>();
  h->ino = ino;
  h->content = n.content;
  h->ref = n.ref;
  h->node_size = n.size;
  h->iso_media = IsIsoMediaName(n.name);
  OpenReply r;
  switch (n.content) {
    case ns::Content::kGenerated:
      h->text = n.text;
      r.keep_cache = true;  // a change of content invalidates the inode
      break;
    case ns::Content::kStats:
      h->text = ns_.StatsText();
      r.direct_io = true;
      break;
    case ns::Content::kMedia: {
      // A version seen at the origin during this mount is pinned at once
      // if the API's size agrees with it; the kernel may then keep the
      // pages of an earlier open of that same version.
      auto known = versions_.Get(n.ref.Key());
      if (known && known->size == n.size) {
        std::lock_guard<std::mutex> lock(h->mu);
        Pin(*h, *known);
      } else if (!known && disk_) {
        // After a remount: the version whose blocks are on disk becomes a
        // candidate, confirmed against the origin at the first read.
        if (auto stored = disk_->Known(n.ref.Key()); stored && stored->size == n.size) {
          std::lock_guard<std::mutex> lock(h->mu);
          h->candidate = fetch::Fingerprint{stored->size, stored->etag, stored->last_modified};
        }
      }
      std::lock_guard<std::mutex> lock(handles_mu_);
      auto prev = opened_version_.find(ino);
      r.keep_cache = h->pinned && prev != opened_version_.end() && prev->second == h->object;
      if (h->pinned) opened_version_[ino] = h->object;
      break;
    }
    case ns::Content::kNone:
      return Error(ErrorCode::kInvalidArgument, "not a regular file");
  }
  ++opens_;
  std::lock_guard<std::mutex> lock(handles_mu_);
  r.fh = next_fh_++;
  files_[r.fh] = std::move(h);
  return r;
}

void VodFs::Release(uint64_t fh) {
  std::shared_ptr<FileHandle> h;
  {
    std::lock_guard<std::mutex> lock(handles_mu_);
    auto it = files_.find(fh);
    if (it == files_.end()) return;
    h = std::move(it->second);
    files_.erase(it);
  }
  std::lock_guard<std::mutex> lock(h->mu);
  active_streams_ -= h->windowed;
  h->windowed = 0;
}

std::string VodFs::ObjectKey(const FileHandle& h) const { return h.object; }

void VodFs::Pin(FileHandle& h, const fetch::Fingerprint& fp) {
  h.pinned = fp;
  h.object = h.ref.Key() + "#" + fp.Id();
  if (disk_) disk_->Describe(h.object, h.ref.Key(), {fp.size, fp.etag, fp.last_modified});
}

// Pins the handle to a version: the one known, or the one the origin
// returns for the blocks [first_block, last_block] of the first read (which
// are then cached: one round trip for both).
Status VodFs::PinVersion(FileHandle& h, uint64_t first_block, uint64_t last_block) {
  std::lock_guard<std::mutex> lock(h.mu);
  if (h.stale) return Status(ErrorCode::kStale, "the object changed while open");
  if (h.pinned) return Status::Ok();
  const uint64_t bs = options_.block_size;
  if (h.candidate && disk_) {
    // The disk holds the first block of a version from an earlier mount:
    // one byte from the origin tells whether that version is still current.
    const std::string object = h.ref.Key() + "#" + h.candidate->Id();
    if (disk_->Has({object, first_block})) {
      auto probed = fetcher_.Probe(h.ref);
      if (!probed.ok()) return probed.status();
      const fetch::Fingerprint fp = *probed;
      const bool changed = versions_.Set(h.ref.Key(), fp);
      Pin(h, fp);  // the candidate's blocks serve only if fp is the same version
      h.candidate.reset();
      std::lock_guard<std::mutex> l(handles_mu_);
      opened_version_[h.ino] = h.object;
      if (fp.size != h.node_size) ns_.CorrectSize(h.ino, fp.size);
      if (changed) ns_.InvalidateContent(h.ino);
      return Status::Ok();
    }
  }
  h.candidate.reset();
  // The request: the blocks of this read and, at the head of the file, a
  // first read-ahead window. Ask no further than the size the API gave (the
  // origin may differ: then its answer wins).
  uint64_t end_block = last_block + 1;
  const bool head = first_block == 0 && readahead_ && options_.readahead_max > 0;
  if (head) end_block += (options_.head_prefetch + bs - 1) / bs;
  uint64_t len = bs;
  if (h.node_size > first_block * bs) len = std::min((end_block - first_block) * bs, h.node_size - first_block * bs);

  // The parts: the first holds this read's blocks; at the head of a file
  // the rest of the window is cut into a few more, on parallel connections:
  // on a cold link each connection starts slow (TCP slow start), so seven
  // parts of a 1.6 MiB head arrive about three round trips sooner than one
  // request, and two sooner than four parts.
  std::vector<std::pair<uint64_t, uint64_t>> parts;  // (first block, bytes)
  {
    const uint64_t blocks = (len + bs - 1) / bs;
    const uint64_t n = head ? std::clamp<uint64_t>(len / options_.head_part_min, 1, options_.head_parts) : 1;
    const uint64_t per = std::max(last_block - first_block + 1, (blocks + n - 1) / n);
    for (uint64_t b = 0; b < blocks; b += per) parts.emplace_back(first_block + b, std::min(per * bs, len - b * bs));
  }
  // An MP4 often keeps its index at its end, and a demuxer asks for it
  // right after the head: its tail goes out now, with the head, rather than
  // once the head's first bytes have said where the index is.
  const uint64_t tail = options_.tail_prefetch;
  if (head && h.iso_media && tail > 0 && h.node_size > first_block * bs + len + 2 * tail) {
    const uint64_t from = (h.node_size - tail) / bs;
    parts.emplace_back(from, h.node_size - from * bs);
  }

  // The parts run on read-ahead workers. The first answer's head names the
  // version: this read pins it and goes on to wait for its blocks while they
  // arrive, and the blocks of every part are claimed under that version at
  // once, so that no read fetches them a second time. A part whose own
  // answer names another version (the object changed between the requests)
  // fails its blocks rather than mix two versions.
  struct HeadState {
    std::mutex mu;
    std::condition_variable cv;
    bool known = false, finished = false;  // the first part's
    fetch::Fingerprint fp;
    std::string object;
    Status status;
    std::vector<std::vector<bool>> claims;  // per part, claimed under `object`
    std::vector<bool> done;                 // per part: ended before the claims were made
  };
  auto st = std::make_shared<HeadState>();
  st->claims.resize(parts.size());
  st->done.resize(parts.size());
  const resolve::MediaRef ref = h.ref;
  auto part = [this, ref, head, bs, parts, st](size_t index) {
    const uint64_t from = parts[index].first, bytes = parts[index].second;
    std::string object;
    fetch::Fingerprint fp;
    std::vector<bool> mine;  // blocks [from, from + mine.size()) this part completes
    uint64_t block = from;
    std::string buf;
    bool index_checked = !head || from != 0;
    // The blocks of part i that an answer of version v covers whole (it is
    // cut at the end of the object, or at the API's size if that is smaller).
    auto claim = [&](size_t i, const fetch::Fingerprint& v, const std::string& key) {
      std::vector<bool> claimed;
      const uint64_t f = parts[i].first;
      const uint64_t covered = f * bs + std::min(parts[i].second, v.size > f * bs ? v.size - f * bs : 0);
      for (uint64_t b = f; b * bs < v.size && b * bs + std::min(bs, v.size - b * bs) <= covered; ++b) {
        claimed.push_back(cache_.TryBeginLoad({key, b}));
      }
      return claimed;
    };
    auto on_version = [&](const fetch::Fingerprint& v) {
      fp = v;
      object = ref.Key() + "#" + v.Id();
      std::unique_lock<std::mutex> guard(st->mu);
      if (index == 0) {
        // Before any block of it reaches the disk tier.
        if (disk_) disk_->Describe(object, ref.Key(), {v.size, v.etag, v.last_modified});
        mine = claim(0, v, object);
        for (size_t i = 1; i < parts.size(); ++i) {
          if (!st->done[i]) st->claims[i] = claim(i, v, object);
        }
        st->known = true;
        st->fp = v;
        st->object = object;
        st->cv.notify_all();
        return true;
      }
      st->cv.wait(guard, [&] { return st->known || st->finished; });
      if (!st->known) return false;  // the first part failed: so does the read
      mine = std::move(st->claims[index]);
      st->claims[index].clear();
      if (st->object == object) return true;
      guard.unlock();
      const Error changed(ErrorCode::kStale, "the object changed while its head was fetched");
      for (size_t i = 0; i < mine.size(); ++i) {
        if (mine[i]) cache_.CompleteLoad({st->object, from + i}, changed);
      }
      mine.clear();
      return false;
    };
    auto sink = [&](uint64_t, std::string_view chunk) {
      while (!chunk.empty() && block < from + mine.size()) {
        const uint64_t n = std::min<uint64_t>(std::min(bs, fp.size - block * bs) - buf.size(), chunk.size());
        buf.append(chunk.substr(0, n));
        chunk.remove_prefix(n);
        // The first few hundred bytes say where an MP4's index is: ask for
        // it while the rest of the head is still arriving.
        if (block == 0 && !index_checked && (buf.size() >= 512 || buf.size() == std::min(bs, fp.size))) {
          index_checked = PrefetchMp4Index(ref, object, fp, buf) || buf.size() >= 4096;
        }
        if (buf.size() < std::min(bs, fp.size - block * bs)) break;
        if (mine[block - from]) cache_.CompleteLoad({object, block}, std::make_shared<const std::string>(std::move(buf)));
        buf = std::string();
        ++block;
      }
      return true;
    };
    auto r = fetcher_.FetchTo(ref, from * bs, bytes, std::nullopt, sink, nullptr, on_version);
    Status s = r.ok() ? Status::Ok() : r.status();
    if (s.ok() && block < from + mine.size()) {
      s = Status(ErrorCode::kBadResponse, "the origin sent fewer bytes than the object has");
    }
    for (; block < from + mine.size(); ++block) {
      if (mine[block - from]) cache_.CompleteLoad({object, block}, s.error());
    }
    std::lock_guard<std::mutex> state_lock(st->mu);
    if (index != 0) {
      // Ended before its answer named a version: the claims made for it
      // (if any) are released.
      st->done[index] = true;
      const Status why = s.ok() ? Status(ErrorCode::kBadResponse, "no answer from the origin") : s;
      for (size_t i = 0; i < st->claims[index].size(); ++i) {
        if (st->claims[index][i]) cache_.CompleteLoad({st->object, from + i}, why.error());
      }
      st->claims[index].clear();
      return;
    }
    st->finished = true;
    if (!st->known) st->status = s.ok() ? Status(ErrorCode::kBadResponse, "no answer from the origin") : s;
    st->cv.notify_all();
  };
  // The first part is queued first (or runs here when the workers are
  // busy): the others wait for its answer's head.
  const bool here = !readahead_ || readahead_->queued() > 0;
  if (!here) readahead_->Post([part] { part(0); });
  for (size_t i = 1; i < parts.size(); ++i) {
    readahead_blocks_ += (parts[i].second + bs - 1) / bs;
    readahead_->Post([part, i] { part(i); });
  }
  if (here) part(0);
  fetch::Fingerprint fp;
  {
    std::unique_lock<std::mutex> l(st->mu);
    st->cv.wait(l, [&] { return st->known || st->finished; });
    if (!st->known) return st->status;
    fp = st->fp;
  }
  const bool changed = versions_.Set(h.ref.Key(), fp);
  Pin(h, fp);
  {
    std::lock_guard<std::mutex> l(handles_mu_);
    opened_version_[h.ino] = h.object;
  }
  if (fp.size != h.node_size) ns_.CorrectSize(h.ino, fp.size);
  if (changed) ns_.InvalidateContent(h.ino);  // pages of the old version must go
  if (fp.size == 0) cache_.Insert({h.object, 0}, std::make_shared<const std::string>());
  return Status::Ok();
}

// The head of a file is arriving: if it is an MP4 whose index follows its
// media data, fetch the index now, before the demuxer asks for it. Returns
// whether the head said so.
bool VodFs::PrefetchMp4Index(const resolve::MediaRef& ref, const std::string& object, const fetch::Fingerprint& fp,
                             std::string_view head) {
  auto index = TrailingMp4Index(head, fp.size);
  if (!index || !readahead_) return false;
  const uint64_t bs = options_.block_size;
  const uint64_t first = index->offset / bs, last = (fp.size - 1) / bs;
  std::vector<std::pair<uint64_t, uint64_t>> runs;  // claimed [start, count)
  for (uint64_t b = first; b <= last; ++b) {
    if (!cache_.TryBeginLoad({object, b})) continue;
    if (!runs.empty() && runs.back().first + runs.back().second == b) {
      ++runs.back().second;
    } else {
      runs.emplace_back(b, 1);
    }
  }
  if (runs.empty()) return true;
  ++index_prefetches_;
  for (const auto& [b, n] : runs) {
    readahead_blocks_ += n;
    readahead_->Post([this, ref, object, fp, b = b, n = n] { (void)LoadClaimed(ref, object, fp, b, n); });
  }
  return true;
}

// Fetches blocks [first, first+count) of a pinned handle with one request,
// completing each block in the cache as soon as it is whole. REQUIRES: the
// caller claimed every block with TryBeginLoad.
static void FetchRun(fetch::RangeFetcher& fetcher, cache::BlockCache& cache, const resolve::MediaRef& ref,
                    const std::string& object, const fetch::Fingerprint& fp, uint64_t bs, uint64_t first,
                    uint64_t count, Status* status) {
  std::string buf;
  uint64_t block = first;
  const uint64_t end_block = first + count;
  auto block_len = [&](uint64_t b) { return std::min(bs, fp.size - b * bs); };
  buf.reserve(block_len(block));
  auto r = fetcher.FetchTo(ref, first * bs, count * bs, fp, [&](uint64_t, std::string_view chunk) {
    while (!chunk.empty() && block < end_block) {
      const uint64_t need = block_len(block) - buf.size();
      const uint64_t n = std::min<uint64_t>(need, chunk.size());
      buf.append(chunk.substr(0, n));
      chunk.remove_prefix(n);
      if (buf.size() == block_len(block)) {
        cache.CompleteLoad({object, block}, std::make_shared<const std::string>(std::move(buf)));
        buf = std::string();
        ++block;
        if (block < end_block) buf.reserve(block_len(block));
      }
    }
    return true;
  });
  Status s = r.ok() ? Status::Ok() : r.status();
  if (s.ok() && block < end_block) s = Status(ErrorCode::kBadResponse, "the origin sent fewer bytes than the object has");
  for (; block < end_block; ++block) cache.CompleteLoad({object, block}, s.error());
  if (status) *status = s;
}

Status VodFs::LoadClaimed(const resolve::MediaRef& ref, const std::string& object, const fetch::Fingerprint& fp,
                          uint64_t first, uint64_t count) {
  Status status;
  uint64_t run = first, n = 0;
  auto flush = [&] {
    if (n == 0) return;
    Status s;
    FetchRun(fetcher_, cache_, ref, object, fp, options_.block_size, run, n, &s);
    if (!s.ok() && status.ok()) status = s;
    n = 0;
  };
  for (uint64_t b = first; b < first + count; ++b) {
    if (cache::Block d = cache_.FromSecondTier({object, b})) {
      flush();
      cache_.CompleteLoad({object, b}, d, true);
      continue;
    }
    if (n == 0) run = b;
    ++n;
  }
  flush();
  return status;
}

void VodFs::OnStale(FileHandle& h, const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(h.mu);
    if (h.stale) return;
    h.stale = true;
  }
  versions_.Erase(h.ref.Key());
  ns_.InvalidateContent(h.ino);  // the kernel must not keep the old pages either
  VODFS_LOG(kWarn) << "Cannot read " << h.ref.Key() << ": " << why
                   << "; reads of this open file fail (ESTALE) rather than mix two versions";
}

void VodFs::ReadAhead(const std::shared_ptr<FileHandle>& h, uint64_t offset, size_t size) {
  if (!readahead_ || options_.readahead_max == 0) return;
  const uint64_t bs = options_.block_size;
  uint64_t from = 0, to = 0, window = 0;
  fetch::Fingerprint fp;
  std::string object;
  {
    std::lock_guard<std::mutex> lock(h->mu);
    if (!h->pinned || h->stale) return;
    fp = *h->pinned;
    object = h->object;
    const uint64_t end = offset + size;
    ++h->use_clock;
    FileHandle::Stream* s = nullptr;
    for (auto& st : h->streams) {
      if (offset + kBackTolerance >= st.next && offset <= st.next + std::max<uint64_t>(st.window, kBackTolerance)) {
        s = &st;
        break;
      }
    }
    if (!s) {
      // A new cursor (a seek): it has to prove sequential before read-ahead.
      if (h->streams.size() >= kMaxStreams) {
        auto lru = std::min_element(h->streams.begin(), h->streams.end(),
                                    [](const auto& a, const auto& b) { return a.last_use < b.last_use; });
        if (lru->window) {
          ++readahead_resets_;
          --active_streams_;
          --h->windowed;
        }
        *lru = FileHandle::Stream{};
        s = &*lru;
      } else {
        h->streams.emplace_back();
        s = &h->streams.back();
      }
      s->start = offset;
      s->next = end;
      s->last_use = h->use_clock;
      return;
    }
    s->next = std::max(s->next, end);
    s->last_use = h->use_clock;
    // A short burst (a demuxer reading a header or an index, the kernel's
    // own read-ahead of a few hundred KiB) is served as asked; the head of a
    // file came with the first read (see PinVersion).
    if (s->window == 0 && s->next - s->start < options_.readahead_trigger) return;
    if (s->window == 0) {
      ++active_streams_;
      ++h->windowed;
    }
    // Memory pressure: all sequential streams together get at most half of
    // the cache budget, so read-ahead never evicts what is about to be read.
    const uint64_t share = cache_.budget() / 2 / static_cast<uint64_t>(std::max(1, active_streams_.load()));
    const uint64_t cap = std::max<uint64_t>(bs, std::min(options_.readahead_max, share));
    // Refill when less than half a window is ahead of the reader; every
    // refill after the first doubles the window (up to the cap), whether the
    // reader caught up with it or not.
    const uint64_t ahead = s->ahead_until > s->next ? s->ahead_until - s->next : 0;
    if (s->window == 0) {
      s->window = std::max<uint64_t>(options_.readahead_initial, bs);
    } else {
      if (ahead >= std::min(s->window, cap) / 2) return;
      s->window *= 2;
    }
    s->window = std::min(s->window, cap);
    from = std::max(s->next, s->ahead_until);
    to = std::min(fp.size, s->next + s->window);
    window = s->window;
    if (from >= to) return;
    if (h->inflight >= static_cast<int>(options_.max_parallel_fetches)) return;
    // Every fetcher busy (many streams): speculative work would only queue
    // up, and readers would wait behind it for blocks it claimed. Readers
    // fetch what they need themselves until fetchers are free again.
    if (readahead_->queued() > 0) return;
    s->ahead_until = to;
  }
  // Claim what is missing and fetch it in parallel parts.
  // A small window in a few parts (new connections start slow), a large one
  // in up to max_parallel_fetches parts.
  const uint64_t part = std::clamp<uint64_t>(window / std::max<size_t>(1, options_.max_parallel_fetches),
                                             std::max<uint64_t>(4 * bs, 256 << 10), 16ULL << 20);
  const uint64_t part_blocks = std::max<uint64_t>(1, part / bs);
  uint64_t b = from / bs;
  const uint64_t last = (to - 1) / bs;
  while (b <= last) {
    if (!cache_.TryBeginLoad({object, b})) {
      ++b;
      continue;
    }
    uint64_t n = 1;
    while (b + n <= last && n < part_blocks && cache_.TryBeginLoad({object, b + n})) ++n;
    {
      std::lock_guard<std::mutex> lock(h->mu);
      ++h->inflight;
    }
    readahead_blocks_ += n;
    readahead_->Post([this, h, object, fp, b, n] {
      Status s = LoadClaimed(h->ref, object, fp, b, n);
      {
        std::lock_guard<std::mutex> lock(h->mu);
        --h->inflight;
      }
      if (s.code() == ErrorCode::kStale) OnStale(*h, s.error().message);
    });
    b += n;
  }
}

Result<size_t> VodFs::Read(uint64_t fh, uint64_t offset, size_t size, char* out) {
  VODFS_ASSIGN_OR_RETURN(ReadSlices r, ReadRef(fh, offset, size));
  size_t copied = 0;
  for (const auto& p : r.pieces) {
    std::memcpy(out + copied, p.data, p.size);
    copied += p.size;
  }
  return copied;
}

Result<ReadSlices> VodFs::ReadRef(uint64_t fh, uint64_t offset, size_t size) {
  std::shared_ptr<FileHandle> h;
  {
    std::lock_guard<std::mutex> lock(handles_mu_);
    auto it = files_.find(fh);
    if (it == files_.end()) return Error(ErrorCode::kInvalidArgument, "bad file handle");
    h = it->second;
  }
  ++reads_;
  ReadSlices out;
  if (h->content != ns::Content::kMedia) {
    if (offset >= h->text.size()) return out;
    const size_t n = std::min<size_t>(size, h->text.size() - offset);
    out.pieces.push_back({h->text.data() + offset, n});
    out.size = n;
    out.hold.push_back(h);  // the text lives in the handle
    bytes_read_ += n;
    return out;
  }
  const uint64_t bs = options_.block_size;
  const uint64_t last_asked = size ? (offset + size - 1) / bs : offset / bs;
  if (Status s = PinVersion(*h, offset / bs, last_asked); !s.ok()) {
    ++read_errors_;
    if (s.code() == ErrorCode::kStale) ++stale_reads_;
    return s.error();
  }
  fetch::Fingerprint fp;
  std::string object;
  {
    std::lock_guard<std::mutex> lock(h->mu);
    fp = *h->pinned;
    object = h->object;
  }
  if (offset >= fp.size || size == 0) return out;
  size = static_cast<size_t>(std::min<uint64_t>(size, fp.size - offset));
  const uint64_t first = offset / bs, last = (offset + size - 1) / bs;

  // Read-ahead first, so it runs while this read waits for its own blocks.
  ReadAhead(h, offset, size);

  // Missing blocks of this read: claim them and fetch each run with one
  // request on this thread.
  for (uint64_t b = first; b <= last;) {
    if (!cache_.TryBeginLoad({object, b})) {
      ++b;
      continue;
    }
    uint64_t n = 1;
    while (b + n <= last && cache_.TryBeginLoad({object, b + n})) ++n;
    (void)LoadClaimed(h->ref, object, fp, b, n);  // errors reach the reader through Await
    b += n;
  }
  for (uint64_t b = first; b <= last; ++b) {
    Result<cache::Block> blk = cache_.Await({object, b});
    if (blk.ok() && !*blk) {
      // Evicted between its load and now: load it again.
      blk = cache_.GetOrLoad({object, b}, [&]() -> Result<std::string> {
        auto r = fetcher_.Fetch(h->ref, b * bs, bs, fp);
        if (!r.ok()) return r.error();
        return std::move(r->data);
      });
    }
    if (!blk.ok()) {
      ++read_errors_;
      if (blk.code() == ErrorCode::kStale) {
        ++stale_reads_;
        OnStale(*h, blk.error().message);
      }
      return blk.error();
    }
    const std::string& data = **blk;
    const uint64_t block_start = b * bs;
    // A block of any other length would shift every byte after it.
    if (data.size() != std::min(bs, fp.size - block_start)) {
      ++read_errors_;
      VODFS_LOG(kError) << "block " << b << " of " << h->ref.Key() << " has " << data.size()
                        << " bytes, not " << std::min(bs, fp.size - block_start) << "; failing the read";
      return Error(ErrorCode::kDataLoss, "a cached block has the wrong length");
    }
    const uint64_t from = std::max<uint64_t>(offset, block_start) - block_start;
    const uint64_t to = std::min<uint64_t>(offset + size, block_start + data.size()) - block_start;
    out.pieces.push_back({data.data() + from, static_cast<size_t>(to - from)});
    out.size += to - from;
    out.hold.push_back(*blk);
  }
  bytes_read_ += out.size;
  return out;
}

Result<std::string> VodFs::GetXattr(Ino ino, const std::string& name) {
  VODFS_ASSIGN_OR_RETURN(ns::NodeInfo n, ns_.Get(ino));
  if (name.rfind("user.", 0) == 0) {
    const std::string key = name.substr(5);
    for (const auto& [k, v] : n.xattrs) {
      if (k == key) return v;
    }
  }
  return Error(ErrorCode::kNotFound, "no attribute " + name);
}

Result<std::vector<std::string>> VodFs::ListXattr(Ino ino) {
  VODFS_ASSIGN_OR_RETURN(ns::NodeInfo n, ns_.Get(ino));
  std::vector<std::string> names;
  for (const auto& [k, v] : n.xattrs) names.push_back("user." + k);
  return names;
}

FsStats VodFs::StatFs() const {
  FsStats s;
  s.block_size = options_.block_size;
  s.files = ns_.Stats().entries;
  s.name_max = 255;
  return s;
}

CoreStats VodFs::Stats() const {
  CoreStats s;
  s.opens = opens_;
  s.reads = reads_;
  s.bytes_read = bytes_read_;
  s.stale_reads = stale_reads_;
  s.read_errors = read_errors_;
  s.readahead_blocks = readahead_blocks_;
  s.readahead_resets = readahead_resets_;
  s.index_prefetches = index_prefetches_;
  std::lock_guard<std::mutex> lock(handles_mu_);
  s.open_handles = files_.size();
  return s;
}

}  // namespace vodfs::core
