#include "vodfs/read/reader.h"

#include <algorithm>

#include "head_fetch.h"
#include "vodfs/read/mp4_index.h"
#include "vodfs/util/log.h"

namespace vodfs::read {

struct OpenMedia {
  resolve::MediaRef ref;
  uint64_t ino = 0;
  uint64_t listed_size = 0;
  bool iso_media = false;

  Mutex mu;
  CondVar pin_changed;
  enum class PinState { kNone, kPinning, kPinned };
  PinState pin GUARDED_BY(mu) = PinState::kNone;
  uint64_t pin_attempts GUARDED_BY(mu) = 0;  // ended pinning attempts
  Status pin_error GUARDED_BY(mu);          // of the last one, if it failed
  std::optional<ObjectVersion> version GUARDED_BY(mu);
  // A version the disk tier holds from an earlier mount: pinned only once
  // the origin confirms it.
  std::optional<fetch::Fingerprint> candidate GUARDED_BY(mu);
  uint64_t failures_at_pin GUARDED_BY(mu) = 0;  // the verifier's count for the object
  bool stale GUARDED_BY(mu) = false;
  StreamSet streams GUARDED_BY(mu);
  int windows GUARDED_BY(mu) = 0;   // its cursors with a window (counted in windows_)
  int inflight GUARDED_BY(mu) = 0;  // read-ahead loads running
};

Reader::Reader(fetch::RangeFetcher& fetcher, fetch::VersionTable& versions, cache::BlockCache& cache,
               cache::SecondTier* local, cache::VersionStore* store, Executor* io, ReaderEvents& events,
               ReaderOptions options)
    : fetcher_(fetcher),
      versions_(versions),
      cache_(cache),
      store_(store),
      io_(io),
      events_(events),
      options_(options),
      verifier_(options.block_size, store),
      loader_(fetcher, cache, local, store, verifier_, options.block_size) {}

Reader::~Reader() {
  MutexLock lock(&mu_);
  while (tasks_ > 0) tasks_done_.Wait(&mu_);
}

void Reader::Post(std::function<void()> task) {
  {
    MutexLock lock(&mu_);
    ++tasks_;
  }
  io_->Post([this, task = std::move(task)] {
    task();
    MutexLock lock(&mu_);
    if (--tasks_ == 0) tasks_done_.SignalAll();
  });
}

Reader::Opened Reader::Open(const resolve::MediaRef& ref, uint64_t ino, uint64_t listed_size, bool iso_media) {
  auto f = std::make_shared<OpenMedia>();
  f->ref = ref;
  f->ino = ino;
  f->listed_size = listed_size;
  f->iso_media = iso_media;
  Opened out;
  out.file = f;
  std::optional<ObjectVersion> pinned;
  {
    MutexLock lock(&f->mu);
    // A version seen at the origin during this mount is pinned at once if
    // the API's size agrees with it.
    auto known = versions_.Get(ref.Key());
    if (known && known->size == listed_size) {
      f->version = ObjectVersion::Of(ref, *known);
      f->pin = OpenMedia::PinState::kPinned;
      f->failures_at_pin = verifier_.Failures(f->version->object);
      pinned = f->version;
    } else if (!known && store_) {
      // After a remount: the version whose blocks are on disk becomes a
      // candidate, confirmed against the origin at the first read.
      if (auto stored = store_->Known(ref.Key()); stored && stored->size == listed_size) {
        f->candidate = fetch::Fingerprint{stored->size, stored->etag, stored->last_modified, stored->crc64};
      }
    }
  }
  if (pinned) {
    MutexLock lock(&mu_);
    auto prev = opened_version_.find(ino);
    out.keep_cache = prev != opened_version_.end() && prev->second == pinned->object;
    opened_version_[ino] = pinned->object;
  } else if (options_.head_at_open && options_.readahead && io_ && io_->queued() == 0) {
    // The first read of a media file is nearly always at its head: ask for
    // it now, one round trip before the reader does.
    Post([this, f] { (void)Pin(f, 0, 0); });
  }
  return out;
}

void Reader::Close(const std::shared_ptr<OpenMedia>& f) {
  MutexLock lock(&f->mu);
  windows_ -= f->windows;
  f->windows = 0;
  f->streams.streams.clear();
}

Status Reader::Pin(const std::shared_ptr<OpenMedia>& f, uint64_t first, uint64_t last) {
  {
    MutexLock lock(&f->mu);
    const uint64_t attempts = f->pin_attempts;
    while (f->pin == OpenMedia::PinState::kPinning) f->pin_changed.Wait(&f->mu);
    if (f->stale) return Status(ErrorCode::kStale, "the object changed while open");
    if (f->pin == OpenMedia::PinState::kPinned) return Status::Ok();
    // The attempt this read waited for failed: so does this read (rather
    // than every waiting read trying again in turn).
    if (f->pin_attempts != attempts) return f->pin_error;
    f->pin = OpenMedia::PinState::kPinning;
  }
  Result<ObjectVersion> v = FindVersion(f, first, last);
  if (v.ok()) Pinned(*f, *v);
  MutexLock lock(&f->mu);
  ++f->pin_attempts;
  if (v.ok()) {
    f->version = *v;
    f->pin = OpenMedia::PinState::kPinned;
    f->failures_at_pin = verifier_.Failures(v->object);
    f->pin_error = Status::Ok();
  } else {
    f->pin = OpenMedia::PinState::kNone;
    f->pin_error = v.status();
  }
  f->pin_changed.SignalAll();
  return v.ok() ? Status::Ok() : v.status();
}

// The version to pin, asked of the origin (no lock held).
Result<ObjectVersion> Reader::FindVersion(const std::shared_ptr<OpenMedia>& f, uint64_t first, uint64_t last) {
  std::optional<fetch::Fingerprint> candidate;
  {
    MutexLock lock(&f->mu);
    candidate = f->candidate;
    f->candidate.reset();
  }
  if (candidate && store_) {
    // The disk holds blocks of a version from an earlier mount: one byte
    // from the origin tells whether that version is still current (the
    // blocks serve only if it is: they are keyed by the version).
    VODFS_ASSIGN_OR_RETURN(fetch::Fingerprint fp, fetcher_.Probe(f->ref));
    if (fp.Matches(*candidate) && !fp.crc64) fp.crc64 = candidate->crc64;
    return ObjectVersion::Of(f->ref, fp);
  }
  const bool head = first == 0 && options_.readahead && io_;
  std::vector<Span> parts = PlanFirstRead(first, last, f->listed_size, head, f->iso_media, options_.head);
  HeadFetch::Hooks hooks;
  hooks.on_version = [this](const ObjectVersion& v) {
    // Before any block of it reaches the disk tier.
    if (store_) store_->Describe(v.object, v.ref.Key(), {v.fp.size, v.fp.etag, v.fp.last_modified, v.fp.crc64});
  };
  if (head && f->iso_media) {
    hooks.on_head_bytes = [this](const ObjectVersion& v, std::string_view bytes) { PrefetchMp4Index(v, bytes); };
  }
  const size_t n = parts.size();
  auto v = HeadFetch::Run(loader_, fetcher_, io_, f->ref, std::move(parts), std::move(hooks));
  if (v.ok()) readahead_blocks_ += n > 1 ? (n - 1) : 0;
  return v;
}

// A version was found for `f`: the table, the namespace and the kernel
// hear of it.
void Reader::Pinned(OpenMedia& f, const ObjectVersion& v) {
  const bool changed = versions_.Set(f.ref.Key(), v.fp);
  {
    MutexLock lock(&mu_);
    opened_version_[f.ino] = v.object;
  }
  if (v.fp.size != f.listed_size) events_.SizeLearned(f.ino, v.fp.size);
  if (changed) events_.ContentChanged(f.ino);  // pages of the old version must go
  if (store_ && v.fp.size > 0) {
    store_->Describe(v.object, v.ref.Key(), {v.fp.size, v.fp.etag, v.fp.last_modified, v.fp.crc64});
  }
}

// The head of a file arrived: if it is an MP4 whose index follows its
// media data, fetch the index now, before the demuxer asks for it.
void Reader::PrefetchMp4Index(const ObjectVersion& v, std::string_view head) {
  auto index = TrailingMp4Index(head, v.fp.size);
  if (!index || !io_) return;
  const uint64_t bs = options_.block_size;
  const uint64_t first = index->offset / bs, last = (v.fp.size - 1) / bs;
  BlockLoader::Claims claims = ClaimSpan(cache_, v, {first, last - first + 1}, bs);
  if (claims.empty()) return;
  ++index_prefetches_;
  readahead_blocks_ += claims.size();
  LoadInBackground(nullptr, v, std::move(claims));
}

void Reader::LoadInBackground(const std::shared_ptr<OpenMedia>& f, const ObjectVersion& v,
                              BlockLoader::Claims claims) {
  if (f) {
    MutexLock lock(&f->mu);
    ++f->inflight;
  }
  auto shared = std::make_shared<BlockLoader::Claims>(std::move(claims));
  Post([this, f, v, shared] {
    Status s = loader_.Load(v, std::move(*shared));
    if (!f) return;
    {
      MutexLock lock(&f->mu);
      --f->inflight;
    }
    if (s.code() == ErrorCode::kStale) OnStale(*f, s.error().message);
    if (s.code() == ErrorCode::kDataLoss) Condemned(v.object, f->ino);
  });
}

void Reader::Condemned(const std::string& object, uint64_t ino) {
  // Every inode last opened at this version: the kernel may hold pages of
  // it that earlier reads filled with the damaged bytes, and its next open
  // must not keep them (keep_cache).
  std::vector<uint64_t> inos{ino};
  {
    MutexLock lock(&mu_);
    for (auto it = opened_version_.begin(); it != opened_version_.end();) {
      if (it->second == object) {
        if (it->first != ino) inos.push_back(it->first);
        it = opened_version_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (uint64_t i : inos) events_.ContentChanged(i);
}

void Reader::ReadAhead(const std::shared_ptr<OpenMedia>& f, const ObjectVersion& v, uint64_t offset, size_t size) {
  if (!io_ || !options_.readahead) return;
  ReadAheadStep step;
  {
    MutexLock lock(&f->mu);
    if (f->stale) return;
    // Memory: all windows together get at most half of the cache budget,
    // so read-ahead never evicts what is about to be read.
    const uint64_t share = cache_.budget() / 2 / static_cast<uint64_t>(std::max(1, windows_.load()));
    // Every fetcher busy (many streams): speculative work would only queue
    // up, and readers would wait behind it for blocks it claimed.
    const bool can_issue = f->inflight < static_cast<int>(options_.ahead.max_parallel) && io_->queued() == 0;
    step = PlanReadAhead(f->streams, offset, size, false, v.fp.size, share, can_issue, options_.ahead);
    f->windows += step.windows_opened;
    windows_ += step.windows_opened;
    if (step.reset) ++readahead_resets_;
  }
  if (step.from >= step.to) return;
  for (const Span& part : SplitWindow(step.from, step.to, step.window, options_.ahead)) {
    BlockLoader::Claims claims = ClaimSpan(cache_, v, part, options_.block_size);
    // One load per run of consecutive claims (a block loading elsewhere
    // splits a part).
    size_t i = 0;
    while (i < claims.size()) {
      size_t j = i + 1;
      while (j < claims.size() && claims[j].key().index == claims[j - 1].key().index + 1) ++j;
      BlockLoader::Claims run;
      for (size_t k = i; k < j; ++k) run.push_back(std::move(claims[k]));
      readahead_blocks_ += run.size();
      LoadInBackground(f, v, std::move(run));
      i = j;
    }
  }
}

void Reader::OnStale(OpenMedia& f, const std::string& why) {
  {
    MutexLock lock(&f.mu);
    if (f.stale) return;
    f.stale = true;
  }
  versions_.Erase(f.ref.Key());
  events_.ContentChanged(f.ino);  // the kernel must not keep the old pages either
  VODFS_LOG(kWarn) << "Cannot read " << f.ref.Key() << ": " << why
                   << "; reads of this open file fail (ESTALE) rather than mix two versions";
}

// One block of a pinned version: from memory, from whoever is loading it,
// or loaded here. `waited` says whether it was not in memory at once.
Result<cache::Block> Reader::GetBlock(const ObjectVersion& v, uint64_t index, bool* waited) {
  const cache::BlockKey key{v.object, index};
  if (cache::Block b = cache_.Lookup(key)) return b;
  *waited = true;
  // A block can leave memory between its load and this look (a tiny
  // budget under many readers): it is loaded again, a few times at most.
  for (int round = 0; round < 4; ++round) {
    VODFS_ASSIGN_OR_RETURN(cache::Block b, cache_.Await(key));
    if (b) return b;
    if (auto claim = cache_.TryClaim(key)) {
      BlockLoader::Claims one;
      one.push_back(std::move(*claim));
      // Loaded here: a failure is this read's (its waiters hear it too).
      if (Status s = loader_.Load(v, std::move(one)); !s.ok()) return s.error();
    }
  }
  return Error(ErrorCode::kUnavailable, "a block of " + v.ref.Key() + " keeps leaving memory before it is read");
}

Result<Slices> Reader::Read(const std::shared_ptr<OpenMedia>& f, uint64_t offset, size_t size) {
  const uint64_t bs = options_.block_size;
  const uint64_t last_asked = size ? (offset + size - 1) / bs : offset / bs;
  ObjectVersion v;
  auto fail = [this, &v, &f](const Status& s) -> Result<Slices> {
    ++read_errors_;
    if (s.code() == ErrorCode::kStale) ++stale_reads_;
    if (s.code() == ErrorCode::kDataLoss) {
      ++corrupt_reads_;
      if (!v.object.empty()) Condemned(v.object, f->ino);
    }
    return s.error();
  };
  if (Status s = Pin(f, offset / bs, last_asked); !s.ok()) return fail(s);
  uint64_t failures_at_pin = 0;
  {
    MutexLock lock(&f->mu);
    if (f->stale) return fail(Status(ErrorCode::kStale, "the object changed while open"));
    v = *f->version;
    failures_at_pin = f->failures_at_pin;
    v.epoch = failures_at_pin;
    if (verifier_.Failures(v.object) != failures_at_pin) {
      return fail(Status(ErrorCode::kDataLoss,
                         v.ref.Key() + " did not match its origin's CRC-64 since it was opened; open it again"));
    }
  }
  // A condemnation this file's pin came after may still be dropping the
  // object's old blocks: none of them may be found.
  loader_.AwaitSettled(v.object, failures_at_pin);
  Slices out;
  if (offset >= v.fp.size || size == 0) return out;
  size = static_cast<size_t>(std::min<uint64_t>(size, v.fp.size - offset));
  const uint64_t first = offset / bs, last = (offset + size - 1) / bs;

  // Read-ahead first, so that it runs while this read waits for its own blocks.
  ReadAhead(f, v, offset, size);

  // The blocks of this read nobody loads yet: claimed and loaded here, one
  // request per run (the outcome reaches the waits below).
  for (uint64_t b = first; b <= last;) {
    BlockLoader::Claims run;
    while (b <= last) {
      auto c = cache_.TryClaim({v.object, b});
      if (!c) {
        if (!run.empty()) break;
        ++b;
        continue;
      }
      run.push_back(std::move(*c));
      ++b;
    }
    if (run.empty()) continue;
    // A load that fails fails this read at once: its claims are gone by
    // the time the waits below would look for them.
    if (Status s = loader_.Load(v, std::move(run)); !s.ok()) {
      if (s.code() == ErrorCode::kStale) OnStale(*f, s.error().message);
      return fail(s);
    }
  }
  bool waited = false;
  for (uint64_t b = first; b <= last; ++b) {
    Result<cache::Block> blk = GetBlock(v, b, &waited);
    if (!blk.ok()) {
      if (blk.code() == ErrorCode::kStale) OnStale(*f, blk.error().message);
      return fail(blk.status());
    }
    const cache::BlockData& data = **blk;
    const uint64_t block_start = b * bs;
    // A block of any other length would shift every byte after it.
    if (data.size() != std::min(bs, v.fp.size - block_start)) {
      VODFS_LOG(kError) << "block " << b << " of " << v.ref.Key() << " has " << data.size() << " bytes, not "
                        << std::min(bs, v.fp.size - block_start) << "; failing the read";
      return fail(Status(ErrorCode::kDataLoss, "a cached block has the wrong length"));
    }
    const uint64_t from = std::max<uint64_t>(offset, block_start) - block_start;
    const uint64_t to = std::min<uint64_t>(offset + size, block_start + data.size()) - block_start;
    out.pieces.push_back({data.data() + from, static_cast<size_t>(to - from)});
    out.size += to - from;
    out.hold.push_back(*blk);
  }
  // The object found corrupt while this read gathered its blocks: none of
  // them is handed out.
  if (verifier_.Failures(v.object) != failures_at_pin) {
    return fail(Status(ErrorCode::kDataLoss, v.ref.Key() + " did not match its origin's CRC-64"));
  }
  if (waited) {
    MutexLock lock(&f->mu);
    NoteWaited(f->streams, offset, offset + size);
  }
  return out;
}

ReaderStats Reader::Stats() const {
  ReaderStats s;
  s.readahead_blocks = readahead_blocks_;
  s.readahead_resets = readahead_resets_;
  s.index_prefetches = index_prefetches_;
  s.stale_reads = stale_reads_;
  s.corrupt_reads = corrupt_reads_;
  s.read_errors = read_errors_;
  s.windows = static_cast<uint64_t>(std::max(0, windows_.load()));
  s.loader = loader_.Stats();
  s.verifier = verifier_.Stats();
  return s;
}

}  // namespace vodfs::read
