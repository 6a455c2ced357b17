// Syncer: keeps the library index true to the VOD library within the API
// quota, and tells the mount what changed.
//
// A full sync lists everything: videos and audio by CreationTime partitions
// walked in parallel with ScrollToken (one SearchMedia call per 100 media,
// the minimum the paging allows), images by CreationTime partitions of at
// most 5,000 (they cannot be walked with ScrollToken), the category tree.
// What it lists is staged page by page (a killed sync resumes where it
// stopped) and applied in one transaction.
//
// An incremental sync costs a few calls when nothing changed:
//  - new and modified media: `ModificationTime` from a little before the
//    newest one indexed (`overlap`: the service's search index lags);
//  - deleted media: the `Total` of each kind against the index's count; on
//    a difference, CreationTime partitions are counted (one call each,
//    halving the range; the other half by subtraction) down to ranges of
//    `leaf` media, which are listed again and compared; new media only
//    ever enter the newest partition, so old partitions change their count
//    only by deletion;
//  - the category tree when its first level changed.
// Everything it finds is applied in one transaction. A full reconcile still
// runs every `full_interval`.
//
// One process syncs an index at a time (the database's writer lock);
// others follow the change log. Both hand the changes to a ChangeListener
// (the namespace, which tells the kernel). Where the database announces
// commits (PostgreSQL's NOTIFY), a watch thread wakes the follower at once;
// the change log is still polled every `follow_interval` (and the lock
// tried), so a lost announcement delays a change, never loses it, and a
// dead writer is replaced within the lock's timeout plus that interval.
//
// Thread-safety: all public methods are safe to call concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "vodfs/index/store.h"
#include "vodfs/util/clock.h"
#include "vodfs/util/executor.h"
#include "vodfs/util/mutex.h"
#include "vodfs/util/result.h"
#include "vodfs/vod/api.h"

namespace vodfs::sync {

struct SyncOptions {
  bool id_names = false;                // name_scheme=id
  int64_t interval = 300;               // seconds between incremental syncs
  int64_t full_interval = 86400;        // seconds between full reconciles
  // The window of ModificationTime read again on every sync: the search
  // index SearchMedia answers from lags behind changes by seconds.
  int64_t overlap = 300;
  // A CreationTime partition with at most this many media is listed again
  // (4 calls) rather than split further (2 calls a level).
  int64_t leaf = 400;
  // Parallel partitions of a full listing of videos (and of audio): each
  // walks with its own ScrollToken, so that the API's round trip does not
  // bound the listing speed below the QPS limit.
  int partitions = 4;
  // More changes than this in one sync are announced as one reset.
  size_t max_logged_changes = 10000;
  // Retry after a failed sync, doubling up to `interval`.
  int64_t retry_initial = 15;
  // Followers (not syncing) read the change log, and try to take the
  // writer lock, this often (announcements wake them sooner).
  int64_t follow_interval = 5;
  // The library this index belongs to (endpoint, AccessKeyId): an index of
  // another one is rebuilt, never mixed.
  std::string identity;
};

// Where a sync is, for `.vodfs/stats` and `vodfs index status`.
struct SyncProgress {
  bool running = false;
  bool full = false;
  std::string phase;   // "videos", "audio", "images", "categories", "changes", "applying"
  int64_t done = 0;    // media listed (full) or checked
  int64_t total = 0;   // media announced (0: not known yet)
  int64_t calls = 0;
  int64_t started_at = 0;
};

struct SyncStats {
  int64_t syncs = 0, full_syncs = 0, failures = 0;
  int64_t api_calls = 0;           // every SearchMedia, GetCategories, GetImageInfos... of syncs
  int64_t last_sync_at = 0;        // end of the last successful sync
  int64_t last_full_at = 0;
  double last_duration = 0;        // seconds
  int64_t last_calls = 0;          // API calls of the last sync
  int64_t last_changes = 0;
  std::string last_error;
  int64_t offline_since = 0;       // the API has been unreachable since then (0: it is not)
  int64_t changes_delivered = 0;   // change records handed to the listener
  int64_t last_seq = 0;            // newest change delivered
  bool leader = false;             // this process syncs
  int64_t generation = 0;          // complete full syncs in the index's life
  // A shared index (PostgreSQL): announcements of another process's
  // commits received, the times this process took the writer lock and
  // lost it, and a sync discarded because the lock was lost before it
  // committed.
  int64_t notifications = 0;
  int64_t leaderships = 0;
  int64_t lost_leaderships = 0;
  int64_t fenced_syncs = 0;
  bool watching = false;           // followers are woken by announcements, not only by polls
  int64_t index_unreachable_since = 0;  // the index's database cannot be reached since then (0: it can)
};

// Receives the changes a sync applied (from this process or another).
class ChangeListener {
 public:
  virtual ~ChangeListener() = default;
  virtual void OnChanges(const std::vector<index::ChangeRecord>& changes) = 0;
};

class Syncer {
 public:
  Syncer(vod::VodApi& api, index::IndexStore& store, Clock& clock, Executor& io, SyncOptions options);
  ~Syncer();
  Syncer(const Syncer&) = delete;
  Syncer& operator=(const Syncer&) = delete;

