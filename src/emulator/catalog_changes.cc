// Catalog: applying library changes (add, modify, delete) to the change
// state, and the counts of what they did. Runs under the catalog's write
// lock (see catalog.h).
#include <algorithm>
#include <cstdio>
#include <tuple>

#include "emulator/catalog.h"
#include "vodfs/util/strings.h"

namespace vodfs::emu {

using catalog_internal::ChangedEntry;
using catalog_internal::ChangeOrder;

namespace {

bool KeyLess(const ChangedEntry& a, const ChangedEntry& b) {
  return std::tie(a.creation_time, a.id) < std::tie(b.creation_time, b.id);
}
bool PositionLess(const ChangedEntry& a, const ChangedEntry& b) { return a.position < b.position; }

// Merges sorted `more` into sorted `into`, dropping duplicates.
void MergeSorted(std::vector<uint32_t> more, std::vector<uint32_t>* into) {
  std::sort(more.begin(), more.end());
  std::vector<uint32_t> out;
  out.reserve(into->size() + more.size());
  std::merge(into->begin(), into->end(), more.begin(), more.end(), std::back_inserter(out));
  out.erase(std::unique(out.begin(), out.end()), out.end());
  *into = std::move(out);
}

template <typename Less>
void MergeEntries(std::vector<ChangedEntry> more, std::vector<ChangedEntry>* into, Less less) {
  std::sort(more.begin(), more.end(), less);
  std::vector<ChangedEntry> out;
  out.reserve(into->size() + more.size());
  std::merge(std::make_move_iterator(into->begin()), std::make_move_iterator(into->end()),
             std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()),
             std::back_inserter(out), less);
  *into = std::move(out);
}

std::string Hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

Error Bad(const std::string& why) { return Error(ErrorCode::kInvalidArgument, why); }

const char* KindName(bool image) { return image ? "image" : "media"; }

}  // namespace

Catalog::Counts Catalog::GetCounts() const {
  View v = Read();
  Counts n;
  n.videos = v.Count(Collection::kVideo);
  n.audio = v.Count(Collection::kAudio);
  n.images = v.Count(Collection::kImage);
  for (const auto& [id, ms] : state_.media) ++(ms.added ? n.added_media : n.modified_media);
  for (const auto& [id, is] : state_.images) ++(is.added ? n.added_images : n.modified_images);
  n.deleted_media = state_.deleted_media.size();
  n.deleted_images = state_.deleted_images.size();
  return n;
}

void Catalog::Reset() {
  std::unique_lock<std::shared_mutex> lock = LockExclusive();
  state_ = ChangeState();
}

Result<std::vector<std::string>> Catalog::Apply(const std::vector<LibraryChange>& changes,
                                                int64_t now) {
  std::unique_lock<std::shared_mutex> lock = LockExclusive();
  // A single change checks everything before it changes anything; a batch
  // is undone from a copy when one of its changes fails.
  std::optional<ChangeState> before;
  if (changes.size() > 1) before = state_;
  std::vector<std::string> ids;
  for (size_t i = 0; i < changes.size(); ++i) {
    auto r = ApplyOne(changes[i], now);
    if (!r.ok()) {
      if (before) state_ = std::move(*before);
      if (changes.size() == 1) return r.error();
      return Bad("change " + std::to_string(i) + ": " + r.error().message);
    }
    ids.insert(ids.end(), std::make_move_iterator(r->begin()), std::make_move_iterator(r->end()));
  }
  return ids;
}

Result<std::vector<std::string>> Catalog::ApplyOne(const LibraryChange& c, int64_t now) {
  switch (c.op) {
    case LibraryChange::Op::kAdd:
      return Add(c, now);
    case LibraryChange::Op::kModify:
      return Modify(c, now);
    case LibraryChange::Op::kDelete:
      return Delete(c);
  }
  return Bad("unknown change");
}

Status Catalog::CheckCategory(const LibraryChange& c) const {
  if (!c.cate_id || *c.cate_id == -1) return Status::Ok();
  for (const auto& cat : base_->Categories()) {
    if (cat.id == *c.cate_id) return Status::Ok();
  }
  return Bad("unknown category " + std::to_string(*c.cate_id));
}

