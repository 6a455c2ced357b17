#include "vodfs/read/verifier.h"

namespace vodfs::read {

namespace {
// Verified object names remembered in memory (the store remembers all).
constexpr size_t kMaxGood = 4096;
}  // namespace

Verifier::Verifier(uint64_t block_size, cache::VersionStore* store, size_t max_objects)
    : bs_(block_size), store_(store), max_objects_(std::max<size_t>(1, max_objects)), shift_(block_size) {}

uint64_t Verifier::Combine(const State& s, uint64_t size) const {
  uint64_t crc = 0;
  const uint64_t n = s.crc.size();
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t len = std::min(bs_, size - i * bs_);
    crc = len == bs_ ? shift_.Combine(crc, s.crc[i]) : Crc64Combine(crc, s.crc[i], len);
  }
  return crc;
}

Verifier::State& Verifier::StateFor(const ObjectId& id, uint64_t blocks) {
  auto it = states_.find(id.object);
  if (it != states_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second;
  }
  while (states_.size() >= max_objects_) Forget(lru_.back());
  State& s = states_[id.object];
  s.object = id.object;
  s.crc.assign(blocks, 0);
  s.have.assign(blocks, false);
  lru_.push_front(id.object);
  s.lru = lru_.begin();
  if (store_) {
    // Blocks an earlier mount stored count too: an object read in part
    // then, and in part now, is verified once the rest is in.
    for (const auto& [index, crc] : store_->BlockCrcs(id.object, blocks)) {
      if (index < blocks && !s.have[index]) {
        s.have[index] = true;
        s.crc[index] = crc;
        ++s.count;
      }
    }
  }
  stats_.tracked = states_.size();
  return s;
}

void Verifier::Forget(const std::string& object) {
  auto it = states_.find(object);
  if (it == states_.end()) return;
  lru_.erase(it->second.lru);
  states_.erase(it);
  stats_.tracked = states_.size();
}

Verifier::Outcome Verifier::Note(const ObjectId& id, uint64_t index, uint64_t crc) {
  Outcome out;
  if (!id.crc64) {
    MutexLock lock(&mu_);
    ++stats_.unverifiable;
    out.verdict = Verdict::kUnverifiable;
    return out;
  }
  const uint64_t blocks = id.size == 0 ? 0 : (id.size + bs_ - 1) / bs_;
  if (index >= blocks) return out;
  {
    MutexLock lock(&mu_);
    if (auto g = good_.find(id.object); g != good_.end()) {
      good_lru_.splice(good_lru_.begin(), good_lru_, g->second);
      out.verdict = Verdict::kKnownGood;
      return out;
    }
  }
  if (store_ && store_->Verified(id.object)) {
    out.verdict = Verdict::kKnownGood;
    return out;
  }
  bool verified = false;
  {
    MutexLock lock(&mu_);
    if (id.epoch) {
      auto f = failures_.find(id.object);
      if ((f == failures_.end() ? 0 : f->second) != *id.epoch) {
        out.verdict = Verdict::kCondemned;
        return out;
      }
    }
    State& s = StateFor(id, blocks);
    if (s.have[index]) {
      if (s.crc[index] == crc) return out;  // the same bytes again
      // Two different contents for one block of one version: one of them
      // is wrong, and a reader may have seen it.
      out.verdict = Verdict::kMismatch;
      out.expected = s.crc[index];
      out.computed = crc;
    } else {
      s.have[index] = true;
      s.crc[index] = crc;
      if (++s.count < blocks) return out;
      out.computed = Combine(s, id.size);
      out.expected = *id.crc64;
      out.verdict = out.computed == out.expected ? Verdict::kVerified : Verdict::kMismatch;
    }
    Forget(id.object);
    if (out.verdict == Verdict::kMismatch) {
      ++failures_[id.object];
      ++stats_.mismatches;
    } else {
      ++stats_.verified;
      verified = true;
      good_lru_.push_front(id.object);
      good_[id.object] = good_lru_.begin();
      while (good_.size() > kMaxGood) {
        good_.erase(good_lru_.back());
        good_lru_.pop_back();
      }
    }
  }
  if (verified && store_) store_->MarkVerified(id.object, blocks);
  return out;
}

uint64_t Verifier::Failures(const std::string& object) const {
  MutexLock lock(&mu_);
  auto it = failures_.find(object);
  return it == failures_.end() ? 0 : it->second;
}

bool Verifier::Verified(const std::string& object) const {
  {
    MutexLock lock(&mu_);
    if (good_.count(object)) return true;
  }
  return store_ && store_->Verified(object);
}

VerifierStats Verifier::Stats() const {
  MutexLock lock(&mu_);
  return stats_;
}

}  // namespace vodfs::read
