// The listing steps of a sync: full listings by partitions, the
// incremental checks, the partition search for deletions, categories, and
// the commit of what was found.
#include <algorithm>
#include <latch>
#include <nlohmann/json.hpp>

#include "sync/run.h"
#include "vodfs/util/log.h"
#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"

namespace vodfs::sync {

using index::MediaKind;
using index::MediaRecord;
using nlohmann::json;

namespace {

// What the tree needs of a medium, not its snapshot URL lists.
constexpr const char* kMediaFields =
    "Title,Description,Tags,CateId,CateName,Duration,Size,Status,StorageClass,CreationTime,ModificationTime";
constexpr const char* kImageFields = "Title,Description,Tags,URL,CateId,CateName,Status,CreationTime,ModificationTime";
// The most SearchMedia returns per call.
constexpr int kPageSize = 100;
// Up to this many media are listed in one walk; more are cut in partitions
// walked in parallel (200 calls: 4 s at the documented 50 calls/s, when a
// round trip of 20 ms already keeps one walk at the limit).
constexpr int64_t kSingleWalk = 20000;
// Pages of a full listing are staged in transactions of this many media: one
// of 2,000 writes each index page it touches about once, where one per page
// of 100 wrote most of them twenty times (measured: twice the throughput).
// A killed listing resumes after the last one.
constexpr size_t kStageBatch = 2000;
// Images are paged without a ScrollToken, which reaches this far.
constexpr int64_t kImagePagedLimit = 5000;
// Image partitions are planned this full, so that one that grew a little
// since it was counted still pages completely.
constexpr int64_t kImagePartitionTarget = 4000;
// GetImageInfos takes this many ids.
constexpr size_t kImageBatch = 20;

std::string Iso(int64_t t) { return timefmt::FormatIso8601(std::max<int64_t>(t, 0)); }
std::string CreatedIn(int64_t lo, int64_t hi) { return "CreationTime = ['" + Iso(lo) + "','" + Iso(hi) + "')"; }

std::string StageKey(MediaKind k) { return std::string("stage.") + index::MediaKindName(k); }

// A CreationTime range of a full listing and how far its walk got.
struct Part {
  int64_t lo = 0, hi = 0, cursor = 0;
  bool done = false;
};

// Splits off the media of the batch's last second (a walk goes in creation
// order): they are staged with the next batch, and the walk's cursor is that
// second, so that a walk resumed from it (inclusive) lists no medium twice.
// A batch all of one second is staged whole (a resumed walk then lists that
// second again, and applying the stage settles the twice-listed media).
std::vector<MediaRecord> HoldBackLastSecond(std::vector<MediaRecord>* batch, int64_t* cursor) {
  if (batch->empty()) return {};
  const int64_t last = batch->back().creation_time;
  auto first_of_last = std::find_if(batch->begin(), batch->end(),
                                    [last](const MediaRecord& m) { return m.creation_time == last; });
  if (first_of_last == batch->begin()) {
    *cursor = last;
    return {};
  }
  std::vector<MediaRecord> held(std::make_move_iterator(first_of_last), std::make_move_iterator(batch->end()));
  batch->erase(first_of_last, batch->end());
  *cursor = last;
  return held;
}

json PartsJson(const std::vector<Part>& parts, int64_t total, bool done) {
  json p = json::array();
  for (const auto& x : parts) p.push_back({x.lo, x.hi, x.cursor, x.done});
  return {{"parts", p}, {"total", total}, {"done", done}};
}

}  // namespace

// ---------------------------------------------------------------------------
// Full listing

Status Syncer::FullSync(Run& run) {
  {
    auto active = store_.GetMeta("stage.started");
    if (!active.ok()) return active.status();
    if (!active->has_value()) {
      VODFS_ASSIGN_OR_RETURN(auto w, store_.Write());
      VODFS_RETURN_IF_ERROR(w.ClearStage());
      for (MediaKind k : index::kAllKinds) VODFS_RETURN_IF_ERROR(w.DeleteMeta(StageKey(k)));
      VODFS_RETURN_IF_ERROR(w.SetMeta("stage.started", std::to_string(run.started)));
      VODFS_RETURN_IF_ERROR(w.Commit());
    } else {
      VODFS_LOG(kInfo) << "Resuming the full listing of the library begun at " << Iso(str::ParseInt64(**active).value_or(0));
    }
  }
  VODFS_RETURN_IF_ERROR(ListKindFull(run, MediaKind::kVideo));
  VODFS_RETURN_IF_ERROR(ListKindFull(run, MediaKind::kAudio));
  VODFS_RETURN_IF_ERROR(ListImagesFull(run));
  return SyncCategories(run, true);
}

Status Syncer::ListKindFull(Run& run, MediaKind kind) {
  const std::string type = index::MediaKindName(kind);
  const std::string key = StageKey(kind);
  std::vector<Part> parts;
  int64_t total = 0;
  {
    VODFS_ASSIGN_OR_RETURN(auto saved, store_.GetMeta(key));
    if (saved) {
      json j = json::parse(*saved, nullptr, false);
      if (j.is_object() && j.value("done", false)) return Status::Ok();
      if (j.is_object() && j.contains("parts") && j["parts"].is_array()) {
        for (const auto& p : j["parts"]) {
          if (p.is_array() && p.size() == 4) parts.push_back({p[0].get<int64_t>(), p[1].get<int64_t>(),
                                                             p[2].get<int64_t>(), p[3].get<bool>()});
        }
        total = j.value("total", int64_t{0});
      }
    }
  }
  SetPhase(type, total, 0);
  if (parts.empty()) {
    // The first page (oldest first) says how many there are. A library
    // this size is walked on: partitions would cost calls of their own.
    vod::LibraryIterator it(run.api, type, kMediaFields, "CreationTime:Asc", kPageSize);
    std::vector<vod::MediaInfo> page;
    VODFS_ASSIGN_OR_RETURN(bool more, it.Next(&page));
    total = it.total();
    SetPhase(type, total, 0);
    const int64_t lo = page.empty() ? 0 : page.front().creation_time;
    int64_t cursor = page.empty() ? 0 : page.back().creation_time;
    const bool single = !more || total <= kSingleWalk || options_.partitions <= 1;
    std::vector<MediaRecord> batch;
    for (const auto& m : page) batch.push_back(FromMedia(m));
    AddDone(static_cast<int64_t>(page.size()));
    if (single) {
      // Walk on with this very iterator (its ScrollToken).
      parts.push_back({0, run.until, 0, false});
      while (true) {
        if (batch.size() >= kStageBatch || !more) {
          std::vector<MediaRecord> held = more ? HoldBackLastSecond(&batch, &cursor) : std::vector<MediaRecord>();
          parts[0].cursor = cursor;
          parts[0].done = !more;
          VODFS_ASSIGN_OR_RETURN(auto w, store_.Write(/*bulk=*/true));
          VODFS_RETURN_IF_ERROR(w.Stage(std::move(batch)));
          VODFS_RETURN_IF_ERROR(w.SetMeta(key, PartsJson(parts, total, !more).dump()));
          VODFS_RETURN_IF_ERROR(w.SetMeta("sync.progress", ProgressJson()));
          VODFS_RETURN_IF_ERROR(w.Commit());
          batch = std::move(held);
        }
        if (!more) return Status::Ok();
        if (StopRequested()) return Status(ErrorCode::kCancelled, "vodfs is stopping");
        VODFS_ASSIGN_OR_RETURN(more, it.Next(&page));
        for (const auto& m : page) batch.push_back(FromMedia(m));
        if (!page.empty()) cursor = std::max(cursor, page.back().creation_time);
        AddDone(static_cast<int64_t>(page.size()));
      }
    }
    // The first page is staged but for its last second, which the first
    // partition lists again from its start.
    {
      HoldBackLastSecond(&batch, &cursor);
      VODFS_ASSIGN_OR_RETURN(auto w, store_.Write(/*bulk=*/true));
      VODFS_RETURN_IF_ERROR(w.Stage(std::move(batch)));
      VODFS_RETURN_IF_ERROR(w.Commit());
    }
    // A large library: the newest medium bounds the partitions (1 call),
    // each walked in parallel from where the first page stopped.
    vod::SearchRequest r;
    r.search_type = type;
    r.page_size = 1;
    r.sort_by = "CreationTime:Desc";
    VODFS_ASSIGN_OR_RETURN(vod::SearchPage last, run.api.SearchMedia(r));
    const int64_t hi = (last.media.empty() ? lo : last.media.front().creation_time) + 1;
    const int64_t n = std::clamp<int64_t>(total / kSingleWalk + 1, 1, options_.partitions);
    const int64_t step = std::max<int64_t>(1, (hi - cursor + n - 1) / n);
    for (int64_t i = 0; i < n; ++i) {
      Part p;
      // The first goes on from the first page; the last ends past now:
      // nothing indexed meanwhile falls outside every partition.
      p.lo = i == 0 ? 0 : cursor + i * step;
      p.hi = i == n - 1 ? run.until : cursor + (i + 1) * step;
      p.cursor = i == 0 ? cursor : p.lo;
      parts.push_back(p);
    }
    VODFS_ASSIGN_OR_RETURN(auto w, store_.Write());
    VODFS_RETURN_IF_ERROR(w.SetMeta(key, PartsJson(parts, total, false).dump()));
    VODFS_RETURN_IF_ERROR(w.Commit());
  }
  SetPhase(type, total, 0);
  {
    VODFS_ASSIGN_OR_RETURN(int64_t staged, store_.CountStaged(kind));
    AddDone(staged);
  }
  if (std::all_of(parts.begin(), parts.end(), [](const Part& p) { return p.done; })) {
    VODFS_ASSIGN_OR_RETURN(auto w, store_.Write());
    VODFS_RETURN_IF_ERROR(w.SetMeta(key, PartsJson(parts, total, true).dump()));
    return w.Commit();
  }

  // Each partition walks on its own with a ScrollToken; every page is
  // staged together with where its walk got.
  std::vector<Status> results(parts.size());
  std::latch done(static_cast<std::ptrdiff_t>(parts.size()));
  for (size_t i = 0; i < parts.size(); ++i) {
    io_.Post([&, i] {
      results[i] = [&]() -> Status {
        if (parts[i].done) return Status::Ok();
        int64_t cursor = 0, hi = 0;
        {
          MutexLock lock(&stage_mu_);
          cursor = parts[i].cursor;
          hi = parts[i].hi;
        }
        vod::LibraryIterator it(run.api, type, kMediaFields, "CreationTime:Asc", kPageSize, CreatedIn(cursor, hi));
        std::vector<vod::MediaInfo> page;
        std::vector<MediaRecord> batch;
        int64_t batch_cursor = cursor;
        while (true) {
          VODFS_ASSIGN_OR_RETURN(bool more, it.Next(&page));
          for (const auto& m : page) batch.push_back(FromMedia(m));
          if (!page.empty()) batch_cursor = std::max(batch_cursor, page.back().creation_time);
          if (batch.size() >= kStageBatch || !more) {
            std::vector<MediaRecord> held =
                more ? HoldBackLastSecond(&batch, &batch_cursor) : std::vector<MediaRecord>();
            MutexLock lock(&stage_mu_);
            parts[i].cursor = batch_cursor;
            if (!more) parts[i].done = true;
            VODFS_ASSIGN_OR_RETURN(auto w, store_.Write(/*bulk=*/true));
            VODFS_RETURN_IF_ERROR(w.Stage(std::move(batch)));
            VODFS_RETURN_IF_ERROR(w.SetMeta(key, PartsJson(parts, total, false).dump()));
            VODFS_RETURN_IF_ERROR(w.SetMeta("sync.progress", ProgressJson()));
            VODFS_RETURN_IF_ERROR(w.Commit());
            batch = std::move(held);
          }
          AddDone(static_cast<int64_t>(page.size()));
          if (!more) return Status::Ok();
          if (StopRequested()) return Status(ErrorCode::kCancelled, "vodfs is stopping");
        }
      }();
      done.count_down();
    });
  }
  done.wait();
  for (const Status& s : results) VODFS_RETURN_IF_ERROR(s);
  VODFS_ASSIGN_OR_RETURN(auto w, store_.Write());
  VODFS_RETURN_IF_ERROR(w.SetMeta(key, PartsJson(parts, total, true).dump()));
  return w.Commit();
}

// Images cannot be walked with a ScrollToken: CreationTime partitions of at
// most 5,000 are counted (one call each, the last by subtraction) and paged.
Status Syncer::ListImagesFull(Run& run) {
  const std::string key = StageKey(MediaKind::kImage);
  {
    VODFS_ASSIGN_OR_RETURN(auto saved, store_.GetMeta(key));
    if (saved) {
      json j = json::parse(*saved, nullptr, false);
      if (j.is_object() && j.value("done", false)) return Status::Ok();
    }
    // A half-listed set of images is listed again: the pages of plain
    // paging do not resume.
    VODFS_ASSIGN_OR_RETURN(auto w, store_.Write());
    VODFS_RETURN_IF_ERROR(w.ClearStaged(MediaKind::kImage));
    VODFS_RETURN_IF_ERROR(w.Commit());
  }
  vod::SearchRequest r;
  r.search_type = "image";
  r.page_size = 1;
  r.sort_by = "CreationTime:Asc";
  VODFS_ASSIGN_OR_RETURN(vod::SearchPage first, run.api.SearchMedia(r));
  SetPhase("images", first.total, 0);
  std::vector<std::pair<int64_t, int64_t>> ranges;
  if (first.total > 0 && !first.images.empty()) {
    if (first.total <= kImagePartitionTarget) {
      ranges.emplace_back(0, run.until);
    } else {
      r.sort_by = "CreationTime:Desc";
      VODFS_ASSIGN_OR_RETURN(vod::SearchPage last, run.api.SearchMedia(r));
      const int64_t lo = first.images.front().creation_time;
      const int64_t hi = (last.images.empty() ? lo : last.images.front().creation_time) + 1;
      VODFS_RETURN_IF_ERROR(PlanImagePartitions(run, lo, hi, first.total, &ranges));
      ranges.front().first = 0;
      ranges.back().second = run.until;
    }
  }
  for (const auto& [lo, hi] : ranges) {
    vod::LibraryIterator it(run.api, "image", kImageFields, "CreationTime:Asc", kPageSize, CreatedIn(lo, hi));
    std::vector<vod::MediaInfo> unused;
    std::vector<vod::ImageInfo> page;
    while (true) {
      VODFS_ASSIGN_OR_RETURN(bool more, it.Next(&unused, &page));
      VODFS_ASSIGN_OR_RETURN(std::vector<MediaRecord> records, ImageRecords(run, page));
      {
        MutexLock lock(&stage_mu_);
        VODFS_ASSIGN_OR_RETURN(auto w, store_.Write());
        VODFS_RETURN_IF_ERROR(w.Stage(std::move(records)));
        VODFS_RETURN_IF_ERROR(w.SetMeta("sync.progress", ProgressJson()));
        VODFS_RETURN_IF_ERROR(w.Commit());
      }
      AddDone(static_cast<int64_t>(page.size()));
      if (!more) break;
      if (StopRequested()) return Status(ErrorCode::kCancelled, "vodfs is stopping");
    }
  }
  VODFS_ASSIGN_OR_RETURN(auto w, store_.Write());
  VODFS_RETURN_IF_ERROR(w.SetMeta(key, PartsJson({}, first.total, true).dump()));
  return w.Commit();
}

Status Syncer::PlanImagePartitions(Run& run, int64_t lo, int64_t hi, int64_t count,
                                   std::vector<std::pair<int64_t, int64_t>>* out) {
  if (count <= kImagePartitionTarget) {
    out->emplace_back(lo, hi);
    return Status::Ok();
  }
  if (hi - lo <= 1) {
    if (count <= kImagePagedLimit) {
      out->emplace_back(lo, hi);
      return Status::Ok();
    }
    return Status(ErrorCode::kOutOfRange, "more than 5,000 images were created in the second " + Iso(lo) +
                                              ": SearchMedia cannot page them");
  }
  // Split in k equal spans of time, each counted (the last by subtraction).
  const int64_t k = (count + kImagePartitionTarget - 1) / kImagePartitionTarget;
  const int64_t step = std::max<int64_t>(1, (hi - lo + k - 1) / k);
  int64_t left = count;
  for (int64_t a = lo; a < hi; a += step) {
    const int64_t b = std::min(hi, a + step);
    int64_t c = left;
    if (b < hi) {
      VODFS_ASSIGN_OR_RETURN(c, CountRemote(run, MediaKind::kImage, a, b));
    }
    left -= c;
    if (c > 0) VODFS_RETURN_IF_ERROR(PlanImagePartitions(run, a, b, c, out));
  }
  return Status::Ok();
}

// Images with their file size and original name (GetImageInfos, 20 per
// call), except those the index already holds at the same modification time.
Result<std::vector<MediaRecord>> Syncer::ImageRecords(Run& run, const std::vector<vod::ImageInfo>& page) {
  std::vector<MediaRecord> out;
  std::vector<std::string> need;
  std::vector<size_t> need_at;
  for (const auto& img : page) {
    MediaRecord rec = FromImage(img);
    VODFS_ASSIGN_OR_RETURN(auto known, store_.MediaById(img.id));
    if (known && known->modification_time == rec.modification_time && known->size > 0) {
      rec.size = known->size;
      rec.file_name = known->file_name;
      rec.width = known->width;
      rec.height = known->height;
      rec.image_type = known->image_type;
      rec.name = known->name;
    } else {
      need.push_back(img.id);
      need_at.push_back(out.size());
    }
    out.push_back(std::move(rec));
  }
  for (size_t b = 0; b < need.size(); b += kImageBatch) {
    vod::ImageRequest r;
    r.image_ids.assign(need.begin() + static_cast<std::ptrdiff_t>(b),
                       need.begin() + static_cast<std::ptrdiff_t>(std::min(need.size(), b + kImageBatch)));
    VODFS_ASSIGN_OR_RETURN(vod::ImageInfos infos, run.api.GetImageInfos(r));
    for (const auto& info : infos.images) {
      for (size_t k = b; k < std::min(need.size(), b + kImageBatch); ++k) {
        if (need[k] != info.id) continue;
        MediaRecord& rec = out[need_at[k]];
        vod::ImageInfo merged = info;
        if (merged.title.empty()) merged.title = rec.title;
        if (!merged.modification_time) merged.modification_time = rec.modification_time;
        if (!merged.creation_time) merged.creation_time = rec.creation_time;
        rec = FromImage(merged);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Incremental

Status Syncer::IncrementalSync(Run& run) {
  for (MediaKind kind : index::kAllKinds) {
    SetPhase(std::string("changes of ") + index::MediaKindName(kind), 0, 0);
    VODFS_RETURN_IF_ERROR(ListChanged(run, kind));
    if (run.needs_full) return Status::Ok();
    VODFS_RETURN_IF_ERROR(CheckCounts(run, kind));
    if (run.needs_full) return Status::Ok();
  }
  SetPhase("categories", 0, 0);
  return SyncCategories(run, false);
}

Status Syncer::Consider(Run& run, MediaRecord rec) {
  VODFS_ASSIGN_OR_RETURN(auto known, store_.MediaById(rec.id));
  MutexLock lock(&run.mu);
  int64_t& newest = run.newest[rec.kind];
  newest = std::max(newest, rec.modification_time);
  if (known && known->SameContent(rec)) return Status::Ok();
  if (!known) run.fresh.insert(rec.id);
  run.deletes.erase(rec.id);
  std::string id = rec.id;
  run.upserts[id] = std::move(rec);
  return Status::Ok();
}

Status Syncer::ListChanged(Run& run, MediaKind kind) {
  const std::string type = index::MediaKindName(kind);
  VODFS_ASSIGN_OR_RETURN(auto newest, store_.GetMeta("sync.newest." + type));
  const int64_t since = std::max<int64_t>(0, str::ParseInt64(newest.value_or("0")).value_or(0) - options_.overlap);
  const std::string match = "ModificationTime = ['" + Iso(since) + "','" + Iso(run.until) + "']";
  vod::LibraryIterator it(run.api, type, kind == MediaKind::kImage ? kImageFields : kMediaFields, "CreationTime:Asc",
                          kPageSize, match);
  std::vector<vod::MediaInfo> media;
  std::vector<vod::ImageInfo> images;
  while (true) {
    auto more = it.Next(&media, &images);
    if (!more.ok() && more.code() == ErrorCode::kOutOfRange) {
      // More than 5,000 images changed since the last sync: only a full
      // listing pages them all.
      run.needs_full = true;
      return Status::Ok();
    }
    if (!more.ok()) return more.status();
    if (kind == MediaKind::kImage) {
      VODFS_ASSIGN_OR_RETURN(auto records, ImageRecords(run, images));
      for (auto& r : records) VODFS_RETURN_IF_ERROR(Consider(run, std::move(r)));
    } else {
      for (const auto& m : media) VODFS_RETURN_IF_ERROR(Consider(run, FromMedia(m)));
    }
    AddDone(static_cast<int64_t>(media.size() + images.size()));
    if (!*more) break;
  }
  if (it.total() > 0) {
    VODFS_LOG(kInfo) << it.total() << " " << type << " media changed since " << Iso(since);
  }
  return Status::Ok();
}

Result<int64_t> Syncer::CountRemote(Run& run, MediaKind kind, int64_t lo, int64_t hi) {
  vod::SearchRequest r;
  r.search_type = index::MediaKindName(kind);
  r.page_size = 1;
  if (lo > 0 || hi < run.until) r.match = CreatedIn(lo, hi);
  VODFS_ASSIGN_OR_RETURN(vod::SearchPage p, run.api.SearchMedia(r));
  return p.total;
}

Result<int64_t> Syncer::CountLocal(Run& run, MediaKind kind, int64_t lo, int64_t hi) {
  VODFS_ASSIGN_OR_RETURN(int64_t n, store_.CountMediaCreated(kind, lo, hi));
  MutexLock lock(&run.mu);
  for (const auto& id : run.fresh) {
    const MediaRecord& m = run.upserts.at(id);
    if (m.kind == kind && m.creation_time >= lo && m.creation_time < hi) ++n;
  }
  return n;
}

Status Syncer::CheckCounts(Run& run, MediaKind kind) {
  VODFS_ASSIGN_OR_RETURN(int64_t remote, CountRemote(run, kind, 0, run.until));
  return Reconcile(run, kind, 0, run.until, remote);
}

Status Syncer::Reconcile(Run& run, MediaKind kind, int64_t lo, int64_t hi, int64_t remote) {
  VODFS_ASSIGN_OR_RETURN(int64_t local, CountLocal(run, kind, lo, hi));
  if (local == remote) return Status::Ok();
  if (local <= options_.leaf || remote <= options_.leaf || hi - lo <= 1) return Relist(run, kind, lo, hi);
  // Split where half of the indexed media of the range are, so that both
  // halves hold about as many.
  VODFS_ASSIGN_OR_RETURN(int64_t indexed, store_.CountMediaCreated(kind, lo, hi));
  VODFS_ASSIGN_OR_RETURN(auto at, store_.CreationTimeAt(kind, lo, hi, indexed / 2));
  int64_t mid = at.value_or(lo + (hi - lo) / 2);
  if (mid <= lo) mid = lo + 1;
  if (mid >= hi) mid = hi - 1;
  VODFS_ASSIGN_OR_RETURN(int64_t left, CountRemote(run, kind, lo, mid));
  VODFS_RETURN_IF_ERROR(Reconcile(run, kind, lo, mid, left));
  return Reconcile(run, kind, mid, hi, remote - left);
}

Status Syncer::Relist(Run& run, MediaKind kind, int64_t lo, int64_t hi) {
  const std::string type = index::MediaKindName(kind);
  vod::LibraryIterator it(run.api, type, kind == MediaKind::kImage ? kImageFields : kMediaFields, "CreationTime:Asc",
                          kPageSize, CreatedIn(lo, hi));
  std::unordered_set<std::string> listed;
  std::vector<vod::MediaInfo> media;
  std::vector<vod::ImageInfo> images;
  while (true) {
    VODFS_ASSIGN_OR_RETURN(bool more, it.Next(&media, &images));
    if (kind == MediaKind::kImage) {
      VODFS_ASSIGN_OR_RETURN(auto records, ImageRecords(run, images));
      for (auto& r : records) {
        listed.insert(r.id);
        VODFS_RETURN_IF_ERROR(Consider(run, std::move(r)));
      }
    } else {
      for (const auto& m : media) {
        listed.insert(m.id);
        VODFS_RETURN_IF_ERROR(Consider(run, FromMedia(m)));
      }
    }
    if (!more) break;
  }
  VODFS_ASSIGN_OR_RETURN(auto indexed, store_.MediaCreated(kind, lo, hi));
  MutexLock lock(&run.mu);
  for (const auto& m : indexed) {
    if (!listed.count(m.id) && !run.upserts.count(m.id)) run.deletes.insert(m.id);
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Categories

Status Syncer::SyncCategories(Run& run, bool always) {
  auto list = [&run](int64_t cate_id, std::vector<vod::Category>* out) -> Status {
    for (int page = 1;; ++page) {
      vod::CategoryRequest r;
      r.cate_id = cate_id;
      r.page_no = page;
      r.page_size = 100;
      VODFS_ASSIGN_OR_RETURN(vod::CategoryPage p, run.api.GetCategories(r));
      const size_t got = p.children.size();
      for (auto& c : p.children) out->push_back(std::move(c));
      if (got < 100) return Status::Ok();
      if (p.sub_total > 0 && static_cast<int64_t>(out->size()) >= p.sub_total) return Status::Ok();
    }
  };
  VODFS_ASSIGN_OR_RETURN(std::vector<index::CategoryRecord> indexed, store_.Categories());
  std::vector<vod::Category> top;
  VODFS_RETURN_IF_ERROR(list(-1, &top));
  if (!always) {
    // The first level as indexed? Deeper changes wait for the next full sync.
    std::set<std::pair<int64_t, std::string>> now, before;
    for (const auto& c : top) now.emplace(c.id, c.name);
    for (const auto& c : indexed) {
      if (c.parent_id < 0) before.emplace(c.id, c.name);
    }
    if (now == before) return Status::Ok();
  }
  std::vector<index::CategoryRecord> all;
  std::vector<vod::Category> queue = top;
  for (auto& c : queue) c.parent_id = -1;
  for (size_t i = 0; i < queue.size(); ++i) {
    const vod::Category c = queue[i];
    all.push_back({c.id, c.parent_id < 0 ? -1 : c.parent_id, c.name, c.level});
    // Three levels at most; a category without subcategories costs no call.
    if (c.sub_total <= 0 || c.level >= 2) continue;
    std::vector<vod::Category> subs;
    VODFS_RETURN_IF_ERROR(list(c.id, &subs));
    for (auto& s : subs) {
      s.parent_id = c.id;
      queue.push_back(std::move(s));
    }
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  run.categories_listed = true;
  run.categories_changed = all.size() != indexed.size() ||
                           !std::equal(all.begin(), all.end(), indexed.begin(), [](const auto& a, const auto& b) {
                             return a.id == b.id && a.parent_id == b.parent_id && a.name == b.name &&
                                    a.level == b.level;
                           });
  run.categories = std::move(all);
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Commit

Status Syncer::Commit(Run& run, bool full) {
  SetPhase("applying", 0, 0);
  std::vector<index::ChangeRecord> changes;
  VODFS_ASSIGN_OR_RETURN(auto w, store_.Write(/*bulk=*/true));
  std::map<MediaKind, int64_t> newest;
  if (full) {
    for (MediaKind k : index::kAllKinds) {
      VODFS_RETURN_IF_ERROR(w.connection()
                                .Run("SELECT max(modification_time) FROM media_next WHERE kind = ?",
                                     {static_cast<int64_t>(k)},
                                     [&newest, k](const index::Row& r) {
                                       if (!r.IsNull(0)) newest[k] = r.Int(0);
                                     })
                                .status());
    }
    VODFS_RETURN_IF_ERROR(w.ApplyStage({index::kAllKinds[0], index::kAllKinds[1], index::kAllKinds[2]},
                                       options_.max_logged_changes, &changes));
    VODFS_ASSIGN_OR_RETURN(auto gen, store_.GetMeta("sync.generation"));
    VODFS_RETURN_IF_ERROR(
        w.SetMeta("sync.generation", std::to_string(str::ParseInt64(gen.value_or("0")).value_or(0) + 1)));
    VODFS_RETURN_IF_ERROR(w.SetMeta("sync.full_at", std::to_string(run.started)));
    VODFS_RETURN_IF_ERROR(w.DeleteMeta("stage.started"));
    for (MediaKind k : index::kAllKinds) VODFS_RETURN_IF_ERROR(w.DeleteMeta(StageKey(k)));
  } else {
    std::vector<MediaRecord> upserts;
    std::vector<std::string> deletes;
    {
      MutexLock lock(&run.mu);
      for (auto& [id, rec] : run.upserts) upserts.push_back(rec);
      deletes.assign(run.deletes.begin(), run.deletes.end());
      newest = run.newest;
    }
    std::sort(upserts.begin(), upserts.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    for (size_t i = 0; i < upserts.size(); i += 500) {
      std::vector<MediaRecord> batch(upserts.begin() + static_cast<std::ptrdiff_t>(i),
                                     upserts.begin() + static_cast<std::ptrdiff_t>(std::min(upserts.size(), i + 500)));
      VODFS_RETURN_IF_ERROR(w.UpsertMedia(std::move(batch), &changes));
    }
    VODFS_RETURN_IF_ERROR(w.DeleteMedia(deletes, &changes));
  }
  for (const auto& [k, t] : newest) {
    const std::string key = std::string("sync.newest.") + index::MediaKindName(k);
    VODFS_ASSIGN_OR_RETURN(auto before, store_.GetMeta(key));
    const int64_t prev = str::ParseInt64(before.value_or("0")).value_or(0);
    if (full || t > prev) VODFS_RETURN_IF_ERROR(w.SetMeta(key, std::to_string(full ? t : std::max(t, prev))));
  }
  {
    // The library's time: the newest medium's (the root's mtime).
    int64_t lib = 0;
    VODFS_ASSIGN_OR_RETURN(auto before, store_.GetMeta("library.mtime"));
    if (!full) lib = str::ParseInt64(before.value_or("0")).value_or(0);
    for (const auto& [k, t] : newest) lib = std::max(lib, t);
    VODFS_RETURN_IF_ERROR(w.SetMeta("library.mtime", std::to_string(lib)));
  }
  if (run.categories_listed && run.categories_changed) {
    VODFS_RETURN_IF_ERROR(w.ReplaceCategories(run.categories));
    index::ChangeRecord c;
    c.op = index::ChangeRecord::Op::kCategories;
    changes.push_back(std::move(c));
  }
  if (changes.size() > options_.max_logged_changes) {
    std::set<MediaKind> kinds;
    bool categories = false;
    for (const auto& c : changes) {
      if (c.op == index::ChangeRecord::Op::kCategories) {
        categories = true;
      } else {
        kinds.insert(c.kind);
      }
    }
    changes.clear();
    for (MediaKind k : kinds) {
      index::ChangeRecord c;
      c.op = index::ChangeRecord::Op::kReset;
      c.kind = k;
      changes.push_back(std::move(c));
    }
    if (categories) {
      index::ChangeRecord c;
      c.op = index::ChangeRecord::Op::kCategories;
      changes.push_back(std::move(c));
    }
  }
  for (auto& c : changes) c.at = run.started;
  VODFS_RETURN_IF_ERROR(w.SetMeta("sync.at", std::to_string(clock_.UnixNow())));
  {
    // Tells two syncs of one second apart (vodfs index sync waits for "the
    // next sync" of another process).
    VODFS_ASSIGN_OR_RETURN(auto serial, store_.GetMeta("sync.serial"));
    VODFS_RETURN_IF_ERROR(
        w.SetMeta("sync.serial", std::to_string(str::ParseInt64(serial.value_or("0")).value_or(0) + 1)));
  }
  VODFS_RETURN_IF_ERROR(w.SetMeta("sync.identity", options_.identity));
  VODFS_RETURN_IF_ERROR(w.SetMeta("sync.name_scheme", options_.id_names ? "id" : "title-id"));
  VODFS_RETURN_IF_ERROR(w.DeleteMeta("sync.progress"));
  VODFS_RETURN_IF_ERROR(w.SetMeta("sync.last_error", ""));
  VODFS_RETURN_IF_ERROR(w.SetMeta("sync.offline_since", "0"));
  VODFS_RETURN_IF_ERROR(w.LogChanges(&changes));
  // Fenced: a process that lost the writer lock while it listed (its
  // session cut, another mount syncing now) does not commit what it found.
  if (!StillLeader()) {
    return Status(ErrorCode::kAborted, "this mount lost the writer lock of the index while it synced");
  }
  const MonoTime committing = clock_.Now();
  VODFS_RETURN_IF_ERROR(w.Commit());
  VODFS_LOG(kDebug) << "commit of the sync took " << std::chrono::duration<double>(clock_.Now() - committing).count()
                    << " s";
  MutexLock lock(&mu_);
  stats_.last_changes = static_cast<int64_t>(changes.size());
  return Status::Ok();
}

}  // namespace vodfs::sync
