// VodApi: the VOD operations vodfs uses, typed. VodClient implements it over
// RpcClient; tests substitute fakes. LibraryIterator walks a whole library
// past the 5,000-result paging limit with ScrollToken.
//
// Thread-safety: implementations are safe to call concurrently.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vodfs/util/result.h"
#include "vodfs/vod/rpc.h"
#include "vodfs/vod/types.h"

namespace vodfs::vod {

class VodApi {
 public:
  virtual ~VodApi() = default;
  virtual Result<VideoListPage> GetVideoList(const VideoListRequest& r) = 0;
  virtual Result<SearchPage> SearchMedia(const SearchRequest& r) = 0;
  virtual Result<MediaInfo> GetVideoInfo(const std::string& video_id) = 0;
  virtual Result<VideoInfos> GetVideoInfos(const std::vector<std::string>& video_ids) = 0;
  virtual Result<Mezzanine> GetMezzanineInfo(const MezzanineRequest& r) = 0;
  virtual Result<PlayInfoResult> GetPlayInfo(const PlayInfoRequest& r) = 0;
  virtual Result<SnapshotPage> ListSnapshots(const SnapshotRequest& r) = 0;
  virtual Result<ImageInfo> GetImageInfo(const ImageRequest& r) = 0;
  virtual Result<ImageInfos> GetImageInfos(const ImageRequest& r) = 0;
  virtual Result<CategoryPage> GetCategories(const CategoryRequest& r) = 0;
};

class VodClient final : public VodApi {
 public:
  explicit VodClient(RpcClient& rpc) : rpc_(rpc) {}
  Result<VideoListPage> GetVideoList(const VideoListRequest& r) override;
  Result<SearchPage> SearchMedia(const SearchRequest& r) override;
  Result<MediaInfo> GetVideoInfo(const std::string& video_id) override;
  Result<VideoInfos> GetVideoInfos(const std::vector<std::string>& video_ids) override;
  Result<Mezzanine> GetMezzanineInfo(const MezzanineRequest& r) override;
  Result<PlayInfoResult> GetPlayInfo(const PlayInfoRequest& r) override;
  Result<SnapshotPage> ListSnapshots(const SnapshotRequest& r) override;
  Result<ImageInfo> GetImageInfo(const ImageRequest& r) override;
  Result<ImageInfos> GetImageInfos(const ImageRequest& r) override;
  Result<CategoryPage> GetCategories(const CategoryRequest& r) override;

 private:
  RpcClient& rpc_;
};

// Walks every medium of one type ("video", "audio" or "image") matching
// `match` (all when empty) with SearchMedia: 100 per call (the minimum
// number of calls the limits allow), passing each answer's ScrollToken on
// (video and audio reach 2,000,000 that way; images only the first 5,000,
// which is the service's limit for them: callers partition larger sets).
// A service that answers the same page again and again (a broken proxy)
// ends the walk with kBadResponse instead of looping.
class LibraryIterator {
 public:
  LibraryIterator(VodApi& api, std::string search_type, std::string fields,
                  std::string sort_by = "CreationTime:Asc", int page_size = 100, std::string match = "");
  // Fetches the next page into *media (or *images for "image"). Returns
  // false when the traversal is complete.
  Result<bool> Next(std::vector<MediaInfo>* media, std::vector<ImageInfo>* images = nullptr);
  int64_t total() const { return total_; }
  int calls() const { return calls_; }

 private:
  VodApi& api_;
  SearchRequest req_;
  int64_t total_ = -1;
  int64_t seen_ = 0;
  int calls_ = 0;
  bool done_ = false;
  std::string last_first_id_;  // first id of the previous page
};

}  // namespace vodfs::vod
