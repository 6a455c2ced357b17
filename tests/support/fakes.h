// Fakes of the layers below the filesystem: the VOD API and a media origin.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "vodfs/http/http_client.h"
#include "vodfs/vod/api.h"

namespace vodfs::testing {

// An origin serving objects at "http://origin.test/<key>?sig=<n>". A URL
// is valid while its sig is in the valid set; each object has bytes, an
// ETag and answers Range as OSS does.
class FakeOrigin final : public http::HttpClient {
 public:
  struct Object {
    std::string data;
    std::string etag;
    uint64_t crc64 = 0;
  };
  void Put(const std::string& key, std::string data);
  // A fresh valid URL for `key` (what the API would hand out now).
  std::string Sign(const std::string& key);
  void RevokeAll();  // every URL issued so far is refused (403)

  // Faults, applied to the next media GET matching `key` substring.
  struct Fault {
    std::string key;
    int status = 0;         // answer this status
    size_t cut_after = 0;   // send only this many body bytes, then fail
    bool ignore_range = false;
    int64_t shift = 0;      // answer another range, and say so
    std::string other_data{};  // answer as another version of the object (these bytes, another ETag)
    int64_t range_from = -1;  // only a request whose range starts here
    int64_t flip_at = -1;     // this object offset arrives with a bit flipped (the CRC-64 stays true)
    bool no_crc = false;      // answer without x-oss-hash-crc64ecma
    int times = 1;
  };
  void AddFault(Fault f);

  Result<http::Response> Send(const http::Request& r, uint64_t max_body) override;
  Result<http::ResponseHead> Stream(const http::Request& r, http::StreamHandler& h) override;
  http::ClientStats Stats() const override { return {}; }

  int requests() const { return requests_; }
  uint64_t bytes_sent() const { return bytes_; }
  std::vector<std::string> ranges() const;  // Range headers seen, in order
  // The stall limit the last request carried.
  std::chrono::seconds last_stall() const { return std::chrono::seconds(last_stall_.load()); }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Object> objects_;
  std::map<std::string, int> valid_;  // sig -> 1
  int next_sig_ = 1;
  std::vector<Fault> faults_;
  std::atomic<int> requests_{0};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<int64_t> last_stall_{0};
  std::vector<std::string> ranges_;
};

// A VOD API over a programmable in-memory library; URLs come from a
// FakeOrigin.
class FakeVodApi final : public vod::VodApi {
 public:
  explicit FakeVodApi(FakeOrigin& origin) : origin_(origin) {}

  struct Video {
    vod::MediaInfo info;
    std::string source_name = "master.mp4";
    std::string source_key;  // empty: no source
    std::vector<vod::PlayInfo> streams;  // play_url holds the object key
    std::vector<std::string> snapshots, sprites, originals;  // object keys
    std::string cover_key;
  };
  void AddVideo(Video v);
  void RemoveVideo(const std::string& id);
  Video* Find(const std::string& id);
  // Changes a listed medium in place (a title, a status, its time).
  void UpdateVideo(const std::string& id, const std::function<void(vod::MediaInfo&)>& change);
  struct Image {
    vod::ImageInfo info;  // file_size, original_file_name as GetImageInfos reports them
    std::string key;
  };
  void AddImage(Image i);
  void RemoveImage(const std::string& id);
  void SetCategories(std::vector<vod::Category> all);  // parent_id -1 for level 1
  // Every call fails with this error (kOk: none).
  void FailAll(ErrorCode code) { fail_ = code; }
  // SearchMedia fails with kUnavailable once this many more calls were made.
  void FailSearchAfter(int calls) { fail_search_after_ = calls; }
  // SearchMedia answers its first page again whatever is asked (a broken proxy).
  void RepeatPages(bool on) { repeat_pages_ = on; }
  std::map<std::string, int> calls() const;
  int total_calls() const;

  Result<vod::VideoListPage> GetVideoList(const vod::VideoListRequest& r) override;
  Result<vod::SearchPage> SearchMedia(const vod::SearchRequest& r) override;
  Result<vod::MediaInfo> GetVideoInfo(const std::string& id) override;
  Result<vod::VideoInfos> GetVideoInfos(const std::vector<std::string>& ids) override;
  Result<vod::Mezzanine> GetMezzanineInfo(const vod::MezzanineRequest& r) override;
  Result<vod::PlayInfoResult> GetPlayInfo(const vod::PlayInfoRequest& r) override;
  Result<vod::SnapshotPage> ListSnapshots(const vod::SnapshotRequest& r) override;
  Result<vod::ImageInfo> GetImageInfo(const vod::ImageRequest& r) override;
  Result<vod::ImageInfos> GetImageInfos(const vod::ImageRequest& r) override;
  Result<vod::CategoryPage> GetCategories(const vod::CategoryRequest& r) override;

 private:
  Status Count(const std::string& op);
  FakeOrigin& origin_;
  mutable std::mutex mu_;
  std::vector<Video> videos_;
  std::vector<Image> images_;
  std::vector<vod::Category> categories_;
  std::map<std::string, int> calls_;
  std::atomic<ErrorCode> fail_{ErrorCode::kOk};
  std::atomic<int> fail_search_after_{-1};
  std::atomic<bool> repeat_pages_{false};
};

}  // namespace vodfs::testing
