#include "support/fakes.h"

#include "vodfs/util/strings.h"
#include "vodfs/util/url.h"

namespace vodfs::testing {

void FakeOrigin::Put(const std::string& key, std::string data) {
  std::lock_guard<std::mutex> lock(mu_);
  Object o;
  o.etag = "\"" + std::to_string(str::StableHash64(data)) + "\"";
  o.data = std::move(data);
  objects_[key] = std::move(o);
}

std::string FakeOrigin::Sign(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  const int sig = next_sig_++;
  valid_[std::to_string(sig)] = 1;
  return "http://origin.test/" + key + "?sig=" + std::to_string(sig);
}

void FakeOrigin::RevokeAll() {
  std::lock_guard<std::mutex> lock(mu_);
  valid_.clear();
}

void FakeOrigin::AddFault(Fault f) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.push_back(f);
}

std::vector<std::string> FakeOrigin::ranges() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ranges_;
}

Result<http::Response> FakeOrigin::Send(const http::Request& r, uint64_t max_body) {
  http::Response out;
  http::StreamHandler h;
  h.on_body = [&](std::string_view c) {
    out.body.append(c);
    return out.body.size() <= max_body;
  };
  auto head = Stream(r, h);
  if (!head.ok()) return head.error();
  static_cast<http::ResponseHead&>(out) = *head;
  return out;
}

Result<http::ResponseHead> FakeOrigin::Stream(const http::Request& r, http::StreamHandler& h) {
  ++requests_;
  auto url = Url::Parse(r.url);
  if (!url) return Error(ErrorCode::kInvalidArgument, "bad url");
  const std::string key = url->path.substr(1);
  Object obj;
  bool valid;
  Fault fault;
  bool faulted = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto sig = QueryGet(ParseQuery(url->query), "sig");
    valid = sig && valid_.count(*sig);
    auto it = objects_.find(key);
    if (it != objects_.end()) obj = it->second;
    for (auto& f : faults_) {
      if (f.times > 0 && key.find(f.key) != std::string::npos &&
          (f.range_from < 0 || (r.range && r.range->first == static_cast<uint64_t>(f.range_from)))) {
        fault = f;
        --f.times;
        faulted = true;
        break;
      }
    }
    if (r.range) ranges_.push_back(std::to_string(r.range->first) + "-" + std::to_string(r.range->second));
  }
  http::ResponseHead head;
  auto finish = [&](int status, std::string body) -> Result<http::ResponseHead> {
    head.status = status;
    head.content_length = body.size();
    if (h.on_head && !h.on_head(head)) return Error(ErrorCode::kCancelled, "stopped");
    if (!body.empty() && h.on_body && !h.on_body(body)) return Error(ErrorCode::kCancelled, "stopped");
    return head;
  };
  if (!valid) return finish(403, "denied");
  if (faulted && fault.status) return finish(fault.status, "fault");
  if (faulted && !fault.other_data.empty()) obj = {fault.other_data, "\"other-version\""};
  if (obj.etag.empty()) return finish(404, "no such key");
  head.headers = {{"ETag", obj.etag}, {"Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT"}};
  uint64_t first = 0, last = obj.data.size() ? obj.data.size() - 1 : 0;
  bool partial = false;
  if (r.range && !(faulted && fault.ignore_range) && r.range->first < obj.data.size() &&
      r.range->second < obj.data.size()) {
    first = r.range->first;
    last = r.range->second;
    partial = true;
  }
  if (partial && faulted && fault.shift) {
    first += static_cast<uint64_t>(fault.shift);
    last += static_cast<uint64_t>(fault.shift);
    last = std::min<uint64_t>(last, obj.data.size() - 1);
  }
  std::string body = obj.data.empty() ? "" : obj.data.substr(first, last - first + 1);
  head.status = partial ? 206 : 200;
  if (partial) {
    head.headers.emplace_back("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                                                   std::to_string(obj.data.size()));
  }
  head.content_length = body.size();
  if (h.on_head && !h.on_head(head)) return Error(ErrorCode::kCancelled, "stopped");
  size_t send = body.size();
  if (faulted && fault.cut_after) send = std::min(send, fault.cut_after);
  // Deliver in chunks, as a network would.
  for (size_t pos = 0; pos < send; pos += 16384) {
    std::string_view chunk(body.data() + pos, std::min<size_t>(16384, send - pos));
    bytes_ += chunk.size();
    if (h.on_body && !h.on_body(chunk)) return Error(ErrorCode::kCancelled, "stopped");
  }
  if (send < body.size()) return Error(ErrorCode::kUnavailable, "connection reset");
  return head;
}

// ---------------------------------------------------------------------------

void FakeVodApi::AddVideo(Video v) {
  std::lock_guard<std::mutex> lock(mu_);
  videos_.push_back(std::move(v));
}

void FakeVodApi::RemoveVideo(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(videos_, [&](const Video& v) { return v.info.id == id; });
}

FakeVodApi::Video* FakeVodApi::Find(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& v : videos_) {
    if (v.info.id == id) return &v;
  }
  return nullptr;
}

std::map<std::string, int> FakeVodApi::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

Status FakeVodApi::Count(const std::string& op) {
  std::lock_guard<std::mutex> lock(mu_);
  ++calls_[op];
  if (fail_.load() != ErrorCode::kOk) return Status(fail_.load(), op + " failed (injected)");
  return Status::Ok();
}