std::string Catalog::NewId(bool image) {
  // Two 64-bit mixes of the counter: 32 lowercase hex digits, like the
  // service's ids; one that is already taken is skipped.
  const uint64_t salt = image ? 0x1a6e0000'00000000ULL : 0x3ed1a000'00000000ULL;
  while (true) {
    const uint64_t n = state_.next_id++;
    std::string id =
        Hex16(str::Mix64(salt ^ n)) + Hex16(str::Mix64(n * 0x9e3779b97f4a7c15ULL + salt));
    if (base_->FindMedia(id) || base_->FindImage(id) || state_.media.count(id) ||
        state_.images.count(id) || state_.deleted_media.count(id) ||
        state_.deleted_images.count(id)) {
      continue;
    }
    return id;
  }
}

Result<std::vector<std::string>> Catalog::Add(const LibraryChange& c, int64_t now) {
  VODFS_RETURN_IF_ERROR(CheckCategory(c));
  const Collection col =
      c.image ? Collection::kImage : (c.type == "audio" ? Collection::kAudio : Collection::kVideo);
  std::vector<std::string> ids;
  std::vector<ChangedEntry> fresh;
  ids.reserve(c.count);
  fresh.reserve(c.count);
  for (size_t k = 1; k <= c.count; ++k) {
    std::string id = NewId(c.image);
    const size_t ordinal = c.count > 1 ? k : 0;
    if (c.image) {
      auto img = std::make_shared<const Image>(NewImage(c, id, ordinal, now));
      fresh.push_back({img->creation_time, img->modification_time, id, 0});
      state_.images[id] = ImageState{std::move(img), true, 0, 0};
    } else {
      auto m = std::make_shared<const Media>(NewMedia(c, id, ordinal, now));
      fresh.push_back({m->creation_time, m->modification_time, id, 0});
      MediaState ms;
      ms.record = std::move(m);
      ms.added = true;
      ms.collection = col;
      state_.media.emplace(id, std::move(ms));
    }
    ids.push_back(std::move(id));
  }
  MergeEntries(std::move(fresh), &state_.orders[static_cast<size_t>(col)].added, KeyLess);
  return ids;
}

std::optional<Catalog::Target> Catalog::FindTarget(const std::string& id, bool image) const {
  Target t;
  t.id = id;
  if (image) {
    t.collection = Collection::kImage;
    if (state_.deleted_images.count(id)) return std::nullopt;
    if (auto it = state_.images.find(id); it != state_.images.end()) {
      t.added = it->second.added;
      t.index = it->second.index;
      t.position = static_cast<uint32_t>(it->second.index);
      return t;
    }
    auto index = base_->FindImage(id);
    if (!index) return std::nullopt;
    t.index = *index;
    t.position = static_cast<uint32_t>(*index);
    return t;
  }
  if (state_.deleted_media.count(id)) return std::nullopt;
  if (auto it = state_.media.find(id); it != state_.media.end()) {
    t.collection = it->second.collection;
    t.added = it->second.added;
    t.index = it->second.index;
    t.position = it->second.position;
    return t;
  }
  auto index = base_->FindMedia(id);
  if (!index) return std::nullopt;
  const auto& audio = base_->IndexesOfType("audio");
  t.collection = std::binary_search(audio.begin(), audio.end(), *index) ? Collection::kAudio
                                                                        : Collection::kVideo;
  t.index = *index;
  t.position = PositionOfIndex(t.collection, *index);
  return t;
}

