#include "support/fakes.h"

#include <algorithm>

#include "vodfs/util/crc64.h"
#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"
#include "vodfs/util/url.h"

namespace vodfs::testing {

void FakeOrigin::Put(const std::string& key, std::string data) {
  std::lock_guard<std::mutex> lock(mu_);
  Object o;
  o.etag = "\"" + std::to_string(str::StableHash64(data)) + "\"";
  o.crc64 = Crc64(data.data(), data.size());
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
  last_stall_ = r.stall.count();
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
  if (faulted && !fault.other_data.empty()) {
    obj = {fault.other_data, "\"other-version\"", Crc64(fault.other_data.data(), fault.other_data.size())};
  }
  if (obj.etag.empty()) return finish(404, "no such key");
  head.headers = {{"ETag", obj.etag}, {"Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT"}};
  // Like OSS: the CRC-64 of the whole object, on every answer.
  if (!(faulted && fault.no_crc)) head.headers.emplace_back("x-oss-hash-crc64ecma", std::to_string(obj.crc64));
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
  if (faulted && fault.flip_at >= 0 && static_cast<uint64_t>(fault.flip_at) >= first &&
      static_cast<uint64_t>(fault.flip_at) <= last) {
    body[static_cast<uint64_t>(fault.flip_at) - first] ^= 0x20;  // damaged on the way
  }
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

void FakeVodApi::UpdateVideo(const std::string& id, const std::function<void(vod::MediaInfo&)>& change) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& v : videos_) {
    if (v.info.id == id) change(v.info);
  }
}

void FakeVodApi::AddImage(Image i) {
  std::lock_guard<std::mutex> lock(mu_);
  images_.push_back(std::move(i));
}

void FakeVodApi::RemoveImage(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(images_, [&](const Image& i) { return i.info.id == id; });
}

void FakeVodApi::SetCategories(std::vector<vod::Category> all) {
  std::lock_guard<std::mutex> lock(mu_);
  categories_ = std::move(all);
}

int FakeVodApi::total_calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const auto& [op, c] : calls_) n += c;
  return n;
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

namespace {

// The Match forms the sync engine sends: "<Field> = [|('<iso>','<iso>')|]"
// joined by "and". Anything else is refused, as a service would refuse
// what it does not support.
struct TimeRange {
  std::string field;
  int64_t lo = 0, hi = 0;
  bool lo_open = false, hi_open = false;
  bool Has(int64_t t) const {
    if (lo_open ? t <= lo : t < lo) return false;
    if (hi_open ? t >= hi : t > hi) return false;
    return true;
  }
};

Result<std::vector<TimeRange>> ParseMatch(const std::string& match) {
  std::vector<TimeRange> out;
  std::string rest = match;
  while (!rest.empty()) {
    const size_t eq = rest.find(" = ");
    if (eq == std::string::npos || eq + 4 > rest.size()) return Error(ErrorCode::kInvalidArgument, "bad Match " + match);
    TimeRange r;
    r.field = rest.substr(0, eq);
    const char open = rest[eq + 3];
    const size_t close = rest.find_first_of(")]", eq + 3);
    if ((open != '[' && open != '(') || close == std::string::npos) {
      return Error(ErrorCode::kInvalidArgument, "bad Match " + match);
    }
    const std::string inner = rest.substr(eq + 4, close - eq - 4);
    const size_t comma = inner.find(',');
    auto unquote = [](std::string v) {
      if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') v = v.substr(1, v.size() - 2);
      return v;
    };
    auto lo = timefmt::ParseIso8601(unquote(inner.substr(0, comma)));
    auto hi = timefmt::ParseIso8601(unquote(inner.substr(comma + 1)));
    if (comma == std::string::npos || !lo || !hi) return Error(ErrorCode::kInvalidArgument, "bad range " + inner);
    r.lo = *lo;
    r.hi = *hi;
    r.lo_open = open == '(';
    r.hi_open = rest[close] == ')';
    out.push_back(r);
    rest = rest.substr(close + 1);
    if (str::StartsWith(rest, " and ")) rest = rest.substr(5);
  }
  return out;
}

}  // namespace

