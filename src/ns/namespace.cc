#include "vodfs/ns/namespace.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <latch>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "vodfs/ns/names.h"
#include "vodfs/resolve/hls.h"
#include "vodfs/util/log.h"
#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"
#include "vodfs/util/url.h"

namespace vodfs::ns {

using nlohmann::json;
using resolve::MediaRef;
using resolve::Role;

namespace {

// Fields asked for in library listings: what the tree needs, not the
// snapshot URL lists (large, and refreshed separately).
constexpr const char* kListFields =
    "Title,Description,Tags,CateId,CateName,Duration,Size,Status,StorageClass,CreationTime,"
    "ModificationTime";

// Seed of the second hash that tells inode collisions apart.
constexpr uint64_t kKeyCheckSeed = 0x6b657963;

bool IsNotFound(const Error& e) { return e.code == ErrorCode::kNotFound; }

// Runs `tasks` on `ex` and waits for all of them.
void RunAll(Executor& ex, std::vector<std::function<void()>>& tasks) {
  if (tasks.empty()) return;
  std::latch done(static_cast<std::ptrdiff_t>(tasks.size()));
  for (auto& t : tasks) {
    ex.Post([&t, &done] {
      t();
      done.count_down();
    });
  }
  done.wait();
}

std::string Pad(int64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04" PRId64, index);
  return buf;
}

std::string Fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", v);
  return buf;
}

// The extended attributes of a medium's directory.
std::vector<std::pair<std::string, std::string>> MediaXattrs(const vod::MediaInfo& m) {
  std::vector<std::pair<std::string, std::string>> x = {{"vod.video_id", m.id},
                                                        {"vod.title", m.title},
                                                        {"vod.status", m.status},
                                                        {"vod.media_type", m.media_type},
                                                        {"vod.duration", Fmt(m.duration)}};
  if (m.cate_id >= 0) x.emplace_back("vod.cate_id", std::to_string(m.cate_id));
  if (!m.tags.empty()) x.emplace_back("vod.tags", m.tags);
  return x;
}

int64_t FirstTime(std::initializer_list<int64_t> times) {
  for (int64_t t : times) {
    if (t > 0) return t;
  }
  return 0;
}

}  // namespace

const Namespace::Payload Namespace::kNoPayload;

Namespace::Namespace(vod::VodApi& api, resolve::UrlBroker& broker, fetch::RangeFetcher& fetcher,
                     fetch::VersionTable& versions, Executor& executor, Clock& clock, NsOptions options)
    : api_(api),
      broker_(broker),
      fetcher_(fetcher),
      versions_(versions),
      executor_(executor),
      clock_(clock),
      options_(std::move(options)) {
  Node root;
  root.kind = Kind::kDir;
  root.dir_type = DirType::kRoot;
  root.parent = kRootIno;
  nodes_[kRootIno] = root;
  ino_keys_[kRootIno] = str::StableHash64("/", kKeyCheckSeed);
  videos_ = AddStatic(kRootIno, "videos", "dir:videos", DirType::kVideos);
  audio_ = AddStatic(kRootIno, "audio", "dir:audio", DirType::kAudio);
  images_dir_ = AddStatic(kRootIno, "images", "dir:images", DirType::kImages);
  categories_ = AddStatic(kRootIno, "categories", "dir:categories", DirType::kCategories);
  Ino control = AddStatic(kRootIno, ".vodfs", "dir:.vodfs", DirType::kControl);
  nodes_[control].populated = true;
  nodes_[kRootIno].populated = true;
  Ino stats = InoFor("file:.vodfs/stats");
  Node s;
  s.parent = control;
  s.name = "stats";
  s.content = Content::kStats;
  nodes_[stats] = s;
  nodes_[control].children["stats"] = stats;
  Ino version = InoFor("file:.vodfs/version");
  Node v;
  v.parent = control;
  v.name = "version";
  v.content = Content::kGenerated;
  auto vp = std::make_shared<Payload>();
  vp->text = options_.version_text;
  v.size = vp->text.size();
  v.payload = std::move(vp);
  nodes_[version] = v;
  nodes_[control].children["version"] = version;
}

Namespace::~Namespace() { Stop(); }

void Namespace::Start() { refresher_.Start(); }
void Namespace::Stop() { refresher_.Stop(); }

Ino Namespace::InoFor(const std::string& key) {
  uint64_t h = str::StableHash64(key, 0x766f6466);
  const uint64_t check = str::StableHash64(key, kKeyCheckSeed);
  while (true) {
    if (h < 16) h += 16;  // 1 is the root; keep a few low numbers free
    auto it = ino_keys_.find(h);
    if (it == ino_keys_.end()) {
      ino_keys_.emplace(h, check);
      return h;
    }
    if (it->second == check) return h;
    h = str::Mix64(h);  // a collision: probe deterministically
  }
}

Ino Namespace::AddStatic(Ino parent, const std::string& name, const std::string& key, DirType type) {
  Ino ino = InoFor(key);
  Node n;
  n.parent = parent;
  n.name = name;
  n.kind = Kind::kDir;
  n.dir_type = type;
  nodes_[ino] = n;
  nodes_[parent].children[name] = ino;
  return ino;
}

