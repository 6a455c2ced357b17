// The live library: the immutable Library plus the changes made to it while
// the emulator runs, and the ordered queries the API and the origins make.
//
// Changes are kept beside the base library, never copied into it:
//  - added media and images: full records (ids from a counter, objects with
//    synthetic bytes, see library_changes.h);
//  - modified base entries: an overlay of full records (a modification
//    never changes a creation time or an id, so never the order);
//  - deleted base entries: their ids and positions.
//
// Each collection (the videos, the audio, the images) is in creation order:
// creation time ascending, then id. A Selection is the live entries of one
// collection within a CreationTime and a ModificationTime range, with an
// exact size and walks in either direction from its ends or from a sort key.
// Both are computed by binary search over the base order (the Library's
// CreationTimeAt / ModificationTimeAt, no records built) plus the changed
// entries, so a search of a 2,000,000-video library with 20,000 changes
// costs milliseconds. Base modification times that do not ascend with the
// index are sorted once, lazily.
//
// Thread-safety: one std::shared_mutex. A View holds it shared for its
// lifetime (one API call, one origin lookup); Apply and Reset hold it
// exclusively. glibc's shared mutex lets new readers in while a writer
// waits, so a steady stream of API calls would hold a change off forever:
// readers and writers first pass a gate (a plain mutex) that a waiting
// writer keeps closed. A thread holding a View must not make another (the
// mutex is not recursive) nor call Apply. Lock order: gate_ before mu_; both
// before the Emulator's overrides and scroll mutexes, never after.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "emulator/library.h"
#include "emulator/library_changes.h"
#include "emulator/match.h"
#include "vodfs/util/result.h"

namespace vodfs::emu {

enum class Collection { kVideo = 0, kAudio = 1, kImage = 2 };

// The creation order's key.
struct SortKey {
  int64_t creation_time = 0;
  std::string id;
  friend auto operator<=>(const SortKey&, const SortKey&) = default;
};

namespace catalog_internal {

// A modified or added entry as the order indexes hold it.
struct ChangedEntry {
  int64_t creation_time = 0, modification_time = 0;
  std::string id;
  uint32_t position = 0;  // modified base entries: position in the base order
};

// The base order of one collection (immutable, but for a lazily built index).
struct BaseOrder {
  Collection collection = Collection::kVideo;
  const std::vector<uint32_t>* indexes = nullptr;  // position -> library index; null: identity
  size_t size = 0;
  // Built once, on the first ModificationTime search.
  std::once_flag modification_once;
  bool modification_ascending = false;
  std::vector<uint32_t> by_modification;  // positions by (modification time, position)
};

// What the changes did to one collection.
struct ChangeOrder {
  std::vector<uint32_t> deleted;       // positions of deleted base entries, sorted
  std::vector<uint32_t> changed;       // positions of deleted or modified ones, sorted
  std::vector<ChangedEntry> modified;  // modified base entries, by position
  std::vector<ChangedEntry> added;     // added entries, by (creation time, id)
};

}  // namespace catalog_internal

// One entry of a selection.
struct EntryRef {
  Collection collection = Collection::kVideo;
  // A modified entry of a ModificationTime selection, or an added one.
  const catalog_internal::ChangedEntry* changed = nullptr;
  // Otherwise a base entry (possibly modified): its position in the base
  // order of its collection and its library index.
  uint32_t position = 0;
  size_t index = 0;
};

// Live entries of one collection in creation order. Valid while the View
// that made it is.
class Selection {
 public:
  // A position in a walk (ascending or descending) of the selection.
  class Walker {
   public:
    bool Done() const { return !HasBase() && !HasExtra(); }
    EntryRef Entry() const;
    int64_t CreationTime() const;
    std::string Id() const;
    SortKey Key() const { return {CreationTime(), Id()}; }
    void Next();

   private:
    friend class Selection;
    bool HasBase() const { return b_ >= s_->lo_ && b_ < s_->hi_; }
    bool HasExtra() const { return e_ >= 0 && e_ < static_cast<int64_t>(s_->extras_.size()); }
    void Choose();

    const Selection* s_ = nullptr;
    bool desc_ = false;
    int64_t b_ = 0;  // base slot
    int64_t e_ = 0;  // index into extras_
    bool on_extra_ = false;
  };

  size_t size() const { return base_count_ + extras_.size(); }
  // The first entry of a walk.
  Walker Begin(bool desc) const;
  // The first entry after `key` in the walk's direction (or at it, when
  // `inclusive`); `key` need not be in the selection.
  Walker Seek(const SortKey& key, bool inclusive, bool desc) const;
  // The entries `keep` accepts (it is called on each, in order).
  Selection Filter(const std::function<bool(const EntryRef&)>& keep) const;

 private:
  friend class Catalog;
  uint32_t PositionOf(int64_t slot) const {
    return explicit_ ? positions_[static_cast<size_t>(slot)] : static_cast<uint32_t>(slot);
  }
  int64_t NextLive(int64_t slot) const;  // first live slot >= slot
  int64_t PrevLive(int64_t slot) const;  // last live slot <= slot
  // -1, 0, 1 as the base entry at `slot` sorts before, at or after `key`.
  int Compare(int64_t slot, const SortKey& key) const;
  int64_t LowerSlot(const SortKey& key) const;  // first slot not before key
  int64_t UpperSlot(const SortKey& key) const;  // first slot after key
  int64_t BaseCreationTime(int64_t slot) const;
  std::string BaseId(int64_t slot) const;
  size_t LibraryIndex(uint32_t position) const;

