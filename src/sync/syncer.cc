#include "vodfs/sync/syncer.h"

#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "sync/run.h"
#include "vodfs/ns/names.h"
#include "vodfs/util/log.h"
#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"

namespace vodfs::sync {

using index::MediaKind;
using index::MediaRecord;

namespace {

// Changes handed to the listener per call (and read from the log per query).
constexpr size_t kDeliverBatch = 1000;

bool IsOffline(const Status& s) {
  return s.code() == ErrorCode::kUnavailable || s.code() == ErrorCode::kDeadlineExceeded;
}

}  // namespace

Syncer::Syncer(vod::VodApi& api, index::IndexStore& store, Clock& clock, Executor& io, SyncOptions options)
    : api_(api), store_(store), clock_(clock), io_(io), options_(std::move(options)) {}

Syncer::~Syncer() { Stop(); }

void Syncer::SetListener(ChangeListener* l) {
  MutexLock lock(&mu_);
  listener_ = l;
}

MediaRecord Syncer::FromMedia(const vod::MediaInfo& m) const {
  MediaRecord r;
  r.id = m.id;
  r.kind = m.media_type == "audio" ? MediaKind::kAudio : MediaKind::kVideo;
  r.name = ns::MediaDirName(m.title, m.id, options_.id_names);
  r.title = m.title;
  r.description = m.description;
  r.tags = m.tags;
  r.cate_id = m.cate_id;
  r.cate_name = m.cate_name;
  r.duration = m.duration;
  r.size = m.size;
  r.status = m.status;
  r.storage_class = m.storage_class;
  r.creation_time = m.creation_time;
  r.modification_time = m.modification_time ? m.modification_time : m.creation_time;
  return r;
}

MediaRecord Syncer::FromImage(const vod::ImageInfo& i) const {
  MediaRecord r;
  r.id = i.id;
  r.kind = MediaKind::kImage;
  const std::string ext =
      ns::ExtensionOf(i.original_file_name, ns::ExtensionOf(i.url, ns::ExtensionOf(i.file_url, "jpg")));
  r.name = ns::MediaFileName(i.title, i.id, ext, options_.id_names);
  r.title = i.title;
  r.description = i.description;
  r.tags = i.tags;
  r.cate_id = i.cate_id;
  r.cate_name = i.cate_name;
  r.size = i.file_size;
  r.status = i.status;
  r.creation_time = i.creation_time;
  r.modification_time = i.modification_time ? i.modification_time : i.creation_time;
  r.width = i.width;
  r.height = i.height;
  r.image_type = i.image_type;
  r.file_name = i.original_file_name;
  return r;
}

Status Syncer::Init() {
  VODFS_ASSIGN_OR_RETURN(auto identity, store_.GetMeta("sync.identity"));
  if (identity && *identity != options_.identity && !options_.identity.empty()) {
    VODFS_LOG(kWarn) << "The index " << store_.Describe() << " holds another library; it is listed again from scratch";
    VODFS_ASSIGN_OR_RETURN(auto w, store_.Write());
    for (const char* sql : {"DELETE FROM media", "DELETE FROM media_next", "DELETE FROM details", "DELETE FROM objects",
                            "DELETE FROM categories", "DELETE FROM meta WHERE key <> 'schema_version'"}) {
      VODFS_RETURN_IF_ERROR(w.connection().Run(sql).status());
    }
    std::vector<index::ChangeRecord> resets;
    for (MediaKind k : index::kAllKinds) {
      index::ChangeRecord c;
      c.op = index::ChangeRecord::Op::kReset;
      c.kind = k;
      c.at = clock_.UnixNow();
      resets.push_back(c);
    }
    VODFS_RETURN_IF_ERROR(w.LogChanges(&resets));
    VODFS_RETURN_IF_ERROR(w.Commit());
  }
  VODFS_ASSIGN_OR_RETURN(auto gen, store_.GetMeta("sync.generation"));
  VODFS_ASSIGN_OR_RETURN(auto full_at, store_.GetMeta("sync.full_at"));
  VODFS_ASSIGN_OR_RETURN(auto at, store_.GetMeta("sync.at"));
  VODFS_ASSIGN_OR_RETURN(auto scheme, store_.GetMeta("sync.name_scheme"));
  VODFS_ASSIGN_OR_RETURN(int64_t last_seq, store_.LastChange());
  {
    MutexLock lock(&mu_);
    stats_.generation = str::ParseInt64(gen.value_or("0")).value_or(0);
    complete_ = stats_.generation > 0;
    stats_.last_full_at = str::ParseInt64(full_at.value_or("0")).value_or(0);
    stats_.last_sync_at = str::ParseInt64(at.value_or("0")).value_or(0);
    if (scheme && *scheme != (options_.id_names ? "id" : "title-id")) {
      // Names follow the scheme: list everything again under the new one.
      wanted_ = wanted_full_ = true;
    }
  }
  MutexLock lock(&deliver_mu_);
  delivered_seq_ = last_seq;  // what is in the index now is what the tree starts from
  return Status::Ok();
}

void Syncer::Start() {
  // The watch's connection is made here, after any daemonising fork.
  std::unique_ptr<index::ChangeWatch> watch;
  if (auto w = store_.db().WatchChanges(); w.ok()) {
    watch = std::move(w).value();
  } else {
    VODFS_LOG(kWarn) << "Cannot watch the index for changes (" << w.error().ToString()
                     << "); following it every " << options_.follow_interval << " s";
  }
  MutexLock lock(&mu_);
  if (loop_.joinable()) return;
  stopping_ = false;
  loop_ = std::thread([this] { Loop(); });
  if (watch) {
    stats_.watching = true;
    watch_ = std::thread([this, w = std::move(watch)]() mutable { Watch(std::move(w)); });
  }
}

void Syncer::Watch(std::unique_ptr<index::ChangeWatch> watch) {
  // One second per wait: how long Stop() may wait for this thread.
  constexpr auto kWait = std::chrono::seconds(1);
  bool reported = false;
  while (!StopRequested()) {
    auto r = watch->Wait(kWait);
    if (!r.ok()) {
      if (!reported) VODFS_LOG(kWarn) << "The index's change announcements stopped: " << r.error().ToString();
      reported = true;
      continue;
    }
    if (reported) VODFS_LOG(kInfo) << "The index's change announcements are back";
    reported = false;
    if (!*r) continue;
    MutexLock lock(&mu_);
    if (!stats_.leader) ++stats_.notifications;
    // A follower reads the changes; the leader looks for a sync request.
    follow_wanted_ = true;
    cv_.SignalAll();
  }
}

void Syncer::CheckRequests() {
  auto req = store_.GetMeta("sync.requested");
  NoteIndexReachable(req.status());
  if (!req.ok()) return;
  const std::string value = req->value_or("");
  MutexLock lock(&mu_);
  // What was there when this leadership began was served by a former
  // leader, or is moot: a new leader syncs at once anyway.
  if (!requests_seen_) {
    requests_seen_ = true;
    handled_request_ = value;
    return;
  }
  if (value.empty() || value == handled_request_) return;
  handled_request_ = value;
  VODFS_LOG(kInfo) << "A sync of the index was asked for (" << value << ")";
  wanted_ = true;
  wanted_full_ = wanted_full_ || str::EndsWith(value, " full");
}

Status Syncer::Request(bool full) {
  VODFS_ASSIGN_OR_RETURN(auto w, store_.Write());
  VODFS_RETURN_IF_ERROR(
      w.SetMeta("sync.requested", std::to_string(clock_.UnixNow()) + " pid " + std::to_string(getpid()) +
                                      (full ? " full" : "")));
  // Wakes the syncing mount's watch (it reads the request at once).
  VODFS_RETURN_IF_ERROR(w.connection().Announce(0));
  return w.Commit();
}

bool Syncer::StillLeader() {
  MutexLock lock(&mu_);
  if (lock_ && lock_->Held()) return true;
  ++stats_.fenced_syncs;
  return false;
}

void Syncer::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    cv_.SignalAll();
  }
  if (loop_.joinable()) loop_.join();
  if (watch_.joinable()) watch_.join();
  MutexLock lock(&mu_);
  lock_.reset();
}