NodeInfo Namespace::Info(Ino ino, const Node& n, bool with_xattrs) const {
  NodeInfo i;
  i.ino = ino;
  i.parent = n.parent;
  i.name = n.name;
  i.kind = n.kind;
  i.dir_type = n.dir_type;
  i.size = n.size;
  i.mtime = n.mtime;
  i.content = n.content;
  if (n.payload) {
    i.ref = n.payload->ref;
    i.text = n.payload->text;
    i.link = n.payload->link;
    if (with_xattrs) i.xattrs = n.payload->xattrs;
  }
  // A medium's directory: its xattrs are made from the listing's entry.
  if (with_xattrs && n.media && i.xattrs.empty()) i.xattrs = MediaXattrs(*n.media);
  i.detached = n.detached;
  return i;
}

NsStats Namespace::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  NsStats s = stats_;
  s.nodes = nodes_.size();
  return s;
}

Status Namespace::Init() { return EnsurePopulated(videos_); }

Result<NodeInfo> Namespace::Get(Ino ino) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return Error(ErrorCode::kStale, "no inode " + std::to_string(ino));
  return Info(ino, it->second);
}

Result<NodeInfo> Namespace::Lookup(Ino parent, const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = nodes_.find(parent);
    if (it == nodes_.end()) return Error(ErrorCode::kStale, "no inode " + std::to_string(parent));
    if (it->second.kind != Kind::kDir) return Error(ErrorCode::kNotADirectory, it->second.name);
  }
  VODFS_RETURN_IF_ERROR(EnsurePopulated(parent));
  std::lock_guard<std::mutex> lock(mu_);
  const Node& p = nodes_[parent];
  auto c = p.children.find(name);
  if (c == p.children.end()) return Error(ErrorCode::kNotFound, name);
  return Info(c->second, nodes_[c->second]);
}

Result<std::vector<NodeInfo>> Namespace::List(Ino dir) {
  std::vector<NodeInfo> out;
  VODFS_RETURN_IF_ERROR(ForEachChild(dir, [&out](const NodeInfo& i) { out.push_back(i); }));
  return out;
}

Status Namespace::ForEachChild(Ino dir, const std::function<void(const NodeInfo&)>& fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = nodes_.find(dir);
    if (it == nodes_.end()) return Error(ErrorCode::kStale, "no inode " + std::to_string(dir));
    if (it->second.kind != Kind::kDir) return Error(ErrorCode::kNotADirectory, it->second.name);
  }
  VODFS_RETURN_IF_ERROR(EnsurePopulated(dir));
  std::lock_guard<std::mutex> lock(mu_);
  const Node& d = nodes_[dir];
  for (const auto& [name, ino] : d.children) fn(Info(ino, nodes_[ino], /*with_xattrs=*/false));
  return Status::Ok();
}

void Namespace::CorrectSize(Ino ino, uint64_t size) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = nodes_.find(ino);
    if (it == nodes_.end() || it->second.size == size) return;
    VODFS_LOG(kInfo) << "The origin says " << it->second.name << " has " << size
                     << " bytes, not " << it->second.size << "; the origin wins";
    it->second.size = size;
  }
  if (notifier_) notifier_->InvalidateInode(ino);
}

void Namespace::Notify(const std::vector<std::pair<Ino, std::string>>& entries, const std::vector<Ino>& inodes) {
  if (!notifier_) return;
  for (const auto& [parent, name] : entries) notifier_->InvalidateEntry(parent, name);
  for (Ino ino : inodes) notifier_->InvalidateInode(ino);
}

// ---------------------------------------------------------------------------
// Population

Status Namespace::EnsurePopulated(Ino dir) {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    Node& n = nodes_[dir];
    if (n.dir_type == DirType::kRoot || n.dir_type == DirType::kControl) return Status::Ok();
    // Subdirectories filled with their medium follow its population.
    if (n.dir_type == DirType::kSnapshots || n.dir_type == DirType::kSprites ||
        n.dir_type == DirType::kSpriteOrigins) {
      Ino media = n.parent;
      while (nodes_[media].dir_type != DirType::kMedia && media != kRootIno) media = nodes_[media].parent;
      lock.unlock();
      return EnsurePopulated(media);
    }
    if (n.populated) {
      const int64_t age = clock_.UnixNow() - n.populated_at;
      if (age >= options_.metadata_ttl && !n.populating && !n.refresh_pending && !n.detached) {
        n.refresh_pending = true;
        lock.unlock();
        ScheduleRefresh(dir);
      }
      return Status::Ok();
    }
    if (n.populating) {
      cv_.wait(lock, [this, dir] { return !nodes_[dir].populating; });
      if (nodes_[dir].populated) return Status::Ok();
      // The other population failed; try ourselves.
    }
    lock.unlock();
    return Populate(dir, false);
  }
}

void Namespace::ScheduleRefresh(Ino dir) {
  refresher_.Post([this, dir] {
    Status s = Populate(dir, true);
    if (!s.ok()) VODFS_LOG(kWarn) << "Cannot refresh a directory listing: " << s.ToString();
    std::lock_guard<std::mutex> lock(mu_);
    nodes_[dir].refresh_pending = false;
  });
}

