// VersionTable: the last known version (Fingerprint) of each object, by
// MediaRef key. The namespace fills it from size probes, readers from the
// answers they get; a new open pins the version found here.
//
// Thread-safety: internally synchronised.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>

#include "vodfs/fetch/fetcher.h"
#include "vodfs/util/mutex.h"

namespace vodfs::fetch {

class VersionTable {
 public:
  std::optional<Fingerprint> Get(const std::string& key) const {
    MutexLock lock(&mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }
  // Returns true if this replaced a different version (the object changed).
  bool Set(const std::string& key, const Fingerprint& f) {
    MutexLock lock(&mu_);
    auto it = map_.find(key);
    if (it == map_.end()) {
      map_.emplace(key, f);
      return false;
    }
    bool changed = !it->second.Matches(f);
    it->second = f;
    return changed;
  }
  void Erase(const std::string& key) {
    MutexLock lock(&mu_);
    map_.erase(key);
  }
  size_t size() const {
    MutexLock lock(&mu_);
    return map_.size();
  }

 private:
  mutable Mutex mu_;
  std::unordered_map<std::string, Fingerprint> map_ GUARDED_BY(mu_);
};

}  // namespace vodfs::fetch