bool Syncer::StopRequested() const {
  MutexLock lock(&mu_);
  return stopping_;
}

void Syncer::RequestSync(bool full) {
  MutexLock lock(&mu_);
  wanted_ = true;
  wanted_full_ = wanted_full_ || full;
  cv_.SignalAll();
}

void Syncer::Loop() {
  int64_t next = 0;  // monotonic seconds of the next sync (0: now)
  int64_t retry = options_.retry_initial;
  auto mono = [this] {
    return std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  };
  while (true) {
    bool leader = false;
    bool due = false, full = false;
    {
      MutexLock lock(&mu_);
      if (stopping_) return;
      if (lock_ && !lock_->Held()) {
        VODFS_LOG(kWarn) << "This mount lost the writer lock of the index " << store_.Describe()
                         << "; it follows the index until it can take the lock again";
        lock_.reset();
        ++stats_.lost_leaderships;
      }
      if (!lock_) {
        auto l = store_.db().TryLockWriter();
        if (l.ok() && *l) {
          lock_ = std::move(l).value();
          ++stats_.leaderships;
          requests_seen_ = false;
          VODFS_LOG(kInfo) << "This mount syncs the index " << store_.Describe();
        }
      }
      leader = lock_ != nullptr;
      stats_.leader = leader;
    }
    if (leader) CheckRequests();
    {
      MutexLock lock(&mu_);
      due = leader && (wanted_ || mono() >= next);
      full = wanted_full_;
      if (due) wanted_ = wanted_full_ = false;
    }
    if (due) {
      Status s = DoSync(full);
      if (s.ok()) {
        retry = options_.retry_initial;
        next = mono() + options_.interval;
      } else if (s.code() != ErrorCode::kCancelled) {
        next = mono() + retry;
        VODFS_LOG(kWarn) << "Cannot sync the library index: " << s.ToString() << "; trying again in " << retry << " s";
        retry = std::min(retry * 2, std::max<int64_t>(options_.interval, options_.retry_initial));
      }
    } else if (!leader) {
      Follow();
    }
    MutexLock lock(&mu_);
    if (stopping_) return;
    const int64_t wait = leader ? std::max<int64_t>(1, std::min<int64_t>(next - mono(), options_.follow_interval))
                                : options_.follow_interval;
    if (!wanted_ && !follow_wanted_) cv_.WaitFor(&mu_, std::chrono::seconds(wait));
    follow_wanted_ = false;
  }
}