Status Namespace::Populate(Ino dir, bool refresh) {
  Node snapshot;
  {
    std::unique_lock<std::mutex> lock(mu_);
    Node& n = nodes_[dir];
    if (n.populating) {
      if (refresh) return Status::Ok();
      cv_.wait(lock, [this, dir] { return !nodes_[dir].populating; });
      if (nodes_[dir].populated) return Status::Ok();
    }
    nodes_[dir].populating = true;
    // What Build needs of the directory; not its children (a directory of
    // 100,000 media is not copied on every refresh).
    const Node& d = nodes_[dir];
    snapshot.parent = d.parent;
    snapshot.name = d.name;
    snapshot.kind = d.kind;
    snapshot.dir_type = d.dir_type;
    snapshot.mtime = d.mtime;
    snapshot.id = d.id;
    snapshot.payload = d.payload;
    snapshot.media = d.media;
  }
  Result<Listing> listing = Build(dir, snapshot);
  std::vector<std::pair<Ino, std::string>> entries;
  std::vector<Ino> inodes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Node& n = nodes_[dir];
    n.populating = false;
    if (listing.ok()) {
      Apply(dir, *listing, &entries, &inodes);
      nodes_[dir].populated = true;
      nodes_[dir].populated_at = clock_.UnixNow();
      ++(refresh ? stats_.refreshes : stats_.populations);
    }
  }
  cv_.notify_all();
  Notify(entries, inodes);
  if (!listing.ok()) {
    VODFS_LOG(kWarn) << "Cannot list " << (snapshot.name.empty() ? "/" : snapshot.name) << ": "
                     << listing.error().ToString();
    return listing.status();
  }
  return Status::Ok();
}

Result<Namespace::Listing> Namespace::Build(Ino, const Node& n) {
  switch (n.dir_type) {
    case DirType::kVideos: return BuildMediaList("video");
    case DirType::kAudio: return BuildMediaList("audio");
    case DirType::kImages: return BuildImages();
    case DirType::kCategories: return BuildCategories(-1, 0);
    case DirType::kCategory: {
      int depth = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (Ino p = n.parent; p != categories_ && p != kRootIno; p = nodes_[p].parent) ++depth;
      }
      return BuildCategories(str::ParseInt64(n.id).value_or(-1), depth + 1);
    }
    case DirType::kMedia: return BuildMedia(n);
    case DirType::kHls: return BuildHls(n);
    default: return Listing{};
  }
}

Result<Namespace::Listing> Namespace::BuildMediaList(const std::string& type) {
  // Each medium is kept once, shared by its directory node; nothing of a
  // large library is held twice while the listing is built.
  vod::LibraryIterator it(api_, type, kListFields);
  std::vector<std::shared_ptr<const vod::MediaInfo>> all;
  std::vector<vod::MediaInfo> page;
  while (true) {
    VODFS_ASSIGN_OR_RETURN(bool more, it.Next(&page));
    for (auto& m : page) all.push_back(std::make_shared<const vod::MediaInfo>(std::move(m)));
    if (!more) break;
  }
  std::vector<std::string> unique;
  {
    std::vector<NameRequest> names;
    names.reserve(all.size());
    for (const auto& m : all) names.push_back({MediaDirName(m->title, m->id, options_.id_names), m->id, m->id});
    unique = UniqueNames(names);
  }
  Listing out;
  out.children.reserve(all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    ChildSpec c;
    c.key = type + "/" + all[i]->id;
    c.name = std::move(unique[i]);
    c.kind = Kind::kDir;
    c.dir_type = DirType::kMedia;
    c.mtime = FirstTime({all[i]->modification_time, all[i]->creation_time});
    c.id = all[i]->id;
    c.media = std::move(all[i]);
    out.mtime = std::max(out.mtime, c.mtime);
    out.children.push_back(std::move(c));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.listings;
  }
  return out;
}

Result<Namespace::Listing> Namespace::BuildImages() {
  vod::LibraryIterator it(api_, "image", "Title,URL,CreationTime,ModificationTime,CateId,Status");
  std::vector<vod::ImageInfo> all, page;
  std::vector<vod::MediaInfo> unused;
  while (true) {
    VODFS_ASSIGN_OR_RETURN(bool more, it.Next(&unused, &page));
    for (auto& i : page) all.push_back(std::move(i));
    if (!more) break;
  }
  // Sizes and original names: GetImageInfos, 20 per call, in parallel.
  std::vector<std::function<void()>> tasks;
  std::vector<Result<vod::ImageInfos>> batches;
  const size_t nbatch = (all.size() + 19) / 20;
  batches.assign(nbatch, Error(ErrorCode::kInternal, "not run"));
  for (size_t b = 0; b < nbatch; ++b) {
    tasks.push_back([this, b, &all, &batches] {
      vod::ImageRequest r;
      for (size_t i = b * 20; i < std::min(all.size(), b * 20 + 20); ++i) r.image_ids.push_back(all[i].id);
      r.output_type = options_.output_type;
      r.auth_timeout = options_.auth_timeout;
      batches[b] = api_.GetImageInfos(r);
    });
  }
  RunAll(executor_, tasks);
  std::unordered_map<std::string, vod::ImageInfo> details;
  for (auto& b : batches) {
    if (!b.ok()) return b.error();
    for (auto& i : b->images) details[i.id] = std::move(i);
  }
  Listing out;
  std::vector<NameRequest> names;
  std::vector<const vod::ImageInfo*> shown;
  for (const auto& i : all) {
    auto d = details.find(i.id);
    if (d == details.end()) continue;  // deleted between the two calls
    const vod::ImageInfo& img = d->second;
    std::string ext = ExtensionOf(img.original_file_name, ExtensionOf(img.url, ExtensionOf(img.file_url, "jpg")));
    names.push_back({MediaFileName(i.title.empty() ? img.title : i.title, i.id, ext, options_.id_names), i.id, i.id});
    shown.push_back(&img);
  }
  std::vector<std::string> unique = UniqueNames(names);
  for (size_t k = 0; k < shown.size(); ++k) {
    const vod::ImageInfo& img = *shown[k];
    ChildSpec c;
    c.key = "image/" + img.id;
    c.name = unique[k];
    c.content = Content::kMedia;
    c.p().ref.role = Role::kImage;
    c.p().ref.id = img.id;
    c.size = static_cast<uint64_t>(img.file_size);
    c.size_known = img.file_size > 0;
    c.mtime = FirstTime({img.modification_time, img.creation_time});
    c.p().xattrs = {{"vod.image_id", img.id}, {"vod.title", img.title}, {"vod.image_type", img.image_type}};
    if (img.width) c.p().xattrs.emplace_back("vod.width", std::to_string(img.width));
    if (img.height) c.p().xattrs.emplace_back("vod.height", std::to_string(img.height));
    const std::string url = options_.output_type == vod::OutputType::kOss || img.url.empty() ? img.file_url : img.url;
    broker_.Seed(c.p().ref, url);
    out.mtime = std::max(out.mtime, c.mtime);
    out.children.push_back(std::move(c));
  }
  VODFS_RETURN_IF_ERROR(ProbeSizes(&out.children));
  return out;
}

