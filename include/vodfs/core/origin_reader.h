// FetcherOrigin: the namespace's view of the origins (ns::OriginReader)
// over the range fetcher. A probed version is remembered in the version
// table, so that the first open of a probed object pins it at once.
//
// Thread-safety: safe to share (the fetcher and the table are).
#pragma once

#include "vodfs/fetch/fetcher.h"
#include "vodfs/fetch/version_table.h"
#include "vodfs/ns/namespace.h"

namespace vodfs::core {

class FetcherOrigin final : public ns::OriginReader {
 public:
  FetcherOrigin(fetch::RangeFetcher& fetcher, fetch::VersionTable& versions) : fetcher_(fetcher), versions_(versions) {}

  Result<ns::ObjectVersion> Probe(const resolve::MediaRef& ref) override {
    VODFS_ASSIGN_OR_RETURN(fetch::Fingerprint fp, fetcher_.Probe(ref));
    versions_.Set(ref.Key(), fp);
    return ns::ObjectVersion{fp.size, fp.etag, fp.last_modified};
  }
  Result<std::string> FetchWhole(const resolve::MediaRef& ref, uint64_t max_bytes) override {
    return fetcher_.FetchWhole(ref, max_bytes);
  }

 private:
  fetch::RangeFetcher& fetcher_;
  fetch::VersionTable& versions_;
};

}  // namespace vodfs::core
