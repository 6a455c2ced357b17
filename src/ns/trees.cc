// The directory tree of each medium: from the hot set, the index, or the
// API (once for every caller at the same time), kept true after
// `details_ttl` in the background, and corrected by what the origin says.
#include <algorithm>
#include <map>

#include "ns/media_source.h"
#include "ns/media_tree.h"
#include "vodfs/ns/namespace.h"
#include "vodfs/util/log.h"

namespace vodfs::ns {

using index::MediaKind;
using index::MediaRecord;

// One fetch of a tree that later callers wait for instead of fetching again.
struct Flight {
  Mutex mu;
  CondVar cv;
  bool done GUARDED_BY(mu) = false;
  Result<std::shared_ptr<const MediaTree>> result GUARDED_BY(mu) = Error(ErrorCode::kInternal, "not done");
};

namespace {

std::string HlsKey(const MediaRecord& m, const TreeNode& dir) { return m.id + "/hls/" + dir.ref.job_id; }

}  // namespace

Result<Namespace::TreePtr> Namespace::Tree(const MediaRecord& m) {
  if (m.kind == MediaKind::kImage) return Error(ErrorCode::kNotADirectory, "an image is a file");
  if (TreePtr hot = hot_.Get(m.id); hot && hot->modification_time == m.modification_time) {
    if (clock_.UnixNow() - hot->fetched_at >= options_.details_ttl) RefreshInBackground(m, hot);
    return hot;
  }
  std::shared_ptr<Flight> flight;
  bool mine = false;
  {
    MutexLock lock(&mu_);
    auto& f = flights_[m.id];
    if (!f) {
      f = std::make_shared<Flight>();
      mine = true;
    }
    flight = f;
  }
  if (!mine) {
    MutexLock lock(&flight->mu);
    while (!flight->done) flight->cv.Wait(&flight->mu);
    return flight->result;
  }
  Result<TreePtr> r = LoadTree(m);
  {
    MutexLock lock(&mu_);
    flights_.erase(m.id);
  }
  {
    MutexLock lock(&flight->mu);
    flight->result = r;
    flight->done = true;
  }
  flight->cv.SignalAll();
  return r;
}

Result<Namespace::TreePtr> Namespace::LoadTree(const MediaRecord& m) {
  const int64_t now = clock_.UnixNow();
  std::optional<MediaTree> stored;
  {
    auto d = store_.Details(m.id);
    if (!d.ok()) return d.error();
    if (*d) {
      auto parsed = MediaTree::Parse((*d)->body);
      if (parsed.ok()) {
        stored = std::move(parsed).value();
      } else {
        VODFS_LOG(kWarn) << "Cannot use the index's details of " << m.id << " (" << parsed.error().message
                         << "); asking the API again";
      }
    }
  }
  if (stored && stored->modification_time == m.modification_time) {
    auto t = std::make_shared<const MediaTree>(std::move(*stored));
    hot_.Put(m.id, t, t->Bytes());
    {
      MutexLock lock(&mu_);
      ++stats_.details_loaded;
    }
    if (now - t->fetched_at >= options_.details_ttl) RefreshInBackground(m, t);
    return TreePtr(t);
  }
  uint64_t probes = 0;
  MediaSource source(api_, broker_, origin_, executor_, options_);
  Result<MediaTree> fetched = source.Fetch(m, now, &probes);
  {
    MutexLock lock(&mu_);
    stats_.probes += probes;
  }
  if (!fetched.ok()) {
    if (fetched.code() != ErrorCode::kNotFound && stored) {
      // Offline (or failing): what the index knew is better than nothing.
      VODFS_LOG(kWarn) << "Cannot fetch the details of " << m.id << ": " << fetched.error().ToString()
                       << "; serving the ones indexed before its last change";
      auto t = std::make_shared<const MediaTree>(std::move(*stored));
      hot_.Put(m.id, t, t->Bytes());
      return TreePtr(t);
    }
    VODFS_LOG(kWarn) << "Cannot list the directory of " << m.id << ": " << fetched.error().ToString();
    return fetched.error();
  }
  auto t = std::make_shared<const MediaTree>(std::move(fetched).value());
  if (Status s = Persist(*t, std::nullopt); !s.ok()) {
    VODFS_LOG(kWarn) << "Cannot keep the details of " << m.id << " in the index: " << s.ToString();
  }
  hot_.Put(m.id, t, t->Bytes());
  {
    MutexLock lock(&mu_);
    ++stats_.details_fetched;
  }
  return TreePtr(t);
}

Result<Namespace::TreePtr> Namespace::FillHls(const MediaRecord& m, TreePtr tree, uint16_t local) {
  const TreeNode* dir = tree->Find(local);
  if (!dir || dir->dir_type != DirType::kHls) return Error(ErrorCode::kInternal, "not an HLS directory");
  if (dir->filled) return tree;
  const std::string key = HlsKey(m, *dir);
  std::shared_ptr<Flight> flight;
  bool mine = false;
  {
    MutexLock lock(&mu_);
    auto& f = flights_[key];
    if (!f) {
      f = std::make_shared<Flight>();
      mine = true;
    }
    flight = f;
  }
  if (!mine) {
    MutexLock lock(&flight->mu);
    while (!flight->done) flight->cv.Wait(&flight->mu);
    return flight->result;
  }
  auto fill = [&]() -> Result<TreePtr> {
    auto copy = std::make_shared<MediaTree>(*tree);
    auto d = store_.Details(key);
    if (!d.ok()) return d.error();
    if (*d && (*d)->modification_time == m.modification_time) {
      if (Status s = copy->AttachSerialized(local, (*d)->body); s.ok()) {
        TreePtr t = copy;
        hot_.Put(m.id, t, t->Bytes());
        return t;
      } else {
        VODFS_LOG(kWarn) << "Cannot use the index's details of " << key << " (" << s.error().message << ")";
        copy = std::make_shared<MediaTree>(*tree);
      }
    }
    uint64_t probes = 0;
    MediaSource source(api_, broker_, origin_, executor_, options_);
    auto specs = source.FetchHls(m, *dir, &probes);
    {
      MutexLock lock(&mu_);
      stats_.probes += probes;
    }
    if (!specs.ok()) return specs.error();
    VODFS_RETURN_IF_ERROR(copy->Attach(local, std::move(specs).value()));
    if (Status s = Persist(*copy, local); !s.ok()) {
      VODFS_LOG(kWarn) << "Cannot keep the details of " << key << " in the index: " << s.ToString();
    }
    TreePtr t = copy;
    hot_.Put(m.id, t, t->Bytes());
    return t;
  };
  Result<TreePtr> r = fill();
  {
    MutexLock lock(&mu_);
    flights_.erase(key);
  }
  {
    MutexLock lock(&flight->mu);
    flight->result = r;
    flight->done = true;
  }
  flight->cv.SignalAll();
  return r;
}

Status Namespace::Persist(const MediaTree& t, std::optional<uint16_t> hls) {
  VODFS_ASSIGN_OR_RETURN(auto w, store_.Write());
  if (hls) {
    const TreeNode* dir = t.Find(*hls);
    if (!dir) return Status(ErrorCode::kInternal, "no HLS directory to keep");
    VODFS_RETURN_IF_ERROR(w.PutDetails({t.media_id + "/hls/" + dir->ref.job_id, t.media_id, t.modification_time,
                                        t.fetched_at, t.SerializeChildren(*hls)}));
  } else {
    // New details of the medium: its HLS streams are read again with them.
    VODFS_RETURN_IF_ERROR(w.DropDetails(t.media_id));
    VODFS_RETURN_IF_ERROR(w.PutDetails({t.media_id, t.media_id, t.modification_time, t.fetched_at, t.Serialize()}));
  }
  return w.Commit();
}

void Namespace::RefreshInBackground(const MediaRecord& m, TreePtr old) {
  {
    MutexLock lock(&mu_);
    if (refreshing_.count(m.id)) return;
    refreshing_[m.id] = true;
  }
  refresher_.Post([this, m, old] {
    uint64_t probes = 0;
    MediaSource source(api_, broker_, origin_, executor_, options_);
    Result<MediaTree> fresh = source.Fetch(m, clock_.UnixNow(), &probes);
    std::vector<std::pair<Ino, std::string>> entries;
    std::vector<Ino> inodes;
    if (fresh.ok()) {
      auto t = std::make_shared<const MediaTree>(std::move(fresh).value());
      if (Status s = Persist(*t, std::nullopt); !s.ok()) {
        VODFS_LOG(kWarn) << "Cannot keep the details of " << m.id << " in the index: " << s.ToString();
      }
      hot_.Put(m.id, t, t->Bytes());
      // What differs is what the kernel must forget.
      std::map<std::string, const TreeNode*> now;
      for (const auto& n : t->nodes()) now[n.key] = &n;
      for (const auto& n : old->nodes()) {
        if (n.local == kSelfLocal) continue;
        auto it = now.find(n.key);
        const bool same = it != now.end() && it->second->name == n.name && it->second->size == n.size &&
                          it->second->mtime == n.mtime && it->second->text == n.text &&
                          it->second->local == n.local && it->second->parent == n.parent;
        if (!same) {
          entries.emplace_back(MakeIno(m.ino, n.parent), n.name);
          inodes.push_back(MakeIno(m.ino, n.local));
        }
      }
      for (const auto& n : t->nodes()) {
        if (n.local != kSelfLocal && !old->Find(n.local)) entries.emplace_back(MakeIno(m.ino, n.parent), n.name);
      }
      MutexLock lock(&mu_);
      ++stats_.details_refreshed;
      stats_.probes += probes;
    } else {
      VODFS_LOG(kWarn) << "Cannot refresh the details of " << m.id << ": " << fresh.error().ToString();
    }
    {
      MutexLock lock(&mu_);
      refreshing_.erase(m.id);
    }
    Notify(entries, inodes);
  });
}

void Namespace::CorrectSize(Ino ino, uint64_t size) {
  if (IsFixed(ino) || IsCategory(ino)) return;
  auto rec = Record(PrefixOf(ino));
  if (!rec.ok() || !*rec) return;
  const MediaRecord& m = **rec;
  const uint16_t local = LocalOf(ino);
  if (local == kSelfLocal && m.kind == MediaKind::kImage) {
    if (static_cast<uint64_t>(m.size) == size) return;
    VODFS_LOG(kInfo) << "The origin says image " << m.id << " has " << size << " bytes, not " << m.size
                     << "; the origin wins";
    auto w = store_.Write();
    if (w.ok() && w->SetMediaSize(m.id, static_cast<int64_t>(size)).ok()) (void)w->Commit();
    records_.Erase(m.ino);
    InvalidateContent(ino);
    return;
  }
  if (m.kind == MediaKind::kImage || local >= kByIdLocal) return;
  auto tree = Tree(m);
  if (!tree.ok()) return;
  const TreeNode* node = (*tree)->Find(local);
  if (!node || node->size == size) return;
  VODFS_LOG(kInfo) << "The origin says " << node->name << " of " << m.id << " has " << size << " bytes, not "
                   << node->size << "; the origin wins";
  auto copy = std::make_shared<MediaTree>(**tree);
  copy->Mutable(local)->size = size;
  const TreeNode* parent = copy->Find(node->parent);
  std::optional<uint16_t> hls;
  if (parent && parent->dir_type == DirType::kHls) hls = parent->local;
  // Keep the HLS streams' details when only a size changes.
  Status s = hls ? Persist(*copy, hls) : [&]() -> Status {
    VODFS_ASSIGN_OR_RETURN(auto w, store_.Write());
    VODFS_RETURN_IF_ERROR(
        w.PutDetails({copy->media_id, copy->media_id, copy->modification_time, copy->fetched_at, copy->Serialize()}));
    return w.Commit();
  }();
  if (!s.ok()) VODFS_LOG(kWarn) << "Cannot keep a corrected size in the index: " << s.ToString();
  TreePtr t = copy;
  hot_.Put(m.id, t, t->Bytes());
  InvalidateContent(ino);
}

}  // namespace vodfs::ns
