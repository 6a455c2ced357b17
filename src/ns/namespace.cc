// The namespace's nodes: fixed ones, index entries, lookups, directory
// reading, and what the changes of a sync make the kernel forget. A
// medium's directory tree is in trees.cc, categories in categories.cc.
#include "vodfs/ns/namespace.h"

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>

#include "ns/dir_cursor.h"
#include "ns/media_tree.h"
#include "vodfs/ns/names.h"
#include "vodfs/util/log.h"
#include "vodfs/util/strings.h"

namespace vodfs::ns {

using index::MediaKind;
using index::MediaRecord;

namespace {

std::string Fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", v);
  return buf;
}

int64_t TimeOf(const MediaRecord& m) { return m.modification_time > 0 ? m.modification_time : m.creation_time; }

// The extended attributes of a medium's directory.
std::vector<std::pair<std::string, std::string>> MediaXattrs(const MediaRecord& m) {
  std::vector<std::pair<std::string, std::string>> x = {{"vod.video_id", m.id},
                                                        {"vod.title", m.title},
                                                        {"vod.status", m.status},
                                                        {"vod.media_type", index::MediaKindName(m.kind)},
                                                        {"vod.duration", Fmt(m.duration)}};
  if (m.cate_id >= 0) x.emplace_back("vod.cate_id", std::to_string(m.cate_id));
  if (!m.tags.empty()) x.emplace_back("vod.tags", m.tags);
  if (!m.storage_class.empty()) x.emplace_back("vod.storage_class", m.storage_class);
  return x;
}

// by-id/ takes ids only: anything else (a shell's completion probes, a
// file manager's ".hidden") is not worth an API call.
bool LooksLikeId(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

// Entries streamed per index query when the kernel asks for more.
constexpr size_t kPageRows = 256;

}  // namespace

Namespace::Namespace(vod::VodApi& api, resolve::UrlBroker& broker, OriginReader& origin, index::IndexStore& store,
                     sync::Syncer& syncer, Executor& executor, Clock& clock, NsOptions options)
    : api_(api),
      broker_(broker),
      origin_(origin),
      store_(store),
      syncer_(syncer),
      executor_(executor),
      clock_(clock),
      options_(std::move(options)),
      hot_(options_.hot_bytes),
      records_(4096) {
  categories_ = std::make_shared<const Categories>();
}

Namespace::~Namespace() { Stop(); }

void Namespace::Start() { refresher_.Start(); }
void Namespace::Stop() { refresher_.Stop(); }

Status Namespace::Init() {
  VODFS_ASSIGN_OR_RETURN(auto cats, store_.Categories());
  auto loaded = LoadCategories(cats);
  VODFS_ASSIGN_OR_RETURN(auto mtime, store_.GetMeta("library.mtime"));
  library_mtime_ = str::ParseInt64(mtime.value_or("0")).value_or(0);

  CountEntries();
  MutexLock lock(&mu_);
  categories_ = std::move(loaded);
  return Status::Ok();
}

void Namespace::CountEntries() {
  uint64_t n = 0;
  for (MediaKind k : index::kAllKinds) {
    auto c = store_.CountMedia(k);
    if (c.ok()) n += static_cast<uint64_t>(*c);
  }
  entries_ = n;
}

NsStats Namespace::Stats() const {
  MutexLock lock(&mu_);
  NsStats s = stats_;
  s.hot_dirs = hot_.size();
  s.hot_bytes = hot_.usage();
  s.entries = entries_.load();
  return s;
}

Ino Namespace::TopIno(MediaKind kind) const {
  switch (kind) {
    case MediaKind::kVideo: return kVideosIno;
    case MediaKind::kAudio: return kAudioIno;
    case MediaKind::kImage: return kImagesIno;
  }
  return kVideosIno;
}

std::string Namespace::TopName(MediaKind kind) const {
  switch (kind) {
    case MediaKind::kVideo: return "videos";
    case MediaKind::kAudio: return "audio";
    case MediaKind::kImage: return "images";
  }
  return "videos";
}

NodeInfo Namespace::Fixed(Ino ino) const {
  NodeInfo n;
  n.ino = ino;
  n.kind = Kind::kDir;
  n.parent = kRootIno;
  n.mtime = LibraryTime();
  switch (ino) {
    case kRootIno: n.dir_type = DirType::kRoot; break;
    case kVideosIno: n.name = "videos"; n.dir_type = DirType::kVideos; break;
    case kAudioIno: n.name = "audio"; n.dir_type = DirType::kAudio; break;
    case kImagesIno: n.name = "images"; n.dir_type = DirType::kImages; break;
    case kCategoriesIno: n.name = "categories"; n.dir_type = DirType::kCategories; break;
    case kByIdIno: n.name = "by-id"; n.dir_type = DirType::kById; break;
    case kControlIno: n.name = ".vodfs"; n.dir_type = DirType::kControl; break;
    case kStatsIno:
      // The files of .vodfs/ have the time of this vodfs, whatever the
      // library does: a backup copies them again only after an upgrade.
      n.name = "stats";
      n.kind = Kind::kFile;
      n.parent = kControlIno;
      n.content = Content::kStats;
      n.mtime = options_.version_time;
      break;
    case kVersionIno:
      n.name = "version";
      n.mtime = options_.version_time;
      n.kind = Kind::kFile;
      n.parent = kControlIno;
      n.content = Content::kGenerated;
      n.text = options_.version_text;
      n.size = n.text.size();
      break;
    default: break;
  }
  return n;
}

Result<std::optional<MediaRecord>> Namespace::Record(uint64_t prefix) {
  if (auto hit = records_.Get(prefix)) return std::optional<MediaRecord>(*hit);
  {
    MutexLock lock(&mu_);
    ++stats_.index_queries;
  }
  VODFS_ASSIGN_OR_RETURN(auto rec, store_.MediaByIno(prefix));
  if (rec) records_.Put(prefix, *rec);
  return rec;
}

Result<NodeInfo> Namespace::RecordNode(const MediaRecord& m, uint16_t local) {
  NodeInfo n;
  const bool image = m.kind == MediaKind::kImage;
  if (local == kByIdLocal) {
    n.ino = MakeIno(m.ino, kByIdLocal);
    n.parent = kByIdIno;
    n.name = m.id;
    n.kind = Kind::kSymlink;
    n.link = "../" + TopName(m.kind) + "/" + m.name;
    n.size = n.link.size();
    n.mtime = TimeOf(m);
    return n;
  }
  if (local == kCategoryLinkLocal) {
    auto cats = CurrentCategories();
    auto c = cats->by_id.find(m.cate_id);
    if (image || c == cats->by_id.end()) return Error(ErrorCode::kStale, "no category link of " + m.id);
    return CategoryLink(m, c->second);
  }
  if (local != kSelfLocal) {
    if (image) return Error(ErrorCode::kStale, "no inode " + std::to_string(MakeIno(m.ino, local)));
    VODFS_ASSIGN_OR_RETURN(TreePtr tree, Tree(m));
    if (!tree->Find(local)) {
      // A segment of an HLS directory whose details the hot set dropped.
      for (const auto& node : tree->nodes()) {
        if (node.dir_type == DirType::kHls && !node.filled) {
          VODFS_ASSIGN_OR_RETURN(tree, FillHls(m, tree, node.local));
        }
      }
    }
    if (!tree->Find(local)) return Error(ErrorCode::kStale, "no inode " + std::to_string(MakeIno(m.ino, local)));
    return TreeNodeInfo(m, *tree, local);
  }
  n.ino = MakeIno(m.ino, kSelfLocal);
  n.parent = TopIno(m.kind);
  n.name = m.name;
  n.mtime = TimeOf(m);
  if (!image) {
    n.kind = Kind::kDir;
    n.dir_type = DirType::kMedia;
    n.xattrs = MediaXattrs(m);
    return n;
  }
  n.kind = Kind::kFile;
  n.content = Content::kMedia;
  n.ref.role = resolve::Role::kImage;
  n.ref.id = m.id;
  n.size = static_cast<uint64_t>(std::max<int64_t>(m.size, 0));
  if (m.size <= 0) {
    // The API gave no size: the origin's, once, remembered in the index.
    auto v = origin_.Probe(n.ref);
    if (v.ok()) {
      n.size = v->size;
      MediaRecord sized = m;
      sized.size = static_cast<int64_t>(v->size);
      auto w = store_.Write();
      if (w.ok() && w->SetMediaSize(m.id, sized.size).ok() && w->Commit().ok()) records_.Put(m.ino, sized);
    } else {
      VODFS_LOG(kWarn) << "Cannot learn the size of image " << m.id << ": " << v.error().ToString();
    }
  }
  n.xattrs = {{"vod.image_id", m.id}, {"vod.title", m.title}, {"vod.image_type", m.image_type}};
  if (m.width) n.xattrs.emplace_back("vod.width", std::to_string(m.width));
  if (m.height) n.xattrs.emplace_back("vod.height", std::to_string(m.height));
  return n;
}

NodeInfo Namespace::TreeNodeInfo(const MediaRecord& m, const MediaTree& t, uint16_t local) const {
  const TreeNode* node = t.Find(local);
  NodeInfo n;
  n.ino = MakeIno(m.ino, local);
  n.parent = MakeIno(m.ino, node->parent);
  n.name = node->name;
  n.kind = node->kind;
  n.dir_type = node->dir_type;
  n.size = node->size;
  n.mtime = node->mtime;
  n.content = node->content;
  n.ref = node->ref;
  n.text = node->text;
  n.xattrs = node->xattrs;
  return n;
}

Result<NodeInfo> Namespace::Get(Ino ino) {
  if (IsFixed(ino)) {
    if (ino < kRootIno || ino > kVersionIno) return Error(ErrorCode::kStale, "no inode " + std::to_string(ino));
    return Fixed(ino);
  }
  if (IsCategory(ino)) {
    auto cats = CurrentCategories();
    auto it = cats->by_ino.find(ino);
    if (it == cats->by_ino.end()) return Error(ErrorCode::kStale, "no category inode " + std::to_string(ino));
    return CategoryNode(cats->by_id.at(it->second));
  }
  VODFS_ASSIGN_OR_RETURN(auto rec, Record(PrefixOf(ino)));
  if (!rec) return Error(ErrorCode::kStale, "no inode " + std::to_string(ino) + " (no longer in the library)");
  return RecordNode(*rec, LocalOf(ino));
}

Status Namespace::WaitListing() {
  if (syncer_.Complete()) return Status::Ok();
  {
    MutexLock lock(&mu_);
    ++stats_.listing_waits;
  }
  return syncer_.WaitComplete();
}

Result<NodeInfo> Namespace::Lookup(Ino parent, const std::string& name) {
  if (name.empty() || name.size() > kMaxName || name == "." || name == "..") {
    return Error(ErrorCode::kNotFound, "no entry " + name);
  }
  switch (parent) {
    case kRootIno: {
      static const std::map<std::string, Ino> kTop = {{"videos", kVideosIno},     {"audio", kAudioIno},
                                                      {"images", kImagesIno},     {"categories", kCategoriesIno},
                                                      {"by-id", kByIdIno},        {".vodfs", kControlIno}};
      auto it = kTop.find(name);
      if (it == kTop.end()) return Error(ErrorCode::kNotFound, name);
      return Fixed(it->second);
    }
    case kControlIno:
      if (name == "stats") return Fixed(kStatsIno);
      if (name == "version") return Fixed(kVersionIno);
      return Error(ErrorCode::kNotFound, name);
    case kVideosIno:
    case kAudioIno:
    case kImagesIno: {
      const MediaKind kind = parent == kVideosIno ? MediaKind::kVideo
                             : parent == kAudioIno ? MediaKind::kAudio
                                                   : MediaKind::kImage;
      for (int attempt = 0; attempt < 2; ++attempt) {
        VODFS_ASSIGN_OR_RETURN(auto rec, store_.MediaByName(kind, name));
        if (rec) {
          records_.Put(rec->ino, *rec);
          return RecordNode(*rec, kSelfLocal);
        }
        // Not (yet) indexed: only a complete listing can say it does not exist.
        if (syncer_.Complete()) break;
        VODFS_RETURN_IF_ERROR(WaitListing());
      }
      return Error(ErrorCode::kNotFound, name);
    }
    case kByIdIno: {
      if (!LooksLikeId(name)) return Error(ErrorCode::kNotFound, name);
      VODFS_ASSIGN_OR_RETURN(MediaRecord rec, syncer_.Resolve(name));
      records_.Put(rec.ino, rec);
      return RecordNode(rec, kByIdLocal);
    }
    case kCategoriesIno: {
      auto cats = CurrentCategories();
      for (int64_t id : cats->top) {
        if (cats->by_id.at(id).name == name) return CategoryNode(cats->by_id.at(id));
      }
      return Error(ErrorCode::kNotFound, name);
    }
    default: break;
  }
  if (IsFixed(parent)) return Error(ErrorCode::kNotADirectory, "not a directory");
  if (IsCategory(parent)) {
    auto cats = CurrentCategories();
    auto it = cats->by_ino.find(parent);
    if (it == cats->by_ino.end()) return Error(ErrorCode::kStale, "no category inode " + std::to_string(parent));
    const Category& cat = cats->by_id.at(it->second);
    for (int64_t id : cat.children) {
      if (cats->by_id.at(id).name == name) return CategoryNode(cats->by_id.at(id));
    }
    VODFS_RETURN_IF_ERROR(WaitListing());
    VODFS_ASSIGN_OR_RETURN(auto rec, store_.CategoryMediaByName(cat.id, name));
    if (!rec) return Error(ErrorCode::kNotFound, name);
    return CategoryLink(*rec, cat);
  }
  VODFS_ASSIGN_OR_RETURN(auto rec, Record(PrefixOf(parent)));
  if (!rec) return Error(ErrorCode::kStale, "no inode " + std::to_string(parent) + " (no longer in the library)");
  if (rec->kind == MediaKind::kImage || LocalOf(parent) >= kByIdLocal) {
    return Error(ErrorCode::kNotADirectory, "not a directory");
  }
  VODFS_ASSIGN_OR_RETURN(TreePtr tree, Tree(*rec));
  const TreeNode* dir = tree->Find(LocalOf(parent));
  if (!dir) return Error(ErrorCode::kStale, "no inode " + std::to_string(parent));
  if (dir->kind != Kind::kDir) return Error(ErrorCode::kNotADirectory, dir->name);
  if (dir->dir_type == DirType::kHls && !dir->filled) {
    VODFS_ASSIGN_OR_RETURN(tree, FillHls(*rec, tree, dir->local));
  }
  const TreeNode* child = tree->Child(LocalOf(parent), name);
  if (!child) return Error(ErrorCode::kNotFound, name);
  return TreeNodeInfo(*rec, *tree, child->local);
}

// ---------------------------------------------------------------------------
// Directories

Result<std::shared_ptr<Namespace::DirCursor>> Namespace::OpenDir(Ino ino) {
  VODFS_ASSIGN_OR_RETURN(NodeInfo self, Get(ino));
  if (self.kind != Kind::kDir) return Error(ErrorCode::kNotADirectory, self.name);
  auto c = std::make_shared<DirCursor>();
  c->dir = ino;
  c->type = self.dir_type;
  auto fixed = [&](std::initializer_list<Ino> inos) {
    for (Ino i : inos) c->entries.push_back(Fixed(i));
  };
  switch (self.dir_type) {
    case DirType::kRoot:
      fixed({kControlIno, kAudioIno, kByIdIno, kCategoriesIno, kImagesIno, kVideosIno});
      return c;
    case DirType::kControl:
      fixed({kStatsIno, kVersionIno});
      return c;
    case DirType::kById:
      // Lookup only: any id resolves, and listing them all would double
      // every walk of the tree.
      return c;
    case DirType::kVideos:
    case DirType::kAudio:
    case DirType::kImages:
      // Never a partial listing: a library not listed yet is waited for.
      VODFS_RETURN_IF_ERROR(WaitListing());
      c->streamed = true;
      c->kind = self.dir_type == DirType::kVideos ? MediaKind::kVideo
                : self.dir_type == DirType::kAudio ? MediaKind::kAudio
                                                   : MediaKind::kImage;
      return c;
    case DirType::kCategories: {
      auto cats = CurrentCategories();
      for (int64_t id : cats->top) c->entries.push_back(CategoryNode(cats->by_id.at(id)));
      return c;
    }
    case DirType::kCategory: {
      VODFS_RETURN_IF_ERROR(WaitListing());
      auto cats = CurrentCategories();
      auto it = cats->by_ino.find(ino);
      if (it == cats->by_ino.end()) return Error(ErrorCode::kStale, "no category inode " + std::to_string(ino));
      const Category& cat = cats->by_id.at(it->second);
      for (int64_t id : cat.children) c->entries.push_back(CategoryNode(cats->by_id.at(id)));
      c->category = cat.id;
      c->streamed = true;
      return c;
    }
    default: break;
  }
  // A directory of a medium.
  VODFS_ASSIGN_OR_RETURN(auto rec, Record(PrefixOf(ino)));
  if (!rec) return Error(ErrorCode::kStale, "no inode " + std::to_string(ino));
  VODFS_ASSIGN_OR_RETURN(TreePtr tree, Tree(*rec));
  const TreeNode* dir = tree->Find(LocalOf(ino));
  if (!dir) return Error(ErrorCode::kStale, "no inode " + std::to_string(ino));
  if (dir->dir_type == DirType::kHls && !dir->filled) {
    VODFS_ASSIGN_OR_RETURN(tree, FillHls(*rec, tree, dir->local));
    dir = tree->Find(LocalOf(ino));
  }
  for (uint16_t l : dir->children) {
    NodeInfo n = TreeNodeInfo(*rec, *tree, l);
    n.xattrs.clear();
    c->entries.push_back(std::move(n));
  }
  return c;
}

Result<std::vector<NodeInfo>> Namespace::ReadDir(DirCursor& c, uint64_t offset, size_t max) {
  std::vector<NodeInfo> out;
  if (!c.streamed) {
    for (uint64_t i = offset; i < c.entries.size() && out.size() < max; ++i) out.push_back(c.entries[i]);
    return out;
  }
  if (c.type == DirType::kCategory) {
    auto cats = CurrentCategories();
    auto it = cats->by_id.find(c.category);
    if (it == cats->by_id.end()) return out;  // the category went away while read
    return ReadCategory(it->second, c, offset, max);
  }
  return ReadTop(c.kind, c, offset, max);
}

Result<std::vector<NodeInfo>> Namespace::ReadTop(MediaKind kind, DirCursor& c, uint64_t offset, size_t max) {
  std::vector<NodeInfo> out;
  while (out.size() < max) {
    const size_t want = std::min(max - out.size(), kPageRows);
    // The usual case continues after the last name; a seek skips rows.
    const bool continues = offset == c.next;
    {
      MutexLock lock(&mu_);
      ++stats_.index_queries;
    }
    VODFS_ASSIGN_OR_RETURN(auto page, store_.MediaPage(kind, continues ? c.after : "", want, continues ? 0 : offset));
    for (const auto& m : page) {
      NodeInfo n;
      n.ino = MakeIno(m.ino, kSelfLocal);
      n.parent = TopIno(kind);
      n.name = m.name;
      n.mtime = TimeOf(m);
      if (kind == MediaKind::kImage) {
        n.kind = Kind::kFile;
        n.content = Content::kMedia;
        n.size = static_cast<uint64_t>(std::max<int64_t>(m.size, 0));
      } else {
        n.kind = Kind::kDir;
        n.dir_type = DirType::kMedia;
      }
      out.push_back(std::move(n));
    }
    offset += page.size();
    c.next = offset;
    if (!page.empty()) c.after = page.back().name;
    if (page.size() < want) break;
  }
  return out;
}

Result<std::vector<NodeInfo>> Namespace::List(Ino dir) {
  VODFS_ASSIGN_OR_RETURN(auto c, OpenDir(dir));
  std::vector<NodeInfo> all;
  while (true) {
    VODFS_ASSIGN_OR_RETURN(auto part, ReadDir(*c, all.size(), 1024));
    if (part.empty()) break;
    for (auto& n : part) all.push_back(std::move(n));
  }
  return all;
}

// ---------------------------------------------------------------------------
// Changes

void Namespace::Notify(const std::vector<std::pair<Ino, std::string>>& entries, const std::vector<Ino>& inodes) {
  Notifier* n = notifier_.load();
  {
    MutexLock lock(&mu_);
    stats_.invalidations += entries.size() + inodes.size();
  }
  if (!n) return;
  for (const auto& [parent, name] : entries) n->InvalidateEntry(parent, name);
  for (Ino ino : inodes) n->InvalidateInode(ino);
}

void Namespace::InvalidateContent(Ino ino) {
  if (Notifier* n = notifier_.load()) n->InvalidateInode(ino);
}

void Namespace::OnChanges(const std::vector<index::ChangeRecord>& changes) {
  std::vector<std::pair<Ino, std::string>> entries;
  std::vector<Ino> inodes;
  auto cats = CurrentCategories();
  auto cat_ino = [&cats](int64_t id) -> Ino {
    auto it = cats->by_id.find(id);
    return it == cats->by_id.end() ? 0 : it->second.ino;
  };
  bool reload_categories = false;
  for (const auto& c : changes) {
    using Op = index::ChangeRecord::Op;
    switch (c.op) {
      case Op::kReset:
        // Too many changes to name: forget everything of that kind.
        hot_.Clear();
        records_.Clear();
        inodes.push_back(TopIno(c.kind));
        break;
      case Op::kCategories:
        reload_categories = true;
        break;
      case Op::kAdd:
        records_.Erase(c.ino);
        entries.emplace_back(TopIno(c.kind), c.new_name);  // a cached "no such entry"
        if (Ino ci = cat_ino(c.new_cate)) entries.emplace_back(ci, c.new_name);
        inodes.push_back(TopIno(c.kind));
        break;
      case Op::kModify:
      case Op::kRemove: {
        records_.Erase(c.ino);
        // What the kernel may hold of the medium's files goes too.
        TreePtr old = hot_.Get(c.id);
        hot_.Erase(c.id);
        if (!old && c.kind != MediaKind::kImage) {
          auto d = store_.Details(c.id);
          if (d.ok() && *d) {
            auto parsed = MediaTree::Parse((*d)->body);
            if (parsed.ok()) old = std::make_shared<const MediaTree>(std::move(parsed).value());
          }
        }
        if (old) {
          for (const auto& node : old->nodes()) {
            if (node.local == kSelfLocal) continue;
            entries.emplace_back(MakeIno(c.ino, node.parent), node.name);
            inodes.push_back(MakeIno(c.ino, node.local));
          }
        }
        const bool moved = c.op == Op::kRemove || c.old_name != c.new_name;
        if (moved) entries.emplace_back(TopIno(c.kind), c.old_name);
        if (c.op == Op::kModify && moved) entries.emplace_back(TopIno(c.kind), c.new_name);
        if (moved || c.old_cate != c.new_cate) {
          if (Ino ci = cat_ino(c.old_cate)) entries.emplace_back(ci, c.old_name);
          if (c.op == Op::kModify) {
            if (Ino ci = cat_ino(c.new_cate)) entries.emplace_back(ci, c.new_name);
          }
        }
        inodes.push_back(MakeIno(c.ino, kSelfLocal));
        inodes.push_back(MakeIno(c.ino, kByIdLocal));
        inodes.push_back(MakeIno(c.ino, kCategoryLinkLocal));
        inodes.push_back(TopIno(c.kind));
        break;
      }
    }
  }
  if (reload_categories) {
    auto records = store_.Categories();
    if (records.ok()) {
      auto loaded = LoadCategories(*records);
      for (const auto& [id, cat] : cats->by_id) {
        inodes.push_back(cat.ino);
        entries.emplace_back(cat.parent < 0 ? kCategoriesIno : cats->by_id.at(cat.parent).ino, cat.name);
      }
      inodes.push_back(kCategoriesIno);
      MutexLock lock(&mu_);
      categories_ = std::move(loaded);
    } else {
      VODFS_LOG(kWarn) << "Cannot read the categories from the index: " << records.error().ToString();
    }
  }
  if (auto mtime = store_.GetMeta("library.mtime"); mtime.ok()) {
    const int64_t t = str::ParseInt64(mtime->value_or("0")).value_or(0);
    if (t != library_mtime_.exchange(t)) {
      for (Ino i : {kRootIno, kVideosIno, kAudioIno, kImagesIno, kCategoriesIno, kByIdIno, kControlIno}) {
        inodes.push_back(i);
      }
    }
  }
  std::sort(inodes.begin(), inodes.end());
  inodes.erase(std::unique(inodes.begin(), inodes.end()), inodes.end());
  std::sort(entries.begin(), entries.end());
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
  {
    MutexLock lock(&mu_);
    stats_.changes_applied += changes.size();
  }
  CountEntries();
  Notify(entries, inodes);
}

}  // namespace vodfs::ns