Result<std::vector<Catalog::Target>> Catalog::Targets(const LibraryChange& c) const {
  std::vector<Target> out;
  const Collection typed = c.type == "audio" ? Collection::kAudio : Collection::kVideo;
  if (!c.ids.empty()) {
    for (const auto& id : c.ids) {
      auto t = FindTarget(id, c.image);
      if (!t) return Bad(std::string("unknown ") + KindName(c.image) + " id " + id);
      if (!c.image && !c.type.empty() && t->collection != typed) {
        return Bad("media " + id + " is not of type " + c.type);
      }
      out.push_back(std::move(*t));
    }
    return out;
  }
  // `count` distinct live entries picked from `seed`: indexes drawn from
  // the base and added entries of the collections, deleted ones rejected.
  std::vector<Collection> cols;
  if (c.image) {
    cols = {Collection::kImage};
  } else if (c.type.empty()) {
    cols = {Collection::kVideo, Collection::kAudio};
  } else {
    cols = {typed};
  }
  size_t live = 0, space = 0;
  for (Collection col : cols) {
    const ChangeOrder& co = state_.orders[static_cast<size_t>(col)];
    live += Base(col).size - co.deleted.size() + co.added.size();
    space += Base(col).size + co.added.size();
  }
  if (c.count > live) {
    return Bad("count " + std::to_string(c.count) + " is more than the " + std::to_string(live) +
               " live " + (c.image ? "images" : (c.type.empty() ? "media" : c.type)));
  }
  // Slot u of the pick space -> (collection, base position or added index).
  auto resolve = [&](size_t u, Target* t) {
    for (Collection col : cols) {
      const ChangeOrder& co = state_.orders[static_cast<size_t>(col)];
      const size_t base_size = Base(col).size;
      if (u < base_size) {
        const uint32_t p = static_cast<uint32_t>(u);
        if (std::binary_search(co.deleted.begin(), co.deleted.end(), p)) return false;
        t->collection = col;
        t->position = p;
        t->index = Base(col).indexes ? (*Base(col).indexes)[p] : p;
        t->id = BaseId(col, p);
        t->added = false;
        return true;
      }
      u -= base_size;
      if (u < co.added.size()) {
        t->collection = col;
        t->id = co.added[u].id;
        t->added = true;
        return true;
      }
      u -= co.added.size();
    }
    return false;
  };
  uint64_t rng = str::Mix64(*c.seed ^ 0x5eedULL);
  auto draw = [&rng](size_t n) { return static_cast<size_t>(str::Mix64(rng++) % n); };
  std::vector<size_t> picked;
  if (c.count * 2 <= live && live * 2 >= space) {
    // Few of many: draw and reject repeats and deleted slots.
    std::unordered_set<size_t> seen;
    Target t;
    while (picked.size() < c.count) {
      const size_t u = draw(space);
      if (seen.count(u) || !resolve(u, &t)) continue;
      seen.insert(u);
      picked.push_back(u);
    }
  } else {
    // Many of few: a partial shuffle of every live slot.
    Target t;
    std::vector<size_t> slots;
    for (size_t u = 0; u < space; ++u) {
      if (resolve(u, &t)) slots.push_back(u);
    }
    for (size_t k = 0; k < c.count; ++k) {
      std::swap(slots[k], slots[k + draw(slots.size() - k)]);
      picked.push_back(slots[k]);
    }
  }
  for (size_t u : picked) {
    Target t;
    resolve(u, &t);
    // A base entry that is modified keeps its state's record.
    out.push_back(std::move(t));
  }
  // Reported in creation order.
  auto key = [this](const Target& t) {
    if (!t.added) return SortKey{BaseCreationTime(t.collection, t.position), t.id};
    const auto& m = t.collection == Collection::kImage
                        ? state_.images.at(t.id).record->creation_time
                        : state_.media.at(t.id).record->creation_time;
    return SortKey{m, t.id};
  };
  std::vector<std::pair<SortKey, size_t>> keyed;
  for (size_t k = 0; k < out.size(); ++k) keyed.emplace_back(key(out[k]), k);
  std::sort(keyed.begin(), keyed.end());
  std::vector<Target> sorted;
  sorted.reserve(out.size());
  for (auto& [k, i] : keyed) sorted.push_back(std::move(out[i]));
  return sorted;
}

