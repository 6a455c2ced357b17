// Catalog: the ordered queries (Selection), the live records and objects
// (View), and the base order's lazily built modification index. Changes are
// applied in catalog_changes.cc.
#include "emulator/catalog.h"

#include <algorithm>
#include <limits>
#include <tuple>

namespace vodfs::emu {

using catalog_internal::BaseOrder;
using catalog_internal::ChangedEntry;
using catalog_internal::ChangeOrder;

namespace {

constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();

bool PtrKeyLess(const ChangedEntry* a, const ChangedEntry* b) {
  return std::tie(a->creation_time, a->id) < std::tie(b->creation_time, b->id);
}
// First position in [0, n) whose time is >= t, for times ascending in the
// position.
template <typename TimeAt>
size_t FirstAtLeast(size_t n, int64_t t, const TimeAt& time_at) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (time_at(mid) < t) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

// Positions [first, end) whose times fall in `r`, for ascending times.
template <typename TimeAt>
std::pair<size_t, size_t> PositionsIn(size_t n, const TimeRange& r, const TimeAt& time_at) {
  const size_t first = r.min == kMinTime ? 0 : FirstAtLeast(n, r.min, time_at);
  const size_t end = r.max == kMaxTime ? n : FirstAtLeast(n, r.max + 1, time_at);
  return {first, std::max(first, end)};
}

// Number of elements of a sorted vector in [lo, hi).
size_t CountIn(const std::vector<uint32_t>& v, size_t lo, size_t hi) {
  auto a = std::lower_bound(v.begin(), v.end(), lo);
  auto b = std::lower_bound(a, v.end(), hi);
  return static_cast<size_t>(b - a);
}

}  // namespace

// ---------------------------------------------------------------------------
// Selection

size_t Selection::LibraryIndex(uint32_t position) const {
  return base_->indexes ? (*base_->indexes)[position] : position;
}

int64_t Selection::BaseCreationTime(int64_t slot) const {
  const size_t index = LibraryIndex(PositionOf(slot));
  return base_->collection == Collection::kImage ? lib_->ImageCreationTimeAt(index)
                                                 : lib_->CreationTimeAt(index);
}

std::string Selection::BaseId(int64_t slot) const {
  const size_t index = LibraryIndex(PositionOf(slot));
  return base_->collection == Collection::kImage ? lib_->ImageIdAt(index) : lib_->MediaIdAt(index);
}

int Selection::Compare(int64_t slot, const SortKey& key) const {
  const int64_t t = BaseCreationTime(slot);
  if (t != key.creation_time) return t < key.creation_time ? -1 : 1;
  const int c = BaseId(slot).compare(key.id);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

int64_t Selection::LowerSlot(const SortKey& key) const {
  int64_t lo = lo_, hi = hi_;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (Compare(mid, key) < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

int64_t Selection::UpperSlot(const SortKey& key) const {
  int64_t lo = lo_, hi = hi_;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (Compare(mid, key) <= 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

int64_t Selection::NextLive(int64_t slot) const {
  if (explicit_ || excluded_ == nullptr || slot >= hi_) return slot;
  auto it = std::lower_bound(excluded_->begin(), excluded_->end(), static_cast<uint32_t>(slot));
  while (slot < hi_ && it != excluded_->end() && static_cast<int64_t>(*it) == slot) {
    ++slot;
    ++it;
  }
  return slot;
}

int64_t Selection::PrevLive(int64_t slot) const {
  if (explicit_ || excluded_ == nullptr || slot < lo_) return slot;
  auto it = std::upper_bound(excluded_->begin(), excluded_->end(), static_cast<uint32_t>(slot));
  while (slot >= lo_ && it != excluded_->begin() && static_cast<int64_t>(*(it - 1)) == slot) {
    --slot;
    --it;
  }
  return slot;
}

void Selection::Walker::Choose() {
  const bool base = HasBase(), extra = HasExtra();
  if (!base || !extra) {
    on_extra_ = extra;
    return;
  }
  const ChangedEntry* x = s_->extras_[static_cast<size_t>(e_)];
  const int64_t t = s_->BaseCreationTime(b_);
  int c;  // the base entry against the extra one
  if (t != x->creation_time) {
    c = t < x->creation_time ? -1 : 1;
  } else {
    c = s_->BaseId(b_).compare(x->id);
  }
  on_extra_ = desc_ ? c < 0 : c > 0;
}

void Selection::Walker::Next() {
  if (Done()) return;
  if (on_extra_) {
    e_ += desc_ ? -1 : 1;
  } else {
    b_ = desc_ ? s_->PrevLive(b_ - 1) : s_->NextLive(b_ + 1);
  }
  Choose();
}

EntryRef Selection::Walker::Entry() const {
  EntryRef r;
  r.collection = s_->base_->collection;
  if (on_extra_) {
    r.changed = s_->extras_[static_cast<size_t>(e_)];
    r.position = r.changed->position;
  } else {
    r.position = s_->PositionOf(b_);
    r.index = s_->LibraryIndex(r.position);
  }
  return r;
}

int64_t Selection::Walker::CreationTime() const {
  return on_extra_ ? s_->extras_[static_cast<size_t>(e_)]->creation_time : s_->BaseCreationTime(b_);
}

std::string Selection::Walker::Id() const {
  return on_extra_ ? s_->extras_[static_cast<size_t>(e_)]->id : s_->BaseId(b_);
}

Selection::Walker Selection::Begin(bool desc) const {
  Walker w;
  w.s_ = this;
  w.desc_ = desc;
  if (desc) {
    w.b_ = PrevLive(hi_ - 1);
    w.e_ = static_cast<int64_t>(extras_.size()) - 1;
  } else {
    w.b_ = NextLive(lo_);
    w.e_ = 0;
  }
  w.Choose();
  return w;
}

Selection::Walker Selection::Seek(const SortKey& key, bool inclusive, bool desc) const {
  auto before = [](const ChangedEntry* e, const SortKey& k) {
    return std::tie(e->creation_time, e->id) < std::tie(k.creation_time, k.id);
  };
  auto after = [](const SortKey& k, const ChangedEntry* e) {
    return std::tie(k.creation_time, k.id) < std::tie(e->creation_time, e->id);
  };
  const int64_t lower_e =
      std::lower_bound(extras_.begin(), extras_.end(), key, before) - extras_.begin();
  const int64_t upper_e =
      std::upper_bound(extras_.begin(), extras_.end(), key, after) - extras_.begin();
  Walker w;
  w.s_ = this;
  w.desc_ = desc;
  if (desc) {
    w.b_ = PrevLive((inclusive ? UpperSlot(key) : LowerSlot(key)) - 1);
    w.e_ = (inclusive ? upper_e : lower_e) - 1;
  } else {
    w.b_ = NextLive(inclusive ? LowerSlot(key) : UpperSlot(key));
    w.e_ = inclusive ? lower_e : upper_e;
  }
  w.Choose();
  return w;
}

Selection Selection::Filter(const std::function<bool(const EntryRef&)>& keep) const {
  Selection out;
  out.lib_ = lib_;
  out.base_ = base_;
  out.explicit_ = true;
  for (Walker w = Begin(false); !w.Done(); w.Next()) {
    const EntryRef e = w.Entry();
    if (!keep(e)) continue;
    if (e.changed) {
      out.extras_.push_back(e.changed);
    } else {
      out.positions_.push_back(e.position);
    }
  }
  out.hi_ = static_cast<int64_t>(out.positions_.size());
  out.base_count_ = out.positions_.size();
  return out;
}

// ---------------------------------------------------------------------------
// Catalog: base order

Catalog::Catalog(std::unique_ptr<Library> base) : base_(std::move(base)) {
  for (Collection c : {Collection::kVideo, Collection::kAudio}) {
    BaseOrder& o = base_orders_[static_cast<size_t>(c)];
    o.collection = c;
    o.indexes = &base_->IndexesOfType(c == Collection::kVideo ? "video" : "audio");
    o.size = o.indexes->size();
  }
  BaseOrder& images = base_orders_[static_cast<size_t>(Collection::kImage)];
  images.collection = Collection::kImage;
  images.size = base_->ImageCount();
}

int64_t Catalog::BaseCreationTime(Collection c, uint32_t position) const {
  const BaseOrder& o = Base(c);
  if (c == Collection::kImage) return base_->ImageCreationTimeAt(position);
  return base_->CreationTimeAt((*o.indexes)[position]);
}

int64_t Catalog::BaseModificationTime(Collection c, uint32_t position) const {
  const BaseOrder& o = Base(c);
  if (c == Collection::kImage) return base_->ImageModificationTimeAt(position);
  return base_->ModificationTimeAt((*o.indexes)[position]);
}

std::string Catalog::BaseId(Collection c, uint32_t position) const {
  const BaseOrder& o = Base(c);
  if (c == Collection::kImage) return base_->ImageIdAt(position);
  return base_->MediaIdAt((*o.indexes)[position]);
}

uint32_t Catalog::PositionOfIndex(Collection c, size_t index) const {
  const BaseOrder& o = Base(c);
  if (!o.indexes) return static_cast<uint32_t>(index);
  return static_cast<uint32_t>(std::lower_bound(o.indexes->begin(), o.indexes->end(), index) -
                               o.indexes->begin());
}

void Catalog::EnsureModificationIndex(const BaseOrder& order) const {
  BaseOrder& o = base_orders_[static_cast<size_t>(order.collection)];
  std::call_once(o.modification_once, [this, &o] {
    const bool images = o.collection == Collection::kImage;
    if (images ? base_->ImageModificationTimesAscending() : base_->ModificationTimesAscending()) {
      o.modification_ascending = true;
      return;
    }
    std::vector<std::pair<int64_t, uint32_t>> times(o.size);
    bool ascending = true;
    for (uint32_t p = 0; p < o.size; ++p) {
      times[p] = {BaseModificationTime(o.collection, p), p};
      if (p > 0 && times[p].first < times[p - 1].first) ascending = false;
    }
    o.modification_ascending = ascending;
    if (ascending) return;
    std::sort(times.begin(), times.end());
    o.by_modification.reserve(o.size);
    for (const auto& t : times) o.by_modification.push_back(t.second);
  });
}

// ---------------------------------------------------------------------------
// Catalog::View

std::optional<Media> Catalog::View::FindMedia(std::string_view id) const {
  const ChangeState& st = c_->state_;
  const std::string key(id);
  if (st.deleted_media.count(key)) return std::nullopt;
  if (auto it = st.media.find(key); it != st.media.end()) return *it->second.record;
  auto index = base().FindMedia(id);
  if (!index) return std::nullopt;
  return base().MediaAt(*index);
}

std::optional<Image> Catalog::View::FindImage(std::string_view id) const {
  const ChangeState& st = c_->state_;
  const std::string key(id);
  if (st.deleted_images.count(key)) return std::nullopt;
  if (auto it = st.images.find(key); it != st.images.end()) return *it->second.record;
  auto index = base().FindImage(id);
  if (!index) return std::nullopt;
  return base().ImageAt(*index);
}

Media Catalog::View::MediaOf(const EntryRef& e) const {
  const ChangeState& st = c_->state_;
  if (e.changed) return *st.media.at(e.changed->id).record;
  const auto& changed = st.orders[static_cast<size_t>(e.collection)].changed;
  if (std::binary_search(changed.begin(), changed.end(), e.position)) {
    auto it = st.media.find(base().MediaIdAt(e.index));
    if (it != st.media.end()) return *it->second.record;
  }
  return base().MediaAt(e.index);
}

Image Catalog::View::ImageOf(const EntryRef& e) const {
  const ChangeState& st = c_->state_;
  if (e.changed) return *st.images.at(e.changed->id).record;
  const auto& changed = st.orders[static_cast<size_t>(Collection::kImage)].changed;
  if (std::binary_search(changed.begin(), changed.end(), e.position)) {
    auto it = st.images.find(base().ImageIdAt(e.index));
    if (it != st.images.end()) return *it->second.record;
  }
  return base().ImageAt(e.index);
}

size_t Catalog::View::Count(Collection collection) const {
  const ChangeOrder& co = c_->state_.orders[static_cast<size_t>(collection)];
  return c_->Base(collection).size - co.deleted.size() + co.added.size();
}

Selection Catalog::View::Select(Collection collection, const TimeRange& creation,
                                const TimeRange& modification) const {
  const Catalog& c = *c_;
  const BaseOrder& bo = c.Base(collection);
  const ChangeOrder& co = c.state_.orders[static_cast<size_t>(collection)];
  Selection s;
  s.lib_ = c.base_.get();
  s.base_ = &bo;
  if (creation.Empty() || modification.Empty()) {
    s.explicit_ = true;
    return s;
  }
  auto created = [&](size_t p) { return c.BaseCreationTime(collection, static_cast<uint32_t>(p)); };
  auto modified = [&](size_t p) {
    return c.BaseModificationTime(collection, static_cast<uint32_t>(p));
  };
  const auto [lo, hi] = PositionsIn(bo.size, creation, created);
  // Added entries are by creation time: those in range are contiguous.
  auto added_lo =
      std::lower_bound(co.added.begin(), co.added.end(), creation.min,
                       [](const ChangedEntry& e, int64_t t) { return e.creation_time < t; });
  auto added_hi =
      std::upper_bound(added_lo, co.added.end(), creation.max,
                       [](int64_t t, const ChangedEntry& e) { return t < e.creation_time; });

  if (modification.Unbounded()) {
    // Modified base entries keep their place: only deletions leave the base.
    s.lo_ = static_cast<int64_t>(lo);
    s.hi_ = static_cast<int64_t>(hi);
    s.excluded_ = &co.deleted;
    s.base_count_ = (hi - lo) - CountIn(co.deleted, lo, hi);
    for (auto it = added_lo; it != added_hi; ++it) s.extras_.push_back(&*it);
    return s;
  }

  // Modified base entries have new modification times: they leave the base
  // part and join the changed ones.
  c.EnsureModificationIndex(bo);
  if (bo.modification_ascending) {
    const auto [mlo, mhi] = PositionsIn(bo.size, modification, modified);
    const size_t first = std::max(lo, mlo), end = std::max(first, std::min(hi, mhi));
    s.lo_ = static_cast<int64_t>(first);
    s.hi_ = static_cast<int64_t>(end);
    s.excluded_ = &co.changed;
    s.base_count_ = (end - first) - CountIn(co.changed, first, end);
  } else {
    const auto& by = bo.by_modification;
    const auto [mlo, mhi] =
        PositionsIn(by.size(), modification, [&](size_t k) { return modified(by[k]); });
    s.explicit_ = true;
    for (size_t k = mlo; k < mhi; ++k) {
      const uint32_t p = by[k];
      if (p >= lo && p < hi && !std::binary_search(co.changed.begin(), co.changed.end(), p)) {
        s.positions_.push_back(p);
      }
    }
    std::sort(s.positions_.begin(), s.positions_.end());
    s.hi_ = static_cast<int64_t>(s.positions_.size());
    s.base_count_ = s.positions_.size();
  }
  std::vector<const ChangedEntry*> mods, adds;
  // Modified entries are by position, so those created in range are too.
  auto mod_lo = std::lower_bound(co.modified.begin(), co.modified.end(), lo,
                                 [](const ChangedEntry& e, size_t p) { return e.position < p; });
  for (auto it = mod_lo; it != co.modified.end() && it->position < hi; ++it) {
    if (modification.Contains(it->modification_time)) mods.push_back(&*it);
  }
  for (auto it = added_lo; it != added_hi; ++it) {
    if (modification.Contains(it->modification_time)) adds.push_back(&*it);
  }
  s.extras_.reserve(mods.size() + adds.size());
  std::merge(mods.begin(), mods.end(), adds.begin(), adds.end(), std::back_inserter(s.extras_),
             PtrKeyLess);
  return s;
}

std::optional<Blob> Catalog::View::MediaBlob(const std::string& id, std::string_view key) const {
  const MediaState& ms = c_->state_.media.at(id);
  const Media& m = *ms.record;
  std::optional<int64_t> introduced;
  for (const auto& [k, t] : ms.introduced) {
    if (k == key) introduced = t;  // the last one wins
  }
  // Objects of an added medium, and objects changes introduced, have bytes
  // of the catalog's making; the others are the base library's.
  const bool made = ms.added || introduced;
  const int64_t mtime = introduced.value_or(m.creation_time);
  auto synthetic = [&](uint64_t size) {
    return MakeSyntheticBlob(ChangeObjectSeed(key), size, mtime);
  };
  if (key == m.source_key) return made ? synthetic(m.source_size) : base().FindBlob(key);
  for (const auto& s : m.streams) {
    if (key == s.key) {
      if (!made) return base().FindBlob(key);
      if (s.format != "m3u8") return synthetic(s.size);
      double longest = 0;
      for (double d : s.segment_durations) longest = std::max(longest, d);
      return MakePlaylistBlob(s, static_cast<int>(longest) + 1, mtime);
    }
    for (size_t k = 0; k < s.segment_keys.size(); ++k) {
      if (key == s.segment_keys[k])
        return made ? synthetic(ChangeSegmentSize(s, k)) : base().FindBlob(key);
    }
  }
  const bool image_like =
      key == m.cover_key ||
      std::find(m.snapshot_keys.begin(), m.snapshot_keys.end(), key) != m.snapshot_keys.end() ||
      std::find(m.sprite_keys.begin(), m.sprite_keys.end(), key) != m.sprite_keys.end() ||
      std::find(m.sprite_origin_keys.begin(), m.sprite_origin_keys.end(), key) !=
          m.sprite_origin_keys.end();
  if (!image_like || key.empty()) return std::nullopt;
  return made ? synthetic(ChangeImageObjectSize(key)) : base().FindBlob(key);
}

std::optional<Blob> Catalog::View::FindBlob(std::string_view key) const {
  const ChangeState& st = c_->state_;
  if (st.media.empty() && st.deleted_media.empty() && st.images.empty() &&
      st.deleted_images.empty()) {
    return base().FindBlob(key);
  }
  // A base object belongs to a base entry, which may be changed; another
  // object can only be one a change made, whose key names its owner.
  const std::optional<std::string> base_owner = base().OwnerOfKey(key);
  const std::optional<std::string> owner = base_owner ? base_owner : ChangeKeyOwner(key);
  if (!owner) return std::nullopt;
  if (st.deleted_media.count(*owner) || st.deleted_images.count(*owner)) return std::nullopt;
  if (st.media.count(*owner)) return MediaBlob(*owner, key);
  if (auto it = st.images.find(*owner); it != st.images.end()) {
    const ImageState& is = it->second;
    if (key != is.record->key) return std::nullopt;
    if (is.added || is.object_mtime != 0) {
      return MakeSyntheticBlob(ChangeObjectSeed(key), is.record->size,
                               is.object_mtime != 0 ? is.object_mtime : is.record->creation_time);
    }
    return base().FindBlob(key);
  }
  if (!base_owner) return std::nullopt;
  return base().FindBlob(key);
}

// ---------------------------------------------------------------------------
// Catalog: locks

std::shared_lock<std::shared_mutex> Catalog::LockShared() const {
  std::lock_guard<std::mutex> gate(gate_);
  return std::shared_lock<std::shared_mutex>(mu_);
}

std::unique_lock<std::shared_mutex> Catalog::LockExclusive() {
  std::lock_guard<std::mutex> gate(gate_);
  return std::unique_lock<std::shared_mutex>(mu_);
}

}  // namespace vodfs::emu
