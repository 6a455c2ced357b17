// LruCache<K, V>: a bounded least-recently-used map with per-entry charges.
//
// Capacity is a total charge (e.g. bytes, or 1 per entry). Inserting beyond
// capacity evicts from the cold end. Values are held by shared_ptr so a
// caller's copy stays valid after eviction (the LevelDB "handle" idea without
// explicit release).
//
// Thread-safety: all methods take an internal mutex; safe to share.
#pragma once

#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <unordered_map>
#include <utility>

#include "vodfs/util/mutex.h"

namespace vodfs {

template <typename K, typename V, typename Hash = std::hash<K>>
class LruCache {
 public:
  using ValuePtr = std::shared_ptr<const V>;

  explicit LruCache(size_t capacity) : capacity_(capacity) {}
  LruCache(const LruCache&) = delete;
  LruCache& operator=(const LruCache&) = delete;

  // Inserts or replaces `key`. Returns the stored value.
  ValuePtr Put(const K& key, V value, size_t charge = 1) {
    return Put(key, std::make_shared<const V>(std::move(value)), charge);
  }
  // The same with a value already shared (no copy).
  ValuePtr Put(const K& key, ValuePtr ptr, size_t charge) {
    MutexLock lock(&mu_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      usage_ -= it->second->charge;
      order_.erase(it->second);
      index_.erase(it);
    }
    order_.push_front(Entry{key, ptr, charge});
    index_.emplace(key, order_.begin());
    usage_ += charge;
    EvictLocked();
    return ptr;
  }

  // Returns the value and marks it most recently used, or nullptr.
  ValuePtr Get(const K& key) {
    MutexLock lock(&mu_);
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->value;
  }

  // Like Get but does not change recency.
  ValuePtr Peek(const K& key) const {
    MutexLock lock(&mu_);
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : it->second->value;
  }

  bool Erase(const K& key) {
    MutexLock lock(&mu_);
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    usage_ -= it->second->charge;
    order_.erase(it->second);
    index_.erase(it);
    return true;
  }

  // Erases every entry for which `pred(key, value)` is true.
  size_t EraseIf(const std::function<bool(const K&, const V&)>& pred) {
    MutexLock lock(&mu_);
    size_t n = 0;
    for (auto it = order_.begin(); it != order_.end();) {
      if (pred(it->key, *it->value)) {
        usage_ -= it->charge;
        index_.erase(it->key);
        it = order_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }

  void Clear() {
    MutexLock lock(&mu_);
    order_.clear();
    index_.clear();
    usage_ = 0;
  }

  void SetCapacity(size_t capacity) {
    MutexLock lock(&mu_);
    capacity_ = capacity;
    EvictLocked();
  }

  size_t size() const {
    MutexLock lock(&mu_);
    return index_.size();
  }
  size_t usage() const {
    MutexLock lock(&mu_);
    return usage_;
  }
  size_t capacity() const {
    MutexLock lock(&mu_);
    return capacity_;
  }

 private:
  struct Entry {
    K key;
    ValuePtr value;
    size_t charge;
  };

  void EvictLocked() REQUIRES(mu_) {
    // An entry larger than the whole capacity is kept alone rather than
    // refused: the caller asked to store it and already holds it.
    while (usage_ > capacity_ && order_.size() > 1) {
      Entry& victim = order_.back();
      usage_ -= victim.charge;
      index_.erase(victim.key);
      order_.pop_back();
    }
  }

  mutable Mutex mu_;
  size_t capacity_ GUARDED_BY(mu_);
  size_t usage_ GUARDED_BY(mu_) = 0;
  std::list<Entry> order_ GUARDED_BY(mu_);  // front = most recently used
  std::unordered_map<K, typename std::list<Entry>::iterator, Hash> index_ GUARDED_BY(mu_);
};

}  // namespace vodfs