void Syncer::NoteIndexReachable(const Status& s) {
  const bool down = s.code() == ErrorCode::kUnavailable;
  MutexLock lock(&mu_);
  if (down && stats_.index_unreachable_since == 0) {
    stats_.index_unreachable_since = clock_.UnixNow();
    VODFS_LOG(kWarn) << "The index " << store_.Describe() << " cannot be reached (" << s.ToString()
                     << "); this mount serves what it holds and follows again when it is back";
  } else if (s.ok() && stats_.index_unreachable_since != 0) {
    stats_.index_unreachable_since = 0;
    VODFS_LOG(kInfo) << "The index " << store_.Describe() << " can be reached again";
  }
}

void Syncer::Follow() {
  auto gen = store_.GetMeta("sync.generation");
  NoteIndexReachable(gen.status());
  auto at = store_.GetMeta("sync.at");
  if (gen.ok()) {
    MutexLock lock(&mu_);
    // The syncing process's last sync, for this one's sync lag.
    if (at.ok()) stats_.last_sync_at = str::ParseInt64(at->value_or("0")).value_or(0);
    const int64_t g = str::ParseInt64(gen->value_or("0")).value_or(0);
    stats_.generation = g;
    if (g > 0 && !complete_) {
      complete_ = true;
      cv_.SignalAll();
    }
  }
  Deliver();
}