Result<vod::SearchPage> FakeVodApi::SearchMedia(const vod::SearchRequest& r) {
  VODFS_RETURN_IF_ERROR(Count("SearchMedia"));
  if (fail_search_after_.load() >= 0 && fail_search_after_.fetch_sub(1) == 0) {
    fail_search_after_ = -1;
    return Error(ErrorCode::kUnavailable, "SearchMedia: connection refused (injected)");
  }
  VODFS_ASSIGN_OR_RETURN(std::vector<TimeRange> ranges, ParseMatch(r.match));
  auto keep = [&ranges](int64_t ctime, int64_t mtime) {
    for (const auto& t : ranges) {
      if (!t.Has(t.field == "CreationTime" ? ctime : mtime)) return false;
    }
    return true;
  };
  vod::SearchPage p;
  std::lock_guard<std::mutex> lock(mu_);
  const bool desc = r.sort_by == "CreationTime:Desc" || r.sort_by.empty();
  // Positions in creation order, then id.
  std::vector<std::pair<std::pair<int64_t, std::string>, size_t>> order;
  if (r.search_type == "image") {
    if (!r.scroll_token.empty()) return Error(ErrorCode::kInvalidArgument, "Full traversal supports video and audio only.");
    for (size_t i = 0; i < images_.size(); ++i) {
      const auto& m = images_[i].info;
      if (keep(m.creation_time, m.modification_time)) order.push_back({{m.creation_time, m.id}, i});
    }
  } else {
    for (size_t i = 0; i < videos_.size(); ++i) {
      const auto& m = videos_[i].info;
      if (m.media_type == r.search_type && keep(m.creation_time, m.modification_time)) {
        order.push_back({{m.creation_time, m.id}, i});
      }
    }
  }
  std::sort(order.begin(), order.end());
  if (desc) std::reverse(order.begin(), order.end());
  p.total = static_cast<int64_t>(order.size());
  // Plain pages reach 5,000; a ScrollToken ("s<position>") goes on.
  size_t first = static_cast<size_t>((r.page_no - 1) * r.page_size);
  if (!r.scroll_token.empty() && r.scroll_token[0] == 's') {
    first = static_cast<size_t>(str::ParseInt64(r.scroll_token.substr(1)).value_or(0));
  } else if (first + static_cast<size_t>(r.page_size) > 5000) {
    return Error(ErrorCode::kInvalidArgument, "Paged queries reach the first 5000 records");
  }
  if (repeat_pages_) first = 0;
  size_t k = first;
  for (; k < order.size() && k < first + static_cast<size_t>(r.page_size); ++k) {
    if (r.search_type == "image") {
      vod::ImageInfo img = images_[order[k].second].info;
      img.file_size = 0;  // SearchMedia does not say; GetImageInfos does
      img.original_file_name.clear();
      p.images.push_back(img);
    } else {
      p.media.push_back(videos_[order[k].second].info);
    }
    ++p.entries;
  }
  p.scroll_token = "s" + std::to_string(k);
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

Result<vod::ImageInfo> FakeVodApi::GetImageInfo(const vod::ImageRequest& r) {
  VODFS_RETURN_IF_ERROR(Count("GetImageInfo"));
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& i : images_) {
    if (i.info.id != r.image_id) continue;
    vod::ImageInfo out = i.info;
    out.url = origin_.Sign(i.key);
    out.file_url = out.url;
    return out;
  }
  return Error(ErrorCode::kNotFound, "The image does not exist.");
}

Result<vod::ImageInfos> FakeVodApi::GetImageInfos(const vod::ImageRequest& r) {
  VODFS_RETURN_IF_ERROR(Count("GetImageInfos"));
  if (r.image_ids.empty() || r.image_ids.size() > 20) return Error(ErrorCode::kInvalidArgument, "1 to 20 ids");
  vod::ImageInfos out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& id : r.image_ids) {
    bool found = false;
    for (const auto& i : images_) {
      if (i.info.id != id) continue;
      vod::ImageInfo info = i.info;
      info.url = origin_.Sign(i.key);
      info.file_url = info.url;
      out.images.push_back(std::move(info));
      found = true;
    }
    if (!found) out.missing.push_back(id);
  }
  return out;
}

Result<vod::CategoryPage> FakeVodApi::GetCategories(const vod::CategoryRequest& r) {
  VODFS_RETURN_IF_ERROR(Count("GetCategories"));
  vod::CategoryPage p;
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<vod::Category> children;
  for (const auto& c : categories_) {
    if (c.parent_id == r.cate_id) children.push_back(c);
    if (c.id == r.cate_id) p.category = c;
  }
  if (r.cate_id >= 0 && !p.category) return Error(ErrorCode::kNotFound, "The category does not exist.");
  for (auto& c : children) {
    c.sub_total = 0;
    for (const auto& x : categories_) c.sub_total += x.parent_id == c.id;
  }
  p.sub_total = static_cast<int64_t>(children.size());
  const size_t first = static_cast<size_t>((r.page_no - 1) * r.page_size);
  for (size_t i = first; i < children.size() && i < first + static_cast<size_t>(r.page_size); ++i) {
    p.children.push_back(children[i]);
  }
  return p;
}

}  // namespace vodfs::testing