Result<Namespace::Listing> Namespace::BuildCategories(int64_t cate_id, int depth) {
  std::vector<vod::Category> subs;
  for (int page = 1;; ++page) {
    vod::CategoryRequest r;
    r.cate_id = cate_id;
    r.page_no = page;
    r.page_size = 100;
    VODFS_ASSIGN_OR_RETURN(vod::CategoryPage p, api_.GetCategories(r));
    for (auto& c : p.children) subs.push_back(std::move(c));
    if (p.children.size() < 100 || static_cast<int64_t>(subs.size()) >= p.sub_total) break;
  }
  Listing out;
  std::vector<NameRequest> names;
  for (const auto& c : subs) {
    names.push_back({SanitizeName(c.name).empty() ? std::to_string(c.id) : FileName(c.name, ""),
                     std::to_string(c.id), std::to_string(c.id)});
  }
  // Media of this category link into videos/ and audio/.
  std::vector<std::pair<std::string, std::string>> links;  // name, target
  if (cate_id >= 0) {
    VODFS_RETURN_IF_ERROR(EnsurePopulated(videos_));
    VODFS_RETURN_IF_ERROR(EnsurePopulated(audio_));
    std::string up;
    for (int i = 0; i <= depth; ++i) up += "../";
    std::lock_guard<std::mutex> lock(mu_);
    for (Ino top : {videos_, audio_}) {
      for (const auto& [name, ino] : nodes_[top].children) {
        const Node& m = nodes_[ino];
        if (m.media && m.media->cate_id == cate_id) {
          links.emplace_back(name, up + nodes_[top].name + "/" + name);
          names.push_back({name, "~" + m.id, m.id});
        }
      }
    }
    out.mtime = nodes_[videos_].mtime;
  }
  std::vector<std::string> unique = UniqueNames(names);
  for (size_t i = 0; i < subs.size(); ++i) {
    ChildSpec c;
    c.key = "category/" + std::to_string(subs[i].id);
    c.name = unique[i];
    c.kind = Kind::kDir;
    c.dir_type = DirType::kCategory;
    c.id = std::to_string(subs[i].id);
    c.mtime = out.mtime;
    c.p().xattrs = {{"vod.cate_id", c.id}, {"vod.cate_name", subs[i].name},
                {"vod.level", std::to_string(subs[i].level)}};
    out.children.push_back(std::move(c));
  }
  for (size_t i = 0; i < links.size(); ++i) {
    ChildSpec c;
    c.key = "category/" + std::to_string(cate_id) + "/link/" + links[i].first;
    c.name = unique[subs.size() + i];
    c.kind = Kind::kSymlink;
    c.p().link = links[i].second;
    c.size = c.p().link.size();
    c.mtime = out.mtime;
    out.children.push_back(std::move(c));
  }
  if (cate_id < 0) {
    std::lock_guard<std::mutex> lock(mu_);
    out.mtime = nodes_[videos_].mtime;
    for (auto& c : out.children) c.mtime = out.mtime;
  }
  return out;
}