Status Syncer::SyncNow(bool full) {
  {
    MutexLock lock(&mu_);
    if (!lock_) {
      auto l = store_.db().TryLockWriter();
      if (!l.ok()) return l.status();
      if (!*l) {
        const int64_t pid = store_.db().WriterPid();
        return Status(ErrorCode::kAborted, "another process syncs the index " + store_.Describe() +
                                               (pid ? " (pid " + std::to_string(pid) + ")" : ""));
      }
      lock_ = std::move(l).value();
    }
    stats_.leader = true;
  }
  return DoSync(full);
}

Status Syncer::DoSync(bool force_full) {
  Run run(api_);
  run.started = clock_.UnixNow();
  run.until = run.started + 86400;
  const MonoTime t0 = clock_.Now();
  bool full = force_full;
  {
    auto staged = store_.GetMeta("stage.started");
    if (!staged.ok()) return staged.status();
    MutexLock lock(&mu_);
    if (!complete_ || staged->has_value()) full = true;
    if (stats_.last_full_at > 0 && run.started - stats_.last_full_at >= options_.full_interval) full = true;
    progress_ = SyncProgress();
    progress_.running = true;
    progress_.full = full;
    progress_.started_at = run.started;
  }
  run.full = full;
  VODFS_LOG(kInfo) << "Syncing the library index (" << (full ? "full" : "incremental") << ")";
  Status s = full ? FullSync(run) : IncrementalSync(run);
  if (s.ok() && run.needs_full) {
    VODFS_LOG(kInfo) << "The changes need a full listing; listing the whole library";
    run.full = full = true;
    {
      MutexLock lock(&mu_);
      progress_.full = true;
    }
    s = FullSync(run);
  }
  const MonoTime listed = clock_.Now();
  if (s.ok()) {
    VODFS_LOG(kInfo) << "Listed what the sync needs in " << std::chrono::duration<double>(listed - t0).count()
                     << " s with " << run.api.calls() << " API calls; applying it";
    s = Commit(run, full);
  }
  // The listener learns of the changes before anyone is told the listing
  // is complete: a listing that waited sees the tree as the sync left it.
  if (s.ok()) Deliver();
  const double seconds = std::chrono::duration<double>(clock_.Now() - t0).count();
  {
    MutexLock lock(&mu_);
    progress_.running = false;
    progress_.calls = run.api.calls();
    stats_.api_calls += run.api.calls();
    stats_.last_calls = run.api.calls();
    attempted_ = true;
    if (s.ok()) {
      ++stats_.syncs;
      if (full) {
        ++stats_.full_syncs;
        ++stats_.generation;
        stats_.last_full_at = run.started;
      }
      stats_.last_sync_at = clock_.UnixNow();
      stats_.last_duration = seconds;
      stats_.last_error.clear();
      stats_.offline_since = 0;
      complete_ = true;
      last_failure_ = Status::Ok();
    }
    cv_.SignalAll();
  }
  if (!s.ok()) {
    NoteFailure(s);
    return s;
  }
  VODFS_LOG(kInfo) << "Synced the library index in " << seconds << " s with " << run.api.calls() << " API calls";
  return Status::Ok();
}

void Syncer::NoteFailure(const Status& s) {
  int64_t offline = 0;
  {
    MutexLock lock(&mu_);
    ++stats_.failures;
    stats_.last_error = s.ToString();
    last_failure_ = s;
    if (IsOffline(s) && stats_.offline_since == 0) stats_.offline_since = clock_.UnixNow();
    offline = stats_.offline_since;
    cv_.SignalAll();
  }
  // For `vodfs index status` in another process; the index itself is local
  // and writable even when the API is not reachable.
  auto w = store_.Write();
  if (w.ok() && w->SetMeta("sync.last_error", s.ToString()).ok() &&
      w->SetMeta("sync.offline_since", std::to_string(offline)).ok() && w->DeleteMeta("sync.progress").ok()) {
    (void)w->Commit();
  }
}

bool Syncer::Complete() const {
  MutexLock lock(&mu_);
  return complete_;
}