  void SetListener(ChangeListener* l);
  // Checks the index belongs to this library (clearing it if not) and
  // reads its state. Makes no API call.
  Status Init();
  // The background loop: syncs when this process holds the writer lock,
  // follows the change log otherwise. Start after any daemonising fork.
  void Start();
  void Stop();
  // Runs one sync now on the calling thread (full when `full`, or when the
  // index has never been listed or a full one is due). Fails with
  // kAborted when another process holds the writer lock.
  Status SyncNow(bool full = false);
  // Asks the background loop for a sync as soon as possible.
  void RequestSync(bool full = false);
  // Asks whichever process syncs the index (on this machine or another
  // of the fleet) for a sync, through the index: it reads the request at
  // its next loop (at once where the database announces it).
  Status Request(bool full = false);
  // Reads what another process committed (changes, completeness) and hands
  // the changes to the listener. The loop does this when it does not sync.
  void Follow();

  // The index holds a complete listing (of some past moment).
  bool Complete() const;
  // Waits until the index holds a complete listing, or a sync attempt
  // failed while it held none (that error is returned).
  Status WaitComplete();

  // A medium by id, from the index or with one API call (GetVideoInfo,
  // else GetImageInfo); one found by the API is added to the index.
  Result<index::MediaRecord> Resolve(const std::string& id);

  SyncProgress Progress() const;
  SyncStats Stats() const;

  // Record conversions (exposed for the namespace and tests).
  index::MediaRecord FromMedia(const vod::MediaInfo& m) const;
  index::MediaRecord FromImage(const vod::ImageInfo& i) const;

 private:
  struct Run;  // one sync's state (listing.cc)
  Status DoSync(bool full);
  // Full listing (listing.cc).
  Status FullSync(Run& run);
  Status ListKindFull(Run& run, index::MediaKind kind);
  Status ListImagesFull(Run& run);
  Status PlanImagePartitions(Run& run, int64_t lo, int64_t hi, int64_t count,
                             std::vector<std::pair<int64_t, int64_t>>* out);
  Result<std::vector<index::MediaRecord>> ImageRecords(Run& run, const std::vector<vod::ImageInfo>& page);
  // Incremental (listing.cc).
  Status IncrementalSync(Run& run);
  Status ListChanged(Run& run, index::MediaKind kind);
  Status CheckCounts(Run& run, index::MediaKind kind);
  Status Reconcile(Run& run, index::MediaKind kind, int64_t lo, int64_t hi, int64_t remote);
  Status Relist(Run& run, index::MediaKind kind, int64_t lo, int64_t hi);
  Status Consider(Run& run, index::MediaRecord rec);
  Result<int64_t> CountRemote(Run& run, index::MediaKind kind, int64_t lo, int64_t hi);
  Result<int64_t> CountLocal(Run& run, index::MediaKind kind, int64_t lo, int64_t hi);
  Status SyncCategories(Run& run, bool always);
  Status Commit(Run& run, bool full);
  // Orchestration (syncer.cc).
  void Deliver();
  void Loop();
  // Waits for announcements of other processes' commits (the watch thread).
  void Watch(std::unique_ptr<index::ChangeWatch> watch);
  // The writer lock is still this process's; counts a sync fenced off.
  bool StillLeader();
  // While leading: a sync asked for through the index (Request).
  void CheckRequests();
  // Notes whether the index's database answered (says so in the log once
  // per outage).
  void NoteIndexReachable(const Status& s);
  void NoteFailure(const Status& s);
  void SetPhase(const std::string& phase, int64_t total, int64_t done);
  void AddDone(int64_t n);
  bool StopRequested() const;
  // Progress as JSON, written to the index's meta so that other processes
  // (vodfs index status) can show it.
  std::string ProgressJson() const;

  vod::VodApi& api_;
  index::IndexStore& store_;
  Clock& clock_;
  Executor& io_;
  const SyncOptions options_;

  mutable Mutex mu_;
  CondVar cv_;
  ChangeListener* listener_ GUARDED_BY(mu_) = nullptr;
  SyncProgress progress_ GUARDED_BY(mu_);
  SyncStats stats_ GUARDED_BY(mu_);
  bool complete_ GUARDED_BY(mu_) = false;
  bool attempted_ GUARDED_BY(mu_) = false;  // a sync attempt ended since start
  Status last_failure_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  bool wanted_ GUARDED_BY(mu_) = false;
  bool wanted_full_ GUARDED_BY(mu_) = false;
  bool follow_wanted_ GUARDED_BY(mu_) = false;  // an announcement arrived
  std::string handled_request_ GUARDED_BY(mu_);  // the last "sync.requested" seen
  bool requests_seen_ GUARDED_BY(mu_) = false;
  std::unique_ptr<index::Database::WriterLock> lock_ GUARDED_BY(mu_);
  std::thread loop_;
  std::thread watch_;

  Mutex deliver_mu_ ACQUIRED_BEFORE(mu_);  // held while the listener runs
  int64_t delivered_seq_ GUARDED_BY(deliver_mu_) = -1;  // -1: not read yet
  Mutex stage_mu_;  // serialises the writers of parallel partitions
};

}  // namespace vodfs::sync