  const Library* lib_ = nullptr;
  const catalog_internal::BaseOrder* base_ = nullptr;
  // Base entries: slots [lo_, hi_). Range mode: a slot is a position and
  // `excluded_` lists positions left out; explicit mode: a slot indexes
  // positions_.
  bool explicit_ = false;
  int64_t lo_ = 0, hi_ = 0;
  const std::vector<uint32_t>* excluded_ = nullptr;
  std::vector<uint32_t> positions_;
  size_t base_count_ = 0;
  // Changed and added entries, by (creation time, id).
  std::vector<const catalog_internal::ChangedEntry*> extras_;
};

class Catalog {
 public:
  explicit Catalog(std::unique_ptr<Library> base);
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  const Library& base() const { return *base_; }

  // A consistent view of the live library; holds the read lock.
  class View {
   public:
    const Library& base() const { return *c_->base_; }
    // Live records (nullopt: never existed or deleted).
    std::optional<Media> FindMedia(std::string_view id) const;
    std::optional<Image> FindImage(std::string_view id) const;
    // The bytes of a live object (nullopt: no live record names the key).
    std::optional<Blob> FindBlob(std::string_view key) const;
    // The live record of an entry of a selection.
    Media MediaOf(const EntryRef& e) const;
    Image ImageOf(const EntryRef& e) const;
    // The live entries of `collection` whose times fall in the ranges.
    Selection Select(Collection collection, const TimeRange& creation = {},
                     const TimeRange& modification = {}) const;
    size_t Count(Collection collection) const;

   private:
    friend class Catalog;
    explicit View(const Catalog& c) : c_(&c), lock_(c.LockShared()) {}
    std::optional<Blob> MediaBlob(const std::string& id, std::string_view key) const;

    const Catalog* c_;
    std::shared_lock<std::shared_mutex> lock_;
  };
  View Read() const { return View(*this); }

  // Applies changes in order, all or none; returns the ids each affected,
  // in order (an add's in the order made; picks in creation order).
  // Errors (an unknown id, a count larger than what there is, an unknown
  // category) are kInvalidArgument and leave the library as it was.
  Result<std::vector<std::string>> Apply(const std::vector<LibraryChange>& changes, int64_t now);
  // Drops every change (ids start again from the first).
  void Reset();

  struct Counts {
    size_t videos = 0, audio = 0, images = 0;
    size_t added_media = 0, modified_media = 0, deleted_media = 0;
    size_t added_images = 0, modified_images = 0, deleted_images = 0;
  };
  Counts GetCounts() const;

 private:
  // A modified or added medium.
  struct MediaState {
    std::shared_ptr<const Media> record;
    bool added = false;
    Collection collection = Collection::kVideo;
    size_t index = 0;  // base entries: library index
    uint32_t position = 0;
    // Objects whose bytes the catalog makes (every object of an added
    // medium is; these are those of a base medium, or re-made ones), with
    // their Last-Modified. Others keep the base library's bytes.
    IntroducedObjects introduced;
  };
  struct ImageState {
    std::shared_ptr<const Image> record;
    bool added = false;
    size_t index = 0;
    // Last-Modified of the image file when the catalog makes its bytes (0:
    // the base library's file).
    int64_t object_mtime = 0;
  };
  // Everything the changes hold; copied before a batch so that a failing
  // change leaves no trace.
  struct ChangeState {
    std::unordered_map<std::string, MediaState> media;
    std::unordered_set<std::string> deleted_media;
    std::unordered_map<std::string, ImageState> images;
    std::unordered_set<std::string> deleted_images;
    std::array<catalog_internal::ChangeOrder, 3> orders;
    uint64_t next_id = 1;
  };
  // What one change applies to.
  struct Target {
    std::string id;
    Collection collection = Collection::kVideo;
    bool added = false;
    size_t index = 0;
    uint32_t position = 0;
  };

  const catalog_internal::BaseOrder& Base(Collection c) const {
    return base_orders_[static_cast<size_t>(c)];
  }
  void EnsureModificationIndex(const catalog_internal::BaseOrder& order) const;
  uint32_t PositionOfIndex(Collection c, size_t index) const;
  int64_t BaseCreationTime(Collection c, uint32_t position) const;
  int64_t BaseModificationTime(Collection c, uint32_t position) const;
  std::string BaseId(Collection c, uint32_t position) const;

  Result<std::vector<std::string>> ApplyOne(const LibraryChange& c, int64_t now);
  Result<std::vector<std::string>> Add(const LibraryChange& c, int64_t now);
  Result<std::vector<std::string>> Modify(const LibraryChange& c, int64_t now);
  Result<std::vector<std::string>> Delete(const LibraryChange& c);
  Result<std::vector<Target>> Targets(const LibraryChange& c) const;
  std::optional<Target> FindTarget(const std::string& id, bool image) const;
  std::string NewId(bool image);
  Status CheckCategory(const LibraryChange& c) const;

  // The read and write locks, taken through the gate.
  std::shared_lock<std::shared_mutex> LockShared() const;
  std::unique_lock<std::shared_mutex> LockExclusive();

  std::unique_ptr<Library> base_;
  mutable std::array<catalog_internal::BaseOrder, 3> base_orders_;

  mutable std::mutex gate_;  // held by a writer from before it waits for mu_ until it has it
  mutable std::shared_mutex mu_;
  ChangeState state_;  // GUARDED_BY(mu_)
};

}  // namespace vodfs::emu
