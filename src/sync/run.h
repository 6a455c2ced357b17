// One sync's working state, shared by the listing steps (listing.cc) and
// the orchestration (syncer.cc). Private to the sync module.
#pragma once

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "vodfs/sync/syncer.h"

namespace vodfs::sync {

// The API as one sync uses it: every call counted.
class CountedApi final : public vod::VodApi {
 public:
  explicit CountedApi(vod::VodApi& api) : api_(api) {}
  int64_t calls() const { return calls_.load(); }
  Result<vod::VideoListPage> GetVideoList(const vod::VideoListRequest& r) override { return Count(), api_.GetVideoList(r); }
  Result<vod::SearchPage> SearchMedia(const vod::SearchRequest& r) override { return Count(), api_.SearchMedia(r); }
  Result<vod::MediaInfo> GetVideoInfo(const std::string& id) override { return Count(), api_.GetVideoInfo(id); }
  Result<vod::VideoInfos> GetVideoInfos(const std::vector<std::string>& ids) override {
    return Count(), api_.GetVideoInfos(ids);
  }
  Result<vod::Mezzanine> GetMezzanineInfo(const vod::MezzanineRequest& r) override {
    return Count(), api_.GetMezzanineInfo(r);
  }
  Result<vod::PlayInfoResult> GetPlayInfo(const vod::PlayInfoRequest& r) override { return Count(), api_.GetPlayInfo(r); }
  Result<vod::SnapshotPage> ListSnapshots(const vod::SnapshotRequest& r) override { return Count(), api_.ListSnapshots(r); }
  Result<vod::ImageInfo> GetImageInfo(const vod::ImageRequest& r) override { return Count(), api_.GetImageInfo(r); }
  Result<vod::ImageInfos> GetImageInfos(const vod::ImageRequest& r) override { return Count(), api_.GetImageInfos(r); }
  Result<vod::CategoryPage> GetCategories(const vod::CategoryRequest& r) override {
    return Count(), api_.GetCategories(r);
  }

 private:
  void Count() { ++calls_; }
  vod::VodApi& api_;
  std::atomic<int64_t> calls_{0};
};

struct Syncer::Run {
  explicit Run(vod::VodApi& a) : api(a) {}
  CountedApi api;
  int64_t started = 0;        // Unix seconds
  int64_t until = 0;          // upper bound of time ranges (now + a day: a skewed service clock)
  bool full = false;
  bool needs_full = false;    // an incremental sync found what only a full one can settle

  // Incremental: what the sync found, applied in one transaction at the end.
  Mutex mu;
  std::unordered_map<std::string, index::MediaRecord> upserts GUARDED_BY(mu);
  std::unordered_set<std::string> fresh GUARDED_BY(mu);  // upserted ids the index does not hold yet
  std::set<std::string> deletes GUARDED_BY(mu);
  std::map<index::MediaKind, int64_t> newest GUARDED_BY(mu);  // newest ModificationTime listed, per kind

  // Both: the category tree, when it was listed.
  bool categories_listed = false;
  bool categories_changed = false;
  std::vector<index::CategoryRecord> categories;
};

}  // namespace vodfs::sync
