#include "vod/decode.h"
#include "vodfs/util/strings.h"
#include "vodfs/vod/api.h"

namespace vodfs::vod {

namespace {

void Put(Params& p, const char* name, const std::string& v) {
  if (!v.empty()) p[name] = v;
}
void PutInt(Params& p, const char* name, int64_t v) {
  if (v > 0) p[name] = std::to_string(v);
}
void PutOutput(Params& p, OutputType t) {
  if (t != OutputType::kDefault) p["OutputType"] = OutputTypeName(t);
}

}  // namespace

Result<VideoListPage> VodClient::GetVideoList(const VideoListRequest& r) {
  Params p;
  if (r.cate_id) p["CateId"] = std::to_string(*r.cate_id);
  Put(p, "Status", r.status);
  Put(p, "StartTime", r.start_time);
  Put(p, "EndTime", r.end_time);
  PutInt(p, "PageNo", r.page_no);
  PutInt(p, "PageSize", r.page_size);
  Put(p, "SortBy", r.sort_by);
  VODFS_ASSIGN_OR_RETURN(std::string body, rpc_.Call("GetVideoList", p));
  return DecodeVideoList(body);
}

Result<SearchPage> VodClient::SearchMedia(const SearchRequest& r) {
  Params p;
  Put(p, "SearchType", r.search_type);
  Put(p, "Match", r.match);
  Put(p, "Fields", r.fields);
  Put(p, "SortBy", r.sort_by);
  PutInt(p, "PageNo", r.page_no);
  PutInt(p, "PageSize", r.page_size);
  Put(p, "ScrollToken", r.scroll_token);
  VODFS_ASSIGN_OR_RETURN(std::string body, rpc_.Call("SearchMedia", p));
  return DecodeSearchMedia(body, r.search_type);
}

Result<MediaInfo> VodClient::GetVideoInfo(const std::string& video_id) {
  VODFS_ASSIGN_OR_RETURN(std::string body, rpc_.Call("GetVideoInfo", {{"VideoId", video_id}}));
  return DecodeVideoInfo(body);
}

Result<VideoInfos> VodClient::GetVideoInfos(const std::vector<std::string>& ids) {
  if (ids.empty() || ids.size() > 20) {
    return Error(ErrorCode::kInvalidArgument, "GetVideoInfos takes 1 to 20 ids");
  }
  VODFS_ASSIGN_OR_RETURN(std::string body, rpc_.Call("GetVideoInfos", {{"VideoIds", str::Join(ids, ",")}}));
  return DecodeVideoInfos(body);
}

Result<Mezzanine> VodClient::GetMezzanineInfo(const MezzanineRequest& r) {
  Params p = {{"VideoId", r.video_id}};
  PutOutput(p, r.output_type);
  PutInt(p, "AuthTimeout", r.auth_timeout);
  Put(p, "AdditionType", r.addition_type);
  VODFS_ASSIGN_OR_RETURN(std::string body, rpc_.Call("GetMezzanineInfo", p));
  return DecodeMezzanineInfo(body);
}

Result<PlayInfoResult> VodClient::GetPlayInfo(const PlayInfoRequest& r) {
  Params p = {{"VideoId", r.video_id}};
  Put(p, "Formats", r.formats);
  Put(p, "Definition", r.definition);
  Put(p, "StreamType", r.stream_type);
  PutOutput(p, r.output_type);
  PutInt(p, "AuthTimeout", r.auth_timeout);
  Put(p, "ResultType", r.result_type);
  Put(p, "PlayConfig", r.play_config);
  Put(p, "ReAuthInfo", r.reauth_info);
  VODFS_ASSIGN_OR_RETURN(std::string body, rpc_.Call("GetPlayInfo", p));
  return DecodePlayInfo(body);
}

Result<SnapshotPage> VodClient::ListSnapshots(const SnapshotRequest& r) {
  Params p = {{"VideoId", r.video_id}};
  Put(p, "SnapshotType", r.snapshot_type);
  PutInt(p, "AuthTimeout", r.auth_timeout);
  PutInt(p, "PageNo", r.page_no);
  PutInt(p, "PageSize", r.page_size);
  VODFS_ASSIGN_OR_RETURN(std::string body, rpc_.Call("ListSnapshots", p));
  return DecodeListSnapshots(body);
}

Result<ImageInfo> VodClient::GetImageInfo(const ImageRequest& r) {
  Params p = {{"ImageId", r.image_id}};
  PutOutput(p, r.output_type);
  PutInt(p, "AuthTimeout", r.auth_timeout);
  VODFS_ASSIGN_OR_RETURN(std::string body, rpc_.Call("GetImageInfo", p));
  return DecodeImageInfo(body);
}

Result<ImageInfos> VodClient::GetImageInfos(const ImageRequest& r) {
  if (r.image_ids.empty() || r.image_ids.size() > 20) {
    return Error(ErrorCode::kInvalidArgument, "GetImageInfos takes 1 to 20 ids");
  }
  Params p = {{"ImageIds", str::Join(r.image_ids, ",")}};
  PutOutput(p, r.output_type);
  PutInt(p, "AuthTimeout", r.auth_timeout);
  VODFS_ASSIGN_OR_RETURN(std::string body, rpc_.Call("GetImageInfos", p));
  return DecodeImageInfos(body);
}

Result<CategoryPage> VodClient::GetCategories(const CategoryRequest& r) {
  Params p;
  if (r.cate_id >= 0) p["CateId"] = std::to_string(r.cate_id);
  PutInt(p, "PageNo", r.page_no);
  PutInt(p, "PageSize", r.page_size);
  Put(p, "Type", r.type);
  VODFS_ASSIGN_OR_RETURN(std::string body, rpc_.Call("GetCategories", p));
  return DecodeCategories(body);
}

// ---------------------------------------------------------------------------

LibraryIterator::LibraryIterator(VodApi& api, std::string search_type, std::string fields,
                                 std::string sort_by, int page_size, std::string match)
    : api_(api) {
  req_.search_type = std::move(search_type);
  req_.fields = std::move(fields);
  req_.sort_by = std::move(sort_by);
  req_.page_size = page_size;
  req_.page_no = 1;
  req_.match = std::move(match);
}

Result<bool> LibraryIterator::Next(std::vector<MediaInfo>* media, std::vector<ImageInfo>* images) {
  media->clear();
  if (images) images->clear();
  if (done_) return false;
  // Paged mode reaches the first 5,000 results; beyond that only ScrollToken
  // traversal (video and audio) goes on. Passing each answer's token on
  // every call keeps one code path for both.
  SearchPage page;
  {
    VODFS_ASSIGN_OR_RETURN(page, api_.SearchMedia(req_));
  }
  ++calls_;
  total_ = page.total;
  const bool is_image = req_.search_type == "image";
  const size_t n = page.entries;
  const std::string first = is_image ? (page.images.empty() ? "" : page.images.front().id)
                                     : (page.media.empty() ? "" : page.media.front().id);
  // The next page must start elsewhere than this one did: a service (or a
  // proxy) answering one page forever would otherwise never end the walk.
  if (!first.empty() && first == last_first_id_) {
    done_ = true;
    return Error(ErrorCode::kBadResponse, "SearchMedia answered the same page twice (" + req_.search_type +
                                              " page " + std::to_string(req_.page_no) +
                                              "): the listing makes no progress");
  }
  last_first_id_ = first;
  seen_ += static_cast<int64_t>(n);
  *media = std::move(page.media);
  if (images) *images = std::move(page.images);
  // Images are paged only (the service refuses a ScrollToken for them).
  if (!is_image) req_.scroll_token = page.scroll_token;
  ++req_.page_no;
  // Done when a page comes back short, or everything announced was seen
  // (saving the final empty call).
  if (n < static_cast<size_t>(req_.page_size) || (total_ >= 0 && seen_ >= total_)) done_ = true;
  if (is_image && static_cast<int64_t>(req_.page_no - 1) * req_.page_size >= 5000) {
    if (!done_) {
      done_ = true;
      return Error(ErrorCode::kOutOfRange, "more than 5,000 images match \"" + req_.match +
                                               "\": SearchMedia pages images no further");
    }
  }
  return n > 0 || !done_;
}

}  // namespace vodfs::vod
