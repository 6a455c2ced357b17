// The category tree: categories/ and its directories, whose entries are
// the subcategories and, as symlinks into videos/ and audio/, the media of
// the category (read from the index page by page).
#include <algorithm>

#include "ns/dir_cursor.h"
#include "vodfs/ns/names.h"
#include "vodfs/ns/namespace.h"
#include "vodfs/util/log.h"

namespace vodfs::ns {

using index::MediaRecord;

namespace {

constexpr size_t kPageRows = 256;
// Deeper than the service allows (3 levels); a loop in parent ids stops here.
constexpr int kMaxDepth = 8;

}  // namespace

std::shared_ptr<const Namespace::Categories> Namespace::LoadCategories(
    const std::vector<index::CategoryRecord>& records) const {
  auto c = std::make_shared<Categories>();
  for (const auto& r : records) {
    Category cat;
    cat.id = r.id;
    cat.parent = r.parent_id;
    cat.cate_name = r.name;
    cat.level = r.level;
    c->by_id[r.id] = cat;
  }
  // A category whose parent is not listed is shown at the top.
  for (auto& [id, cat] : c->by_id) {
    if (cat.parent >= 0 && !c->by_id.count(cat.parent)) cat.parent = -1;
  }
  // Names among siblings: sanitized, unique by a stable key (the id).
  std::map<int64_t, std::vector<int64_t>> siblings;
  for (const auto& [id, cat] : c->by_id) siblings[cat.parent].push_back(id);
  for (auto& [parent, ids] : siblings) {
    std::vector<NameRequest> names;
    for (int64_t id : ids) {
      const std::string& raw = c->by_id[id].cate_name;
      names.push_back({SanitizeName(raw).empty() ? std::to_string(id) : FileName(raw, ""), std::to_string(id),
                       std::to_string(id)});
    }
    auto unique = UniqueNames(names);
    for (size_t i = 0; i < ids.size(); ++i) c->by_id[ids[i]].name = unique[i];
    std::sort(ids.begin(), ids.end(), [&c](int64_t a, int64_t b) { return c->by_id[a].name < c->by_id[b].name; });
    if (parent < 0) {
      c->top = ids;
    } else {
      c->by_id[parent].children = ids;
    }
  }
  for (auto& [id, cat] : c->by_id) {
    int depth = 0;
    for (int64_t p = cat.parent; p >= 0 && depth < kMaxDepth; p = c->by_id[p].parent) ++depth;
    cat.depth = depth;
    // Inode prefixes with bit 47 set never meet those of media.
    uint64_t prefix = kCategoryPrefixBit | index::InoPrefixFor("category/" + std::to_string(id));
    while (c->by_ino.count(MakeIno(prefix, kSelfLocal))) {
      prefix = kCategoryPrefixBit | index::InoPrefixFor("category/" + std::to_string(id), prefix & ~kCategoryPrefixBit);
    }
    cat.ino = MakeIno(prefix, kSelfLocal);
    c->by_ino[cat.ino] = id;
  }
  return c;
}

std::shared_ptr<const Namespace::Categories> Namespace::CurrentCategories() const {
  MutexLock lock(&mu_);
  return categories_;
}

NodeInfo Namespace::CategoryNode(const Category& c) const {
  NodeInfo n;
  n.ino = c.ino;
  n.name = c.name;
  n.kind = Kind::kDir;
  n.dir_type = DirType::kCategory;
  n.mtime = LibraryTime();
  n.parent = kCategoriesIno;
  if (c.parent >= 0) {
    auto cats = CurrentCategories();
    auto p = cats->by_id.find(c.parent);
    if (p != cats->by_id.end()) n.parent = p->second.ino;
  }
  n.xattrs = {{"vod.cate_id", std::to_string(c.id)}, {"vod.cate_name", c.cate_name},
              {"vod.level", std::to_string(c.level)}};
  return n;
}

NodeInfo Namespace::CategoryLink(const MediaRecord& m, const Category& c) const {
  NodeInfo n;
  n.ino = MakeIno(m.ino, kCategoryLinkLocal);
  n.parent = c.ino;
  n.name = m.name;
  n.kind = Kind::kSymlink;
  std::string up;
  for (int i = 0; i < c.depth + 2; ++i) up += "../";
  n.link = up + TopName(m.kind) + "/" + m.name;
  n.size = n.link.size();
  n.mtime = LibraryTime();
  return n;
}

Result<std::vector<NodeInfo>> Namespace::ReadCategory(const Category& cat, DirCursor& c, uint64_t offset,
                                                      size_t max) {
  std::vector<NodeInfo> out;
  const uint64_t subs = c.entries.size();
  const uint64_t start = offset;
  for (; offset < subs && out.size() < max; ++offset) out.push_back(c.entries[offset]);
  while (out.size() < max) {
    const size_t want = std::min(max - out.size(), kPageRows);
    // The usual case continues after the last name; a seek skips rows.
    const bool continues = offset == c.next && c.next > subs;
    VODFS_ASSIGN_OR_RETURN(auto page, store_.CategoryMediaPage(cat.id, continues ? c.after : "", want,
                                                              continues ? 0 : offset - subs));
    for (const auto& m : page) {
      // A subcategory of the same name keeps it (the medium stays in videos/).
      bool shadowed = false;
      for (const auto& s : c.entries) shadowed |= s.name == m.name;
      if (shadowed) {
        VODFS_LOG(kWarn) << "Category " << cat.id << " has a subcategory named like its medium " << m.id
                         << "; the medium is shown in " << TopName(m.kind) << "/ only";
        continue;
      }
      out.push_back(CategoryLink(m, cat));
    }
    if (!page.empty()) c.after = page.back().name;
    offset = start + out.size();
    c.next = offset;
    if (page.size() < want) break;
  }
  return out;
}

}  // namespace vodfs::ns