Result<Namespace::Listing> Namespace::BuildMedia(const Node& dir) {
  if (!dir.media) return Error(ErrorCode::kNotFound, "medium " + dir.id + " is gone");
  const vod::MediaInfo& info = *dir.media;
  const std::string& id = info.id;
  const bool has_source = info.status != "UploadFail" && info.status != "Uploading";
  const bool playable = info.status == "Normal";

  Result<vod::Mezzanine> mezz = Error(ErrorCode::kNotFound, "no source");
  Result<vod::PlayInfoResult> play = Error(ErrorCode::kNotFound, "not playable");
  Result<vod::SnapshotPage> snaps[3] = {Error(ErrorCode::kNotFound, ""), Error(ErrorCode::kNotFound, ""),
                                        Error(ErrorCode::kNotFound, "")};
  const char* kSnapTypes[3] = {"NormalSnapshot", "SpriteSnapshot", "CoverSnapshot"};
  std::vector<std::function<void()>> tasks;
  if (has_source) {
    tasks.push_back([&] {
      vod::MezzanineRequest r;
      r.video_id = id;
      r.output_type = options_.output_type;
      r.auth_timeout = options_.auth_timeout;
      mezz = api_.GetMezzanineInfo(r);
    });
  }
  if (playable) {
    tasks.push_back([&] {
      vod::PlayInfoRequest r;
      r.video_id = id;
      r.output_type = options_.output_type;
      r.auth_timeout = options_.auth_timeout;
      if (options_.all_streams) r.result_type = "Multiple";
      play = api_.GetPlayInfo(r);
    });
  }
  if (has_source) {
    for (int k = 0; k < (playable ? 2 : 3); ++k) {
      tasks.push_back([&, k] {
        vod::SnapshotRequest r;
        r.video_id = id;
        r.snapshot_type = kSnapTypes[k];
        r.auth_timeout = std::max<int64_t>(options_.auth_timeout, 3600);
        r.page_size = 100;
        snaps[k] = api_.ListSnapshots(r);
      });
    }
  }
  RunAll(executor_, tasks);
  // A medium deleted meanwhile is gone; anything else that failed fails the
  // listing (an incomplete directory would look like lost files).
  if (!mezz.ok() && !IsNotFound(mezz.error()) && has_source) return mezz.error();
  if (!play.ok() && !IsNotFound(play.error()) && play.code() != ErrorCode::kFailedPrecondition && playable) {
    return play.error();
  }
  for (auto& s : snaps) {
    if (!s.ok() && !IsNotFound(s.error()) && has_source) return s.error();
  }
  // More snapshot pages, and the sprites' originals.
  auto all_pages = [&](const char* type, Result<vod::SnapshotPage>& first) -> Status {
    if (!first.ok()) return Status::Ok();
    for (int page = 2; static_cast<int64_t>(first->snapshots.size()) < first->total; ++page) {
      vod::SnapshotRequest r;
      r.video_id = id;
      r.snapshot_type = type;
      r.auth_timeout = std::max<int64_t>(options_.auth_timeout, 3600);
      r.page_size = 100;
      r.page_no = page;
      VODFS_ASSIGN_OR_RETURN(vod::SnapshotPage more, api_.ListSnapshots(r));
      if (more.snapshots.empty()) break;
      for (auto& s : more.snapshots) first->snapshots.push_back(std::move(s));
    }
    return Status::Ok();
  };
  VODFS_RETURN_IF_ERROR(all_pages("NormalSnapshot", snaps[0]));
  VODFS_RETURN_IF_ERROR(all_pages("SpriteSnapshot", snaps[1]));
  Result<vod::SnapshotPage> origins = Error(ErrorCode::kNotFound, "");
  if (snaps[1].ok() && !snaps[1]->snapshots.empty()) {
    vod::SnapshotRequest r;
    r.video_id = id;
    r.snapshot_type = "SpriteOriginSnapshot";
    r.auth_timeout = std::max<int64_t>(options_.auth_timeout, 3600);
    r.page_size = 100;
    origins = api_.ListSnapshots(r);
    if (!origins.ok() && !IsNotFound(origins.error())) return origins.error();
    VODFS_RETURN_IF_ERROR(all_pages("SpriteOriginSnapshot", origins));
  }

  const int64_t video_time = FirstTime({info.modification_time, info.creation_time});
  Listing out;
  out.mtime = video_time;
  std::vector<ChildSpec> files;
  json doc = {{"VideoId", id},
              {"MediaType", info.media_type},
              {"Title", info.title},
              {"Description", info.description},
              {"Tags", info.tags},
              {"Status", info.status},
              {"CateId", info.cate_id},
              {"CateName", info.cate_name},
              {"Duration", info.duration},
              {"StorageClass", info.storage_class},
              {"CreationTime", info.creation_time ? timefmt::FormatIso8601(info.creation_time) : ""},
              {"ModificationTime", info.modification_time ? timefmt::FormatIso8601(info.modification_time) : ""}};

  // The source.
  if (mezz.ok() && !mezz->file_url.empty()) {
    ChildSpec c;
    const std::string ext = ExtensionOf(mezz->file_name, ExtensionOf(mezz->file_url, "bin"));
    c.key = "media/" + id + "/source";
    c.name = FileName("source", ext);
    c.content = Content::kMedia;
    c.p().ref.role = Role::kSource;
    c.p().ref.id = id;
    c.size = static_cast<uint64_t>(mezz->size > 0 ? mezz->size : info.size);
    c.size_known = c.size > 0;
    c.mtime = FirstTime({mezz->creation_time, info.creation_time});
    c.p().xattrs = {{"vod.video_id", id}, {"vod.role", "source"}, {"vod.file_name", mezz->file_name},
                {"vod.duration", Fmt(mezz->duration)}};
    if (mezz->width) c.p().xattrs.emplace_back("vod.width", std::to_string(mezz->width));
    if (mezz->height) c.p().xattrs.emplace_back("vod.height", std::to_string(mezz->height));
    if (!mezz->bitrate.empty()) c.p().xattrs.emplace_back("vod.bitrate", mezz->bitrate);
    if (!mezz->fps.empty()) c.p().xattrs.emplace_back("vod.fps", mezz->fps);
    broker_.Seed(c.p().ref, mezz->file_url);
    doc["Source"] = {{"File", c.name}, {"FileName", mezz->file_name}, {"Size", mezz->size},
                     {"Width", mezz->width}, {"Height", mezz->height}, {"Bitrate", mezz->bitrate},
                     {"Fps", mezz->fps}, {"Duration", mezz->duration}};
    files.push_back(std::move(c));
  }

  // Streams: Normal ones keep the plain names; older or hidden ones get the
  // job id. DASH manifests are left out (their segments are not objects the
  // API hands out).
  std::string cover_url;
  json streams = json::array();
  if (play.ok()) {
    cover_url = play->base.cover_url;
    std::vector<const vod::PlayInfo*> shown;
    std::vector<NameRequest> names;
    for (const auto& s : play->streams) {
      if (s.format == "mpd") continue;
      if (s.status != "Normal" && !s.status.empty() && !options_.all_streams) continue;
      shown.push_back(&s);
      std::string name = s.format == "m3u8" ? FileName(s.definition + ".hls", "")
                                            : FileName(s.definition.empty() ? "stream" : s.definition, s.format);
      std::string order = (s.status == "Normal" || s.status.empty() ? "0" : "1") +
                          std::to_string(INT64_MAX - s.creation_time) + s.job_id;
      names.push_back({name, order, s.job_id.substr(0, 8)});
    }
    std::vector<std::string> unique = UniqueNames(names);
    for (size_t i = 0; i < shown.size(); ++i) {
      const vod::PlayInfo& s = *shown[i];
      ChildSpec c;
      c.name = unique[i];
      c.mtime = FirstTime({s.modification_time, s.creation_time, video_time});
      c.p().ref.id = id;
      c.p().ref.job_id = s.job_id;
      c.p().ref.definition = s.definition;
      c.p().ref.format = s.format;
      c.p().xattrs = {{"vod.video_id", id},         {"vod.definition", s.definition},
                  {"vod.format", s.format},     {"vod.stream_type", s.stream_type},
                  {"vod.bitrate", Fmt(s.bitrate)}, {"vod.duration", Fmt(s.duration)},
                  {"vod.job_id", s.job_id},     {"vod.status", s.status}};
      if (s.width) c.p().xattrs.emplace_back("vod.width", std::to_string(s.width));
      if (s.height) c.p().xattrs.emplace_back("vod.height", std::to_string(s.height));
      if (!s.fps.empty()) c.p().xattrs.emplace_back("vod.fps", s.fps);
      if (!s.codec_name.empty()) c.p().xattrs.emplace_back("vod.codec", s.codec_name);
      if (s.encrypt || !s.encrypt_type.empty()) {
        c.p().xattrs.emplace_back("vod.encrypt_type", s.encrypt_type.empty() ? "encrypted" : s.encrypt_type);
      }
      if (s.format == "m3u8") {
        c.key = "media/" + id + "/hls/" + s.job_id;
        c.kind = Kind::kDir;
        c.dir_type = DirType::kHls;
        c.id = s.job_id;
        c.p().ref.role = Role::kHlsPlaylist;
      } else {
        c.key = "media/" + id + "/stream/" + s.job_id;
        c.content = Content::kMedia;
        c.p().ref.role = Role::kStream;
        c.size = static_cast<uint64_t>(s.size);
        c.size_known = s.size > 0;
      }
      broker_.Seed(c.p().ref, s.play_url);
      streams.push_back({{"File", c.name}, {"Definition", s.definition}, {"Format", s.format},
                         {"StreamType", s.stream_type}, {"Size", s.size}, {"Bitrate", s.bitrate},
                         {"Width", s.width}, {"Height", s.height}, {"Fps", s.fps},
                         {"Duration", s.duration}, {"Encrypt", s.encrypt}, {"EncryptType", s.encrypt_type},
                         {"JobId", s.job_id}, {"Status", s.status}, {"CodecName", s.codec_name},
                         {"CreationTime", s.creation_time ? timefmt::FormatIso8601(s.creation_time) : ""}});
      files.push_back(std::move(c));
    }
  }
  doc["Streams"] = streams;

  // Cover.
  if (cover_url.empty() && snaps[2].ok() && !snaps[2]->snapshots.empty()) cover_url = snaps[2]->snapshots[0].url;
  if (!cover_url.empty()) {
    ChildSpec c;
    c.key = "media/" + id + "/cover";
    c.name = FileName("cover", ExtensionOf(cover_url, "jpg"));
    c.content = Content::kMedia;
    c.p().ref.role = Role::kCover;
    c.p().ref.id = id;
    c.size_known = false;
    c.mtime = video_time;
    c.p().xattrs = {{"vod.video_id", id}, {"vod.role", "cover"}};
    broker_.Seed(c.p().ref, cover_url);
    files.push_back(std::move(c));
  }

  // Snapshot directories.
  auto snapshot_dir = [&](const std::string& name, const std::string& key, DirType type, Role role,
                          const vod::SnapshotPage& page) {
    ChildSpec d;
    d.key = key;
    d.name = name;
    d.kind = Kind::kDir;
    d.dir_type = type;
    d.filled = true;
    d.mtime = FirstTime({page.creation_time, video_time});
    for (const auto& s : page.snapshots) {
      if (s.index <= 0) continue;
      ChildSpec f;
      f.key = key + "/" + std::to_string(s.index);
      f.name = FileName(Pad(s.index), ExtensionOf(s.url, "jpg"));
      f.content = Content::kMedia;
      f.p().ref.role = role;
      f.p().ref.id = id;
      f.p().ref.index = s.index;
      f.size_known = false;
      f.mtime = d.mtime;
      f.p().xattrs = {{"vod.video_id", id}, {"vod.role", resolve::RoleName(role)},
                  {"vod.index", std::to_string(s.index)}, {"vod.job_id", page.job_id}};
      broker_.Seed(f.p().ref, s.url);
      d.children.push_back(std::move(f));
    }
    return d;
  };
  if (snaps[0].ok() && !snaps[0]->snapshots.empty()) {
    files.push_back(snapshot_dir("snapshots", "media/" + id + "/snapshots", DirType::kSnapshots,
                                 Role::kSnapshot, *snaps[0]));
    doc["Snapshots"] = snaps[0]->snapshots.size();
  }
  if (snaps[1].ok() && !snaps[1]->snapshots.empty()) {
    ChildSpec sprites = snapshot_dir("sprites", "media/" + id + "/sprites", DirType::kSprites, Role::kSprite, *snaps[1]);
    if (origins.ok() && !origins->snapshots.empty()) {
      sprites.children.push_back(snapshot_dir("originals", "media/" + id + "/sprites/originals",
                                              DirType::kSpriteOrigins, Role::kSpriteOrigin, *origins));
    }
    doc["Sprites"] = snaps[1]->snapshots.size();
    files.push_back(std::move(sprites));
  }

  // info.json: metadata and streams, never URLs.
  ChildSpec infofile;
  infofile.key = "media/" + id + "/info.json";
  infofile.name = "info.json";
  infofile.content = Content::kGenerated;
  infofile.p().text = doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  infofile.size = infofile.p().text.size();
  infofile.mtime = video_time;
  files.push_back(std::move(infofile));

  VODFS_RETURN_IF_ERROR(ProbeSizes(&files));
  out.children = std::move(files);
  return out;
}