Result<vod::VideoListPage> FakeVodApi::GetVideoList(const vod::VideoListRequest&) {
  VODFS_RETURN_IF_ERROR(Count("GetVideoList"));
  vod::VideoListPage p;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& v : videos_) p.videos.push_back(v.info);
  p.total = static_cast<int64_t>(p.videos.size());
  return p;
}

Result<vod::SearchPage> FakeVodApi::SearchMedia(const vod::SearchRequest& r) {
  VODFS_RETURN_IF_ERROR(Count("SearchMedia"));
  vod::SearchPage p;
  std::lock_guard<std::mutex> lock(mu_);
  if (r.search_type == "image") return p;
  std::vector<vod::MediaInfo> all;
  for (const auto& v : videos_) {
    if (v.info.media_type == r.search_type) all.push_back(v.info);
  }
  p.total = static_cast<int64_t>(all.size());
  const size_t first = static_cast<size_t>((r.page_no - 1) * r.page_size);
  for (size_t i = first; i < all.size() && i < first + static_cast<size_t>(r.page_size); ++i) p.media.push_back(all[i]);
  p.scroll_token = "t" + std::to_string(r.page_no);
  return p;
}

Result<vod::MediaInfo> FakeVodApi::GetVideoInfo(const std::string& id) {
  VODFS_RETURN_IF_ERROR(Count("GetVideoInfo"));
  Video* v = Find(id);
  if (!v) return Error(ErrorCode::kNotFound, "no video");
  return v->info;
}

Result<vod::VideoInfos> FakeVodApi::GetVideoInfos(const std::vector<std::string>& ids) {
  VODFS_RETURN_IF_ERROR(Count("GetVideoInfos"));
  vod::VideoInfos out;
  for (const auto& id : ids) {
    if (Video* v = Find(id)) out.videos.push_back(v->info);
    else out.missing.push_back(id);
  }
  return out;
}

Result<vod::Mezzanine> FakeVodApi::GetMezzanineInfo(const vod::MezzanineRequest& r) {
  VODFS_RETURN_IF_ERROR(Count("GetMezzanineInfo"));
  Video* v = Find(r.video_id);
  if (!v) return Error(ErrorCode::kNotFound, "no video");
  if (v->source_key.empty()) return Error(ErrorCode::kNotFound, "no source");
  vod::Mezzanine m;
  m.video_id = v->info.id;
  m.file_name = v->source_name;
  m.file_url = origin_.Sign(v->source_key);
  m.size = v->info.size;
  m.creation_time = v->info.creation_time;
  return m;
}

Result<vod::PlayInfoResult> FakeVodApi::GetPlayInfo(const vod::PlayInfoRequest& r) {
  VODFS_RETURN_IF_ERROR(Count("GetPlayInfo"));
  Video* v = Find(r.video_id);
  if (!v) return Error(ErrorCode::kNotFound, "no video");
  if (v->info.status != "Normal") return Error(ErrorCode::kFailedPrecondition, "not playable");
  vod::PlayInfoResult out;
  out.base.video_id = v->info.id;
  out.base.cover_url = v->cover_key.empty() ? "" : origin_.Sign(v->cover_key);
  for (auto s : v->streams) {
    s.play_url = origin_.Sign(s.play_url);
    out.streams.push_back(s);
  }
  return out;
}

Result<vod::SnapshotPage> FakeVodApi::ListSnapshots(const vod::SnapshotRequest& r) {
  VODFS_RETURN_IF_ERROR(Count("ListSnapshots"));
  Video* v = Find(r.video_id);
  if (!v) return Error(ErrorCode::kNotFound, "no video");
  const std::vector<std::string>* keys = r.snapshot_type == "NormalSnapshot"   ? &v->snapshots
                                         : r.snapshot_type == "SpriteSnapshot" ? &v->sprites
                                         : r.snapshot_type == "SpriteOriginSnapshot" ? &v->originals
                                                                                     : nullptr;
  vod::SnapshotPage p;
  if (r.snapshot_type == "CoverSnapshot" && !v->cover_key.empty()) {
    p.total = 1;
    p.snapshots.push_back({1, origin_.Sign(v->cover_key)});
    return p;
  }
  if (!keys) return p;
  p.total = static_cast<int64_t>(keys->size());
  const size_t first = static_cast<size_t>((r.page_no - 1) * r.page_size);
  for (size_t i = first; i < keys->size() && i < first + static_cast<size_t>(r.page_size); ++i) {
    p.snapshots.push_back({static_cast<int64_t>(i + 1), origin_.Sign((*keys)[i])});
  }
  return p;
}

Result<vod::ImageInfo> FakeVodApi::GetImageInfo(const vod::ImageRequest&) {
  VODFS_RETURN_IF_ERROR(Count("GetImageInfo"));
  return Error(ErrorCode::kNotFound, "no images");
}

Result<vod::ImageInfos> FakeVodApi::GetImageInfos(const vod::ImageRequest&) {
  VODFS_RETURN_IF_ERROR(Count("GetImageInfos"));
  return vod::ImageInfos{};
}

Result<vod::CategoryPage> FakeVodApi::GetCategories(const vod::CategoryRequest&) {
  VODFS_RETURN_IF_ERROR(Count("GetCategories"));
  return vod::CategoryPage{};
}

}  // namespace vodfs::testing