Result<std::vector<std::string>> Catalog::Modify(const LibraryChange& c, int64_t now) {
  VODFS_RETURN_IF_ERROR(CheckCategory(c));
  VODFS_ASSIGN_OR_RETURN(std::vector<Target> targets, Targets(c));
  std::array<std::vector<uint32_t>, 3> new_changed;
  std::array<std::vector<ChangedEntry>, 3> new_modified;
  std::vector<std::string> ids;
  ids.reserve(targets.size());
  // Updates the order entry of an already changed or added entry.
  auto update = [this](Collection col, bool added, uint32_t position, int64_t created,
                       const std::string& id, int64_t mtime) {
    ChangeOrder& co = state_.orders[static_cast<size_t>(col)];
    if (added) {
      ChangedEntry probe{created, 0, id, 0};
      auto it = std::lower_bound(co.added.begin(), co.added.end(), probe, KeyLess);
      if (it != co.added.end() && it->id == id) it->modification_time = mtime;
    } else {
      ChangedEntry probe{0, 0, "", position};
      auto it = std::lower_bound(co.modified.begin(), co.modified.end(), probe, PositionLess);
      if (it != co.modified.end() && it->position == position) it->modification_time = mtime;
    }
  };
  for (const Target& t : targets) {
    const size_t col = static_cast<size_t>(t.collection);
    if (c.image) {
      auto [it, fresh] = state_.images.try_emplace(t.id);
      ImageState& is = it->second;
      if (fresh) {
        is.record = std::make_shared<const Image>(base_->ImageAt(t.index));
        is.index = t.index;
      }
      Image img = *is.record;
      if (ModifyImage(c, now, &img)) is.object_mtime = img.modification_time;
      is.record = std::make_shared<const Image>(img);
      if (fresh) {
        new_changed[col].push_back(t.position);
        new_modified[col].push_back({img.creation_time, img.modification_time, t.id, t.position});
      } else {
        update(t.collection, is.added, t.position, img.creation_time, t.id, img.modification_time);
      }
    } else {
      auto [it, fresh] = state_.media.try_emplace(t.id);
      MediaState& ms = it->second;
      if (fresh) {
        ms.record = std::make_shared<const Media>(base_->MediaAt(t.index));
        ms.collection = t.collection;
        ms.index = t.index;
        ms.position = t.position;
      }
      Media m = *ms.record;
      ModifyMedia(c, now, &m, &ms.introduced);
      ms.record = std::make_shared<const Media>(m);
      if (fresh) {
        new_changed[col].push_back(t.position);
        new_modified[col].push_back({m.creation_time, m.modification_time, t.id, t.position});
      } else {
        update(t.collection, ms.added, t.position, m.creation_time, t.id, m.modification_time);
      }
    }
    ids.push_back(t.id);
  }
  for (size_t col = 0; col < 3; ++col) {
    if (new_changed[col].empty()) continue;
    ChangeOrder& co = state_.orders[col];
    MergeSorted(std::move(new_changed[col]), &co.changed);
    MergeEntries(std::move(new_modified[col]), &co.modified, PositionLess);
  }
  return ids;
}

Result<std::vector<std::string>> Catalog::Delete(const LibraryChange& c) {
  VODFS_ASSIGN_OR_RETURN(std::vector<Target> targets, Targets(c));
  std::array<std::vector<uint32_t>, 3> deleted;
  std::array<std::unordered_set<std::string>, 3> gone_added;
  std::vector<std::string> ids;
  ids.reserve(targets.size());
  for (const Target& t : targets) {
    const size_t col = static_cast<size_t>(t.collection);
    if (t.added) {
      gone_added[col].insert(t.id);
    } else {
      deleted[col].push_back(t.position);
      (c.image ? state_.deleted_images : state_.deleted_media).insert(t.id);
    }
    if (c.image) {
      state_.images.erase(t.id);
    } else {
      state_.media.erase(t.id);
    }
    ids.push_back(t.id);
  }
  for (size_t col = 0; col < 3; ++col) {
    ChangeOrder& co = state_.orders[col];
    if (!gone_added[col].empty()) {
      std::erase_if(co.added,
                    [&](const ChangedEntry& e) { return gone_added[col].count(e.id) > 0; });
    }
    if (!deleted[col].empty()) {
      std::sort(deleted[col].begin(), deleted[col].end());
      const auto& d = deleted[col];
      std::erase_if(co.modified, [&d](const ChangedEntry& e) {
        return std::binary_search(d.begin(), d.end(), e.position);
      });
      MergeSorted(d, &co.changed);
      MergeSorted(std::move(deleted[col]), &co.deleted);
    }
  }
  return ids;
}

}  // namespace vodfs::emu