Result<Namespace::Listing> Namespace::BuildHls(const Node& dir) {
  const MediaRef playlist = dir.P().ref;
  VODFS_ASSIGN_OR_RETURN(auto lease, broker_.Get(playlist));
  VODFS_ASSIGN_OR_RETURN(std::string text, fetcher_.FetchWhole(playlist));
  resolve::HlsPlaylist pl = resolve::ParseHlsPlaylist(text);
  if (pl.is_master) {
    return Error(ErrorCode::kUnimplemented, "the HLS stream " + dir.id + " is a master playlist");
  }
  Listing out;
  out.mtime = dir.mtime;
  std::vector<NameRequest> names;
  for (size_t i = 0; i < pl.segments.size(); ++i) {
    std::string uri = pl.segments[i].uri.substr(0, pl.segments[i].uri.find('?'));
    std::string base = uri.substr(uri.rfind('/') + 1);
    std::string name = base.empty() || base == "index.m3u8" ? "" : SanitizeName(base);
    char fallback[32];
    std::snprintf(fallback, sizeof(fallback), "seg-%05zu.ts", i);
    if (name.empty() || name.size() > kMaxName) name = fallback;
    names.push_back({name, Pad(static_cast<int64_t>(i)), std::to_string(i)});
  }
  std::vector<std::string> local = UniqueNames(names);
  for (size_t i = 0; i < pl.segments.size(); ++i) {
    auto abs = ResolveUrl(lease.url, pl.segments[i].uri);
    if (!abs) return Error(ErrorCode::kBadResponse, "bad segment URI in the playlist of " + dir.id);
    ChildSpec c;
    c.key = "media/" + playlist.id + "/hls/" + dir.id + "/" + std::to_string(i);
    c.name = local[i];
    c.content = Content::kMedia;
    c.p().ref = playlist;
    c.p().ref.role = Role::kHlsSegment;
    c.p().ref.index = static_cast<int64_t>(i);
    c.size_known = false;
    c.mtime = dir.mtime;
    c.p().xattrs = {{"vod.video_id", playlist.id}, {"vod.job_id", dir.id}, {"vod.definition", playlist.definition},
                {"vod.role", "segment"}, {"vod.index", std::to_string(i)},
                {"vod.duration", Fmt(pl.segments[i].duration)}};
    broker_.Seed(c.p().ref, *abs);
    out.children.push_back(std::move(c));
  }
  ChildSpec index;
  index.key = "media/" + playlist.id + "/hls/" + dir.id + "/index.m3u8";
  index.name = "index.m3u8";
  index.content = Content::kGenerated;
  index.p().text = resolve::RewriteHlsPlaylist(text, local);
  index.size = index.p().text.size();
  index.mtime = dir.mtime;
  index.p().xattrs = dir.P().xattrs;
  out.children.push_back(std::move(index));
  VODFS_RETURN_IF_ERROR(ProbeSizes(&out.children));
  return out;
}