Status Syncer::WaitComplete() {
  MutexLock lock(&mu_);
  while (!complete_) {
    if (attempted_ && !last_failure_.ok()) {
      return Status(last_failure_.code(), "the library has not been listed yet: " + last_failure_.error().message);
    }
    if (stopping_) return Status(ErrorCode::kCancelled, "vodfs is stopping");
    cv_.Wait(&mu_);
  }
  return Status::Ok();
}

Result<MediaRecord> Syncer::Resolve(const std::string& id) {
  VODFS_ASSIGN_OR_RETURN(auto known, store_.MediaById(id));
  if (known) return *known;
  MediaRecord rec;
  auto video = api_.GetVideoInfo(id);
  if (video.ok()) {
    rec = FromMedia(*video);
  } else if (video.code() == ErrorCode::kNotFound) {
    vod::ImageRequest r;
    r.image_id = id;
    auto image = api_.GetImageInfo(r);
    if (!image.ok()) {
      if (image.code() == ErrorCode::kNotFound) return Error(ErrorCode::kNotFound, "no medium has the id " + id);
      return image.error();
    }
    rec = FromImage(*image);
  } else {
    return video.error();
  }
  std::vector<index::ChangeRecord> changes;
  {
    VODFS_ASSIGN_OR_RETURN(auto w, store_.Write());
    VODFS_RETURN_IF_ERROR(w.UpsertMedia({rec}, &changes));
    for (auto& c : changes) c.at = clock_.UnixNow();
    VODFS_RETURN_IF_ERROR(w.LogChanges(&changes));
    VODFS_RETURN_IF_ERROR(w.Commit());
  }
  Deliver();
  VODFS_ASSIGN_OR_RETURN(auto stored, store_.MediaById(id));
  if (!stored) return Error(ErrorCode::kNotFound, "medium " + id + " was removed meanwhile");
  return *stored;
}

void Syncer::Deliver() {
  MutexLock deliver(&deliver_mu_);
  if (delivered_seq_ < 0) {
    auto last = store_.LastChange();
    if (!last.ok()) return;
    delivered_seq_ = *last;
    return;
  }
  while (true) {
    auto batch = store_.ChangesSince(delivered_seq_, kDeliverBatch);
    if (!batch.ok()) {
      VODFS_LOG(kWarn) << "Cannot read the index's change log: " << batch.error().ToString();
      return;
    }
    if (batch->empty()) return;
    // A gap (the log was trimmed past what this process saw) means it may
    // have missed changes: everything is treated as changed.
    if (batch->front().seq > delivered_seq_ + 1 && delivered_seq_ > 0) {
      std::vector<index::ChangeRecord> resets;
      for (MediaKind k : index::kAllKinds) {
        index::ChangeRecord c;
        c.op = index::ChangeRecord::Op::kReset;
        c.kind = k;
        resets.push_back(c);
      }
      batch->insert(batch->begin(), resets.begin(), resets.end());
    }
    delivered_seq_ = batch->back().seq;
    ChangeListener* l = nullptr;
    {
      MutexLock lock(&mu_);
      l = listener_;
      stats_.changes_delivered += static_cast<int64_t>(batch->size());
      stats_.last_seq = delivered_seq_;
    }
    if (l) l->OnChanges(*batch);
    if (batch->size() < kDeliverBatch) return;
  }
}

void Syncer::SetPhase(const std::string& phase, int64_t total, int64_t done) {
  MutexLock lock(&mu_);
  progress_.phase = phase;
  progress_.total = total;
  progress_.done = done;
}

void Syncer::AddDone(int64_t n) {
  MutexLock lock(&mu_);
  progress_.done += n;
}

std::string Syncer::ProgressJson() const {
  MutexLock lock(&mu_);
  nlohmann::json j = {{"phase", progress_.phase},   {"done", progress_.done},
                      {"total", progress_.total},   {"full", progress_.full},
                      {"started_at", progress_.started_at}, {"pid", static_cast<int64_t>(getpid())}};
  return j.dump();
}

SyncProgress Syncer::Progress() const {
  MutexLock lock(&mu_);
  return progress_;
}

SyncStats Syncer::Stats() const {
  MutexLock lock(&mu_);
  return stats_;
}

}  // namespace vodfs::sync
