// MediaSource: what one medium's directory holds, from the VOD API and the
// origins: its source file (GetMezzanineInfo), its streams (GetPlayInfo),
// cover, snapshots and sprites (ListSnapshots), info.json, and for an HLS
// stream the segments its playlist names. Sizes the API does not give are
// probed at the origin, in parallel.
//
// Thread-safety: safe to call concurrently (it holds no state of its own).
#pragma once

#include <cstdint>
#include <vector>

#include "ns/media_tree.h"
#include "vodfs/index/store.h"
#include "vodfs/ns/namespace.h"
#include "vodfs/resolve/url_broker.h"
#include "vodfs/util/executor.h"
#include "vodfs/vod/api.h"

namespace vodfs::ns {

class MediaSource {
 public:
  MediaSource(vod::VodApi& api, resolve::UrlBroker& broker, OriginReader& origin, Executor& executor,
              const NsOptions& options)
      : api_(api), broker_(broker), origin_(origin), executor_(executor), options_(options) {}

  // The tree of `m`'s directory. A medium deleted meanwhile is kNotFound;
  // any other failure fails the whole tree (a directory missing files would
  // look like lost files to a backup).
  Result<MediaTree> Fetch(const index::MediaRecord& m, int64_t now, uint64_t* probes);
  // The entries of an HLS directory: its segments and index.m3u8.
  Result<std::vector<NodeSpec>> FetchHls(const index::MediaRecord& m, const TreeNode& dir, uint64_t* probes);

 private:
  // Probes the sizes of the specs that have none; leaves out those the
  // origin does not have (listed, but gone).
  Status ProbeSizes(std::vector<NodeSpec>* specs, uint64_t* probes);

  vod::VodApi& api_;
  resolve::UrlBroker& broker_;
  OriginReader& origin_;
  Executor& executor_;
  const NsOptions& options_;
};

}  // namespace vodfs::ns