Status Namespace::ProbeSizes(std::vector<ChildSpec>* children) {
  std::vector<ChildSpec*> todo;
  std::function<void(std::vector<ChildSpec>*)> collect = [&](std::vector<ChildSpec>* v) {
    for (auto& c : *v) {
      if (c.content == Content::kMedia && !c.size_known) todo.push_back(&c);
      collect(&c.children);
    }
  };
  collect(children);
  if (todo.empty()) return Status::Ok();
  std::vector<Result<fetch::Fingerprint>> results(todo.size(), Error(ErrorCode::kInternal, "not run"));
  for (size_t start = 0; start < todo.size(); start += options_.probe_parallelism) {
    std::vector<std::function<void()>> tasks;
    for (size_t i = start; i < std::min(todo.size(), start + options_.probe_parallelism); ++i) {
      tasks.push_back([this, i, &todo, &results] { results[i] = fetcher_.Probe(todo[i]->ref()); });
    }
    RunAll(executor_, tasks);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.probes += todo.size();
  }
  std::vector<std::string> missing;
  for (size_t i = 0; i < todo.size(); ++i) {
    if (!results[i].ok()) {
      if (results[i].code() == ErrorCode::kStale) {  // 404: listed but not there
        missing.push_back(todo[i]->key);
        continue;
      }
      return results[i].error();
    }
    todo[i]->size = results[i]->size;
    todo[i]->size_known = true;
    versions_.Set(todo[i]->ref().Key(), *results[i]);
  }
  if (!missing.empty()) {
    std::function<void(std::vector<ChildSpec>*)> drop = [&](std::vector<ChildSpec>* v) {
      v->erase(std::remove_if(v->begin(), v->end(),
                              [&](const ChildSpec& c) {
                                bool gone = std::find(missing.begin(), missing.end(), c.key) != missing.end();
                                if (gone) VODFS_LOG(kWarn) << "Leaving out " << c.name << ": the origin has no such object";
                                return gone;
                              }),
               v->end());
      for (auto& c : *v) drop(&c.children);
    };
    drop(children);
  }
  return Status::Ok();
}

