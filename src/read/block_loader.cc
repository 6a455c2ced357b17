#include "vodfs/read/block_loader.h"

#include <cstdio>

#include "vodfs/util/log.h"

namespace vodfs::read {

namespace {

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

Error CorruptError(const ObjectVersion& v) {
  return Error(ErrorCode::kDataLoss, v.ref.Key() + " does not match its origin's CRC-64; its blocks were dropped");
}

}  // namespace

BlockLoader::BlockLoader(fetch::RangeFetcher& fetcher, cache::BlockCache& cache, cache::SecondTier* local,
                         cache::VersionStore* store, Verifier& verifier, uint64_t block_size)
    : fetcher_(fetcher), cache_(cache), local_(local), store_(store), verifier_(verifier), bs_(block_size) {}

LoaderStats BlockLoader::Stats() const {
  return {local_blocks_.load(), origin_blocks_.load(), origin_runs_.load(), condemned_.load()};
}

void BlockLoader::Condemn(const ObjectVersion& v, const Verifier::Outcome& o) {
  ++condemned_;
  VODFS_LOG(kError) << "Integrity: " << v.ref.Key() << " (" << v.fp.size << " bytes) has CRC-64 " << Hex(o.computed)
                    << " where its origin says " << Hex(o.expected)
                    << "; its cached blocks are dropped and reads of it fail (EIO) until it is opened again";
  {
    MutexLock lock(&arrival_mu_);
    cache_.EraseObject(v.object);
  }
  if (store_) store_->DropObject(v.object, v.Blocks(bs_));
  MutexLock lock(&arrival_mu_);
  ++settled_[v.object];
  settled_cv_.SignalAll();
}

void BlockLoader::AwaitSettled(const std::string& object, uint64_t epoch) {
  MutexLock lock(&arrival_mu_);
  while (true) {
    auto it = settled_.find(object);
    if ((it == settled_.end() ? 0 : it->second) >= epoch) return;
    settled_cv_.Wait(&arrival_mu_);
  }
}

BlockLoader::Filing::Filing(BlockLoader& loader, const ObjectVersion& v, uint64_t first, Claims claims)
    : loader_(loader), v_(v), failures_at_start_(v.epoch.value_or(loader.verifier_.Failures(v.object))), first_(first) {
  Adopt(std::move(claims));
}

BlockLoader::Filing::~Filing() { (void)Finish(Status(ErrorCode::kAborted, "the transfer ended")); }

void BlockLoader::Filing::Adopt(Claims claims) {
  for (auto& c : claims) {
    const uint64_t i = c.key().index;
    if (i < first_) continue;  // not of this transfer: failed by its destructor
    if (claims_.size() <= i - first_) claims_.resize(i - first_ + 1);
    claims_[i - first_] = std::move(c);
  }
}

bool BlockLoader::Filing::OnBlock(uint64_t index, cache::MutableBlock block) {
  if (condemned_) return false;
  read::ObjectId id = v_.id();
  id.epoch = failures_at_start_;
  const Verifier::Outcome o = loader_.verifier_.Note(id, index, block->crc64());
  if (o.verdict == Verifier::Verdict::kCondemned) {
    condemned_ = true;
    return false;
  }
  // Found corrupt now, or by another transfer since this one began (whose
  // bytes may come from the same faulty path).
  if (o.verdict == Verifier::Verdict::kMismatch) loader_.Condemn(v_, o);
  if (o.verdict == Verifier::Verdict::kMismatch || loader_.verifier_.Failures(v_.object) != failures_at_start_) {
    condemned_ = true;
    return false;
  }
  ++loader_.origin_blocks_;
  cache::Block b = std::move(block);
  auto still_valid = [this] { return loader_.verifier_.Failures(v_.object) == failures_at_start_; };
  if (loader_.local_) loader_.local_->Put({v_.object, index}, b, still_valid);
  if (index >= first_ && index - first_ < claims_.size() && claims_[index - first_]) {
    MutexLock lock(&loader_.arrival_mu_);
    if (!still_valid()) {
      condemned_ = true;
      return false;
    }
    claims_[index - first_]->Complete(std::move(b));
    claims_[index - first_].reset();
  }
  return true;
}

Status BlockLoader::Filing::Finish(const Status& why) {
  const bool corrupt = condemned_ || loader_.verifier_.Failures(v_.object) != failures_at_start_;
  Status s = corrupt ? Status(CorruptError(v_)) : why;
  for (auto& c : claims_) {
    if (!c) continue;
    c->Fail(s.ok() ? Error(ErrorCode::kBadResponse, "the origin sent fewer bytes than the object has") : s.error());
    c.reset();
  }
  return s;
}

Status BlockLoader::FetchRun(const ObjectVersion& v, uint64_t first, Claims claims) {
  const uint64_t n = claims.size();
  ++origin_runs_;
  Filing filing(*this, v, first, std::move(claims));
  RunAssembler assembler(bs_, v.fp.size, first, n, filing);
  auto r = fetcher_.FetchTo(v.ref, first * bs_, n * bs_, v.fp,
                            [&](uint64_t off, std::string_view chunk) { return assembler.Consume(off, chunk); });
  Status s = r.ok() ? Status::Ok() : r.status();
  if (s.ok() && !assembler.complete()) {
    s = Status(ErrorCode::kBadResponse, "the origin sent fewer bytes than the object has");
  }
  return filing.Finish(s);
}

Status BlockLoader::Load(const ObjectVersion& v, Claims claims) {
  Status status;
  auto keep = [&status](const Status& s) {
    if (!s.ok() && status.ok()) status = s;
  };
  const uint64_t failures = v.epoch.value_or(verifier_.Failures(v.object));
  AwaitSettled(v.object, failures);  // the disk holds no block of an earlier round
  size_t i = 0;
  while (i < claims.size()) {
    // A run of consecutive claims.
    size_t j = i + 1;
    while (j < claims.size() && claims[j].key().index == claims[j - 1].key().index + 1) ++j;
    const uint64_t first = claims[i].key().index;
    std::vector<cache::Block> local;
    if (local_) local = local_->GetRun(v.object, first, j - i);
    Claims missing;
    uint64_t missing_first = 0;
    auto flush = [&] {
      if (missing.empty()) return;
      keep(FetchRun(v, missing_first, std::move(missing)));
      missing.clear();
    };
    for (size_t k = i; k < j; ++k) {
      cache::Block b = local.empty() ? nullptr : local[k - i];
      if (!b) {
        if (missing.empty()) missing_first = claims[k].key().index;
        missing.push_back(std::move(claims[k]));
        continue;
      }
      flush();
      ObjectId id = v.id();
      id.epoch = failures;
      const Verifier::Outcome o = verifier_.Note(id, claims[k].key().index, b->crc64());
      if (o.verdict == Verifier::Verdict::kMismatch) Condemn(v, o);
      if (o.verdict == Verifier::Verdict::kMismatch || verifier_.Failures(v.object) != failures) {
        const Error e = CorruptError(v);
        keep(Status(e));
        for (size_t r = k; r < claims.size(); ++r) {
          if (claims[r].pending()) claims[r].Fail(e);
        }
        return status;
      }
      ++local_blocks_;
      MutexLock lock(&arrival_mu_);
      if (verifier_.Failures(v.object) != failures) {
        claims[k].Fail(CorruptError(v));
        keep(Status(CorruptError(v)));
        continue;
      }
      claims[k].Complete(std::move(b));
    }
    flush();
    i = j;
  }
  return status;
}

}  // namespace vodfs::read
