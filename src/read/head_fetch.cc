#include "head_fetch.h"

#include <memory>

#include "vodfs/util/mutex.h"

namespace vodfs::read {

BlockLoader::Claims ClaimSpan(cache::BlockCache& cache, const ObjectVersion& v, const Span& span, uint64_t bs) {
  BlockLoader::Claims claims;
  for (uint64_t b = span.first; b < span.end() && b * bs < v.fp.size; ++b) {
    if (auto c = cache.TryClaim({v.object, b})) claims.push_back(std::move(*c));
  }
  return claims;
}

namespace {

// The smallest head that tells where an MP4 keeps its index.
constexpr size_t kHeadBytes = 512;

struct HeadState {
  HeadState(std::vector<Span> p, HeadFetch::Hooks h) : parts(std::move(p)), hooks(std::move(h)) {
    claims.resize(parts.size());
    ended.assign(parts.size(), false);
    left = parts.size();
  }
  const std::vector<Span> parts;
  const HeadFetch::Hooks hooks;
  Mutex mu;
  CondVar cv;
  std::optional<ObjectVersion> version GUARDED_BY(mu);
  std::vector<BlockLoader::Claims> claims GUARDED_BY(mu);  // per part, made when the version was named
  std::vector<bool> ended GUARDED_BY(mu);
  size_t left GUARDED_BY(mu);
  Status first_error GUARDED_BY(mu);  // of the first part to fail
};

void RunPart(BlockLoader& loader, fetch::RangeFetcher& fetcher, const resolve::MediaRef& ref,
             const std::shared_ptr<HeadState>& st, size_t index) {
  const uint64_t bs = loader.block_size();
  const Span span = st->parts[index];
  ObjectVersion v;
  std::optional<BlockLoader::Filing> filing;
  std::optional<RunAssembler> assembler;
  std::string head;  // the object's first bytes, for on_head_bytes
  bool head_told = span.first != 0 || !st->hooks.on_head_bytes;
  bool other_version = false;

  auto on_version = [&](const fetch::Fingerprint& fp) {
    BlockLoader::Claims mine;
    {
      MutexLock lock(&st->mu);
      if (!st->version) {
        st->version = ObjectVersion::Of(ref, fp);
        if (st->hooks.on_version) st->hooks.on_version(*st->version);
        for (size_t i = 0; i < st->parts.size(); ++i) {
          if (!st->ended[i]) st->claims[i] = ClaimSpan(loader.cache(), *st->version, st->parts[i], bs);
        }
        st->cv.SignalAll();
      }
      v = *st->version;
      mine = std::move(st->claims[index]);
      st->claims[index].clear();
    }
    if (!fp.Matches(v.fp)) {
      other_version = true;
      const Error changed(ErrorCode::kStale, "the object changed while its head was fetched");
      for (auto& c : mine) c.Fail(changed);
      return false;
    }
    filing.emplace(loader, v, span.first, std::move(mine));
    assembler.emplace(bs, v.fp.size, span.first, span.count, *filing);
    return true;
  };
  auto sink = [&](uint64_t off, std::string_view chunk) {
    if (!head_told) {
      head.append(chunk.substr(0, std::min(chunk.size(), kHeadBytes * 8 - head.size())));
      if (head.size() >= kHeadBytes || head.size() >= v.fp.size) {
        head_told = true;
        st->hooks.on_head_bytes(v, head);
      }
    }
    return assembler->Consume(off, chunk);
  };
  auto r = fetcher.FetchTo(ref, span.first * bs, span.count * bs, std::nullopt, sink, nullptr, on_version);
  Status s = r.ok() ? Status::Ok() : r.status();
  if (other_version) s = Status(ErrorCode::kStale, "the object changed while its head was fetched");
  if (assembler && s.ok() && !assembler->complete()) {
    s = Status(ErrorCode::kBadResponse, "the origin sent fewer bytes than the object has");
  }
  if (filing) s = filing->Finish(s);
  BlockLoader::Claims leftover;
  {
    MutexLock lock(&st->mu);
    st->ended[index] = true;
    // Claims made for this part after it failed without an answer.
    leftover = std::move(st->claims[index]);
    st->claims[index].clear();
    if (!s.ok() && st->first_error.ok()) st->first_error = s;
    --st->left;
    st->cv.SignalAll();
  }
  const Error why = s.ok() ? Error(ErrorCode::kBadResponse, "no answer from the origin") : s.error();
  for (auto& c : leftover) c.Fail(why);
}

}  // namespace

Result<ObjectVersion> HeadFetch::Run(BlockLoader& loader, fetch::RangeFetcher& fetcher, Executor* io,
                                     const resolve::MediaRef& ref, std::vector<Span> parts, Hooks hooks) {
  if (parts.empty()) return Error(ErrorCode::kInvalidArgument, "nothing to fetch");
  auto st = std::make_shared<HeadState>(std::move(parts), std::move(hooks));
  // The first part is queued first (or runs here when the workers are
  // busy, or there are none).
  const bool here = !io || io->queued() > 0;
  BlockLoader* l = &loader;
  fetch::RangeFetcher* f = &fetcher;
  for (size_t i = here ? 1 : 0; i < st->parts.size(); ++i) {
    if (io) {
      io->Post([l, f, ref, st, i] { RunPart(*l, *f, ref, st, i); });
    } else {
      RunPart(loader, fetcher, ref, st, i);
    }
  }
  if (here) RunPart(loader, fetcher, ref, st, 0);
  MutexLock lock(&st->mu);
  while (!st->version && st->left > 0) st->cv.Wait(&st->mu);
  if (st->version) return *st->version;
  return st->first_error.ok() ? Status(ErrorCode::kBadResponse, "no answer from the origin").error()
                              : st->first_error.error();
}

}  // namespace vodfs::read