void Namespace::Detach(Ino ino) {
  Node& n = nodes_[ino];
  if (n.detached) return;
  n.detached = true;
  for (const auto& [name, child] : n.children) Detach(child);
}

void Namespace::Apply(Ino dir, Listing& listing, std::vector<std::pair<Ino, std::string>>* entries,
                      std::vector<Ino>* inodes) {
  std::map<std::string, Ino> next;
  for (auto& spec : listing.children) {
    const Ino ino = InoFor(spec.key);
    auto it = nodes_.find(ino);
    if (it == nodes_.end()) {
      Node n;
      n.parent = dir;
      n.name = spec.name;
      n.kind = spec.kind;
      n.dir_type = spec.dir_type;
      n.size = spec.size;
      n.mtime = spec.mtime;
      n.content = spec.content;
      n.payload = std::move(spec.payload);
      n.media = std::move(spec.media);
      n.id = spec.id;
      nodes_[ino] = std::move(n);
    } else {
      Node& n = it->second;
      const Payload& now = spec.payload ? *spec.payload : kNoPayload;
      const bool changed = n.size != spec.size || n.mtime != spec.mtime || n.P().text != now.text ||
                           n.P().link != now.link || n.detached;
      if (n.name != spec.name && !n.name.empty()) entries->emplace_back(dir, n.name);
      // A medium whose metadata changed is listed again on next use.
      if (n.dir_type == DirType::kMedia && n.mtime != spec.mtime) n.populated = false;
      n.parent = dir;
      n.name = spec.name;
      n.size = spec.size;
      n.mtime = spec.mtime;
      n.payload = std::move(spec.payload);
      n.media = std::move(spec.media);
      n.detached = false;
      if (changed) inodes->push_back(ino);
    }
    if (spec.filled) {
      Listing sub;
      sub.children = std::move(spec.children);
      sub.mtime = spec.mtime;
      Apply(ino, sub, entries, inodes);
      nodes_[ino].populated = true;
      nodes_[ino].populated_at = clock_.UnixNow();
    }
    next[nodes_[ino].name] = ino;
  }
  Node& d = nodes_[dir];
  std::unordered_set<Ino> listed;  // made only when a name went away or moved
  for (const auto& [name, ino] : d.children) {
    auto it = next.find(name);
    if (it == next.end() || it->second != ino) {
      entries->emplace_back(dir, name);
      if (listed.empty()) {
        for (const auto& [n2, i2] : next) listed.insert(i2);
      }
      if (!listed.contains(ino)) Detach(ino);
    }
  }
  d.children = std::move(next);
  if (listing.mtime) d.mtime = listing.mtime;
  // The root and the top-level directories carry the library's time (from
  // the videos listing, made at mount time): fixed, never moved by reading.
  if (dir == videos_ && listing.mtime) {
    const Ino control = nodes_[kRootIno].children[".vodfs"];
    for (Ino top : {kRootIno, videos_, audio_, images_dir_, categories_, control}) nodes_[top].mtime = listing.mtime;
    for (const auto& [name, ino] : nodes_[control].children) nodes_[ino].mtime = listing.mtime;
  } else if (dir == audio_ || dir == images_dir_ || dir == categories_) {
    d.mtime = nodes_[videos_].mtime;
  }
}

}  // namespace vodfs::ns
