// HeadFetch: the first read of an open file, which also learns the
// object's version.
//
// Its parts (PlanFirstRead) go out at once, on parallel connections. The
// first answer to arrive names the version; under it the blocks of every
// part still running are claimed at once, before any byte of them is
// filed, so no other read fetches them a second time. A part whose own
// answer names another version (the object changed between the requests)
// files nothing and fails the blocks claimed for it (kStale), never mixing
// two versions. Run() returns as soon as the version is known; the parts
// go on filing their blocks on the executor.
//
// Thread-safety: Run() may be called from any thread; the parts share one
// state under its mutex. LOCK ORDERING: the state's mutex before whatever
// the on_version hook takes (it runs under it).
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "vodfs/read/block_loader.h"
#include "vodfs/read/planner.h"
#include "vodfs/util/executor.h"

namespace vodfs::read {

class HeadFetch {
 public:
  struct Hooks {
    // The version is known, before any block of it is filed.
    std::function<void(const ObjectVersion&)> on_version;
    // The object's first bytes (at least 512, or all of it) arrived.
    std::function<void(const ObjectVersion&, std::string_view)> on_head_bytes;
  };

  // Runs parts[0] here when `io` is busy or null, everything else on `io`.
  static Result<ObjectVersion> Run(BlockLoader& loader, fetch::RangeFetcher& fetcher, Executor* io,
                                   const resolve::MediaRef& ref, std::vector<Span> parts, Hooks hooks);
};

// Claims the blocks of `span` of `v` that are neither cached nor being
// loaded (blocks past the object's end are not claimed).
BlockLoader::Claims ClaimSpan(cache::BlockCache& cache, const ObjectVersion& v, const Span& span, uint64_t bs);

}  // namespace vodfs::read
