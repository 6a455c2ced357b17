#include "ns/media_source.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <functional>
#include <latch>
#include <set>

#include "ns/info_json.h"
#include "vodfs/ns/names.h"
#include "vodfs/resolve/hls.h"
#include "vodfs/util/log.h"
#include "vodfs/util/url.h"

namespace vodfs::ns {

using resolve::Role;

namespace {

bool IsNotFound(const Error& e) { return e.code == ErrorCode::kNotFound; }

// Runs `tasks` on `ex` and waits for all of them.
void RunAll(Executor& ex, std::vector<std::function<void()>>& tasks) {
  if (tasks.empty()) return;
  std::latch done(static_cast<std::ptrdiff_t>(tasks.size()));
  for (auto& t : tasks) {
    ex.Post([&t, &done] {
      t();
      done.count_down();
    });
  }
  done.wait();
}

std::string Pad(int64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04" PRId64, index);
  return buf;
}

std::string Fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", v);
  return buf;
}

int64_t FirstTime(std::initializer_list<int64_t> times) {
  for (int64_t t : times) {
    if (t > 0) return t;
  }
  return 0;
}

NodeSpec File(std::string key, std::string name, int64_t mtime, std::string parent = "") {
  NodeSpec s;
  s.node.key = std::move(key);
  s.node.name = std::move(name);
  s.node.kind = Kind::kFile;
  s.node.content = Content::kMedia;
  s.node.mtime = mtime;
  s.parent_key = std::move(parent);
  return s;
}

}  // namespace

Result<MediaTree> MediaSource::Fetch(const index::MediaRecord& info, int64_t now, uint64_t* probes) {
  const std::string& id = info.id;
  const bool has_source = info.status != "UploadFail" && info.status != "Uploading";
  const bool playable = info.status == "Normal";
  // Snapshots outlive media URLs: an hour at least (ListSnapshots' minimum).
  const int64_t snapshot_timeout = std::max<int64_t>(options_.auth_timeout, 3600);

  Result<vod::Mezzanine> mezz = Error(ErrorCode::kNotFound, "no source");
  Result<vod::PlayInfoResult> play = Error(ErrorCode::kNotFound, "not playable");
  Result<vod::SnapshotPage> snaps[3] = {Error(ErrorCode::kNotFound, ""), Error(ErrorCode::kNotFound, ""),
                                        Error(ErrorCode::kNotFound, "")};
  const char* kSnapTypes[3] = {"NormalSnapshot", "SpriteSnapshot", "CoverSnapshot"};
  std::vector<std::function<void()>> tasks;
  if (has_source) {
    tasks.push_back([&] {
      vod::MezzanineRequest r;
      r.video_id = id;
      r.output_type = options_.output_type;
      r.auth_timeout = options_.auth_timeout;
      mezz = api_.GetMezzanineInfo(r);
    });
  }
  if (playable) {
    tasks.push_back([&] {
      vod::PlayInfoRequest r;
      r.video_id = id;
      r.output_type = options_.output_type;
      r.auth_timeout = options_.auth_timeout;
      if (options_.all_streams) r.result_type = "Multiple";
      play = api_.GetPlayInfo(r);
    });
  }
  if (has_source) {
    // The cover comes with GetPlayInfo when the medium plays.
    for (int k = 0; k < (playable ? 2 : 3); ++k) {
      tasks.push_back([&, k] {
        vod::SnapshotRequest r;
        r.video_id = id;
        r.snapshot_type = kSnapTypes[k];
        r.auth_timeout = snapshot_timeout;
        r.page_size = 100;
        snaps[k] = api_.ListSnapshots(r);
      });
    }
  }
  RunAll(executor_, tasks);
  // Every part of it unknown to the API: the medium was deleted meanwhile.
  if (has_source && !mezz.ok() && IsNotFound(mezz.error()) && (!playable || (!play.ok() && IsNotFound(play.error())))) {
    bool none = true;
    for (auto& s : snaps) none = none && !s.ok() && IsNotFound(s.error());
    if (none) return Error(ErrorCode::kNotFound, "medium " + id + " is no longer in the library");
  }
  // Anything else that failed fails the listing (an incomplete directory
  // would look like lost files).
  if (!mezz.ok() && !IsNotFound(mezz.error()) && has_source) return mezz.error();
  if (!play.ok() && !IsNotFound(play.error()) && play.code() != ErrorCode::kFailedPrecondition && playable) {
    return play.error();
  }
  for (auto& s : snaps) {
    if (!s.ok() && !IsNotFound(s.error()) && has_source) return s.error();
  }
  auto all_pages = [&](const char* type, Result<vod::SnapshotPage>& first) -> Status {
    if (!first.ok()) return Status::Ok();
    for (int page = 2; static_cast<int64_t>(first->snapshots.size()) < first->total; ++page) {
      vod::SnapshotRequest r;
      r.video_id = id;
      r.snapshot_type = type;
      r.auth_timeout = snapshot_timeout;
      r.page_size = 100;
      r.page_no = page;
      VODFS_ASSIGN_OR_RETURN(vod::SnapshotPage more, api_.ListSnapshots(r));
      if (more.snapshots.empty()) break;
      for (auto& s : more.snapshots) first->snapshots.push_back(std::move(s));
    }
    return Status::Ok();
  };
  VODFS_RETURN_IF_ERROR(all_pages("NormalSnapshot", snaps[0]));
  VODFS_RETURN_IF_ERROR(all_pages("SpriteSnapshot", snaps[1]));
  Result<vod::SnapshotPage> origins = Error(ErrorCode::kNotFound, "");
  if (snaps[1].ok() && !snaps[1]->snapshots.empty()) {
    vod::SnapshotRequest r;
    r.video_id = id;
    r.snapshot_type = "SpriteOriginSnapshot";
    r.auth_timeout = snapshot_timeout;
    r.page_size = 100;
    origins = api_.ListSnapshots(r);
    if (!origins.ok() && !IsNotFound(origins.error())) return origins.error();
    VODFS_RETURN_IF_ERROR(all_pages("SpriteOriginSnapshot", origins));
  }

  const int64_t video_time = FirstTime({info.modification_time, info.creation_time});
  std::vector<NodeSpec> specs;
  InfoParts parts;

  if (mezz.ok() && !mezz->file_url.empty()) {
    const std::string ext = ExtensionOf(mezz->file_name, ExtensionOf(mezz->file_url, "bin"));
    NodeSpec c = File("source", FileName("source", ext), FirstTime({mezz->creation_time, info.creation_time}));
    c.node.ref.role = Role::kSource;
    c.node.ref.id = id;
    c.node.size = static_cast<uint64_t>(mezz->size > 0 ? mezz->size : info.size);
    c.node.size_known = c.node.size > 0;
    c.node.xattrs = {{"vod.video_id", id}, {"vod.role", "source"}, {"vod.file_name", mezz->file_name},
                     {"vod.duration", Fmt(mezz->duration)}};
    if (mezz->width) c.node.xattrs.emplace_back("vod.width", std::to_string(mezz->width));
    if (mezz->height) c.node.xattrs.emplace_back("vod.height", std::to_string(mezz->height));
    if (!mezz->bitrate.empty()) c.node.xattrs.emplace_back("vod.bitrate", mezz->bitrate);
    if (!mezz->fps.empty()) c.node.xattrs.emplace_back("vod.fps", mezz->fps);
    if (!mezz->storage_class.empty()) c.node.xattrs.emplace_back("vod.storage_class", mezz->storage_class);
    broker_.Seed(c.node.ref, mezz->file_url);
    parts.source = std::make_pair(c.node.name, *mezz);
    specs.push_back(std::move(c));
  }

  // Streams: Normal ones keep the plain names; older or hidden ones get the
  // job id. DASH manifests are left out (their segments are not objects the
  // API hands out).
  std::string cover_url;
  if (play.ok()) {
    cover_url = play->base.cover_url;
    std::vector<const vod::PlayInfo*> shown;
    std::vector<NameRequest> names;
    for (const auto& s : play->streams) {
      if (s.format == "mpd") continue;
      if (s.status != "Normal" && !s.status.empty() && !options_.all_streams) continue;
      shown.push_back(&s);
      std::string name = s.format == "m3u8" ? FileName(s.definition + ".hls", "")
                                            : FileName(s.definition.empty() ? "stream" : s.definition, s.format);
      std::string order = (s.status == "Normal" || s.status.empty() ? "0" : "1") +
                          std::to_string(INT64_MAX - s.creation_time) + s.job_id;
      names.push_back({name, order, s.job_id.substr(0, 8)});
    }
    std::vector<std::string> unique = UniqueNames(names);
    for (size_t i = 0; i < shown.size(); ++i) {
      const vod::PlayInfo& s = *shown[i];
      NodeSpec c = File("", unique[i], FirstTime({s.modification_time, s.creation_time, video_time}));
      c.node.ref.id = id;
      c.node.ref.job_id = s.job_id;
      c.node.ref.definition = s.definition;
      c.node.ref.format = s.format;
      c.node.xattrs = {{"vod.video_id", id},         {"vod.definition", s.definition},
                       {"vod.format", s.format},     {"vod.stream_type", s.stream_type},
                       {"vod.bitrate", Fmt(s.bitrate)}, {"vod.duration", Fmt(s.duration)},
                       {"vod.job_id", s.job_id},     {"vod.status", s.status}};
      if (s.width) c.node.xattrs.emplace_back("vod.width", std::to_string(s.width));
      if (s.height) c.node.xattrs.emplace_back("vod.height", std::to_string(s.height));
      if (!s.fps.empty()) c.node.xattrs.emplace_back("vod.fps", s.fps);
      if (!s.codec_name.empty()) c.node.xattrs.emplace_back("vod.codec", s.codec_name);
      if (s.encrypt || !s.encrypt_type.empty()) {
        c.node.xattrs.emplace_back("vod.encrypt_type", s.encrypt_type.empty() ? "encrypted" : s.encrypt_type);
      }
      if (s.format == "m3u8") {
        c.node.key = "hls/" + s.job_id;
        c.node.kind = Kind::kDir;
        c.node.dir_type = DirType::kHls;
        c.node.content = Content::kNone;
        c.node.filled = false;
        c.node.ref.role = Role::kHlsPlaylist;
      } else {
        c.node.key = "stream/" + s.job_id;
        c.node.ref.role = Role::kStream;
        c.node.size = static_cast<uint64_t>(s.size);
        c.node.size_known = s.size > 0;
      }
      broker_.Seed(c.node.ref, s.play_url);
      parts.streams.emplace_back(c.node.name, s);
      specs.push_back(std::move(c));
    }
  }

  if (cover_url.empty() && snaps[2].ok() && !snaps[2]->snapshots.empty()) cover_url = snaps[2]->snapshots[0].url;
  if (!cover_url.empty()) {
    NodeSpec c = File("cover", FileName("cover", ExtensionOf(cover_url, "jpg")), video_time);
    c.node.ref.role = Role::kCover;
    c.node.ref.id = id;
    c.node.size_known = false;
    c.node.xattrs = {{"vod.video_id", id}, {"vod.role", "cover"}};
    broker_.Seed(c.node.ref, cover_url);
    specs.push_back(std::move(c));
  }

  auto snapshot_dir = [&](const std::string& name, const std::string& key, const std::string& parent, DirType type,
                          Role role, const vod::SnapshotPage& page) {
    NodeSpec d;
    d.node.key = key;
    d.node.name = name;
    d.node.kind = Kind::kDir;
    d.node.dir_type = type;
    d.node.mtime = FirstTime({page.creation_time, video_time});
    d.parent_key = parent;
    specs.push_back(d);
    for (const auto& s : page.snapshots) {
      if (s.index <= 0) continue;
      NodeSpec f = File(key + "/" + std::to_string(s.index), FileName(Pad(s.index), ExtensionOf(s.url, "jpg")),
                        d.node.mtime, key);
      f.node.ref.role = role;
      f.node.ref.id = id;
      f.node.ref.index = s.index;
      f.node.size_known = false;
      f.node.xattrs = {{"vod.video_id", id}, {"vod.role", resolve::RoleName(role)},
                       {"vod.index", std::to_string(s.index)}, {"vod.job_id", page.job_id}};
      broker_.Seed(f.node.ref, s.url);
      specs.push_back(std::move(f));
    }
  };
  if (snaps[0].ok() && !snaps[0]->snapshots.empty()) {
    snapshot_dir("snapshots", "snapshots", "", DirType::kSnapshots, Role::kSnapshot, *snaps[0]);
    parts.snapshots = snaps[0]->snapshots.size();
  }
  if (snaps[1].ok() && !snaps[1]->snapshots.empty()) {
    snapshot_dir("sprites", "sprites", "", DirType::kSprites, Role::kSprite, *snaps[1]);
    if (origins.ok() && !origins->snapshots.empty()) {
      snapshot_dir("originals", "sprites/originals", "sprites", DirType::kSpriteOrigins, Role::kSpriteOrigin, *origins);
    }
    parts.sprites = snaps[1]->snapshots.size();
  }

  NodeSpec infofile;
  infofile.node.key = "info.json";
  infofile.node.name = "info.json";
  infofile.node.content = Content::kGenerated;
  infofile.node.text = RenderInfoJson(info, parts);
  infofile.node.size = infofile.node.text.size();
  infofile.node.mtime = video_time;
  specs.push_back(std::move(infofile));

  VODFS_RETURN_IF_ERROR(ProbeSizes(&specs, probes));
  return MediaTree::Build(id, info.modification_time, now, std::move(specs));
}

Result<std::vector<NodeSpec>> MediaSource::FetchHls(const index::MediaRecord& m, const TreeNode& dir,
                                                    uint64_t* probes) {
  const resolve::MediaRef playlist = dir.ref;
  VODFS_ASSIGN_OR_RETURN(auto lease, broker_.Get(playlist));
  VODFS_ASSIGN_OR_RETURN(std::string text, origin_.FetchWhole(playlist, 16 << 20));
  resolve::HlsPlaylist pl = resolve::ParseHlsPlaylist(text);
  if (pl.is_master) {
    return Error(ErrorCode::kUnimplemented, "the HLS stream " + dir.ref.job_id + " of " + m.id + " is a master playlist");
  }
  std::vector<NameRequest> names;
  for (size_t i = 0; i < pl.segments.size(); ++i) {
    std::string uri = pl.segments[i].uri.substr(0, pl.segments[i].uri.find('?'));
    std::string base = uri.substr(uri.rfind('/') + 1);
    std::string name = base.empty() || base == "index.m3u8" ? "" : SanitizeName(base);
    char fallback[32];
    std::snprintf(fallback, sizeof(fallback), "seg-%05zu.ts", i);
    if (name.empty() || name.size() > kMaxName) name = fallback;
    names.push_back({name, Pad(static_cast<int64_t>(i)), std::to_string(i)});
  }
  std::vector<std::string> local = UniqueNames(names);
  std::vector<NodeSpec> out;
  for (size_t i = 0; i < pl.segments.size(); ++i) {
    auto abs = ResolveUrl(lease.url, pl.segments[i].uri);
    if (!abs) return Error(ErrorCode::kBadResponse, "bad segment URI in the playlist of " + dir.ref.job_id);
    NodeSpec c = File(dir.key + "/" + std::to_string(i), local[i], dir.mtime, dir.key);
    c.node.ref = playlist;
    c.node.ref.role = Role::kHlsSegment;
    c.node.ref.index = static_cast<int64_t>(i);
    c.node.size_known = false;
    c.node.xattrs = {{"vod.video_id", playlist.id},   {"vod.job_id", dir.ref.job_id},
                     {"vod.definition", playlist.definition}, {"vod.role", "segment"},
                     {"vod.index", std::to_string(i)}, {"vod.duration", Fmt(pl.segments[i].duration)}};
    broker_.Seed(c.node.ref, *abs);
    out.push_back(std::move(c));
  }
  NodeSpec index;
  index.node.key = dir.key + "/index.m3u8";
  index.node.name = "index.m3u8";
  index.node.content = Content::kGenerated;
  index.node.text = resolve::RewriteHlsPlaylist(text, local);
  index.node.size = index.node.text.size();
  index.node.mtime = dir.mtime;
  index.node.xattrs = dir.xattrs;
  index.parent_key = dir.key;
  out.push_back(std::move(index));
  VODFS_RETURN_IF_ERROR(ProbeSizes(&out, probes));
  return out;
}

Status MediaSource::ProbeSizes(std::vector<NodeSpec>* specs, uint64_t* probes) {
  std::vector<size_t> todo;
  for (size_t i = 0; i < specs->size(); ++i) {
    const TreeNode& n = (*specs)[i].node;
    if (n.content == Content::kMedia && !n.size_known) todo.push_back(i);
  }
  if (todo.empty()) return Status::Ok();
  std::vector<Result<ObjectVersion>> results(todo.size(), Error(ErrorCode::kInternal, "not run"));
  const size_t parallel = std::max<size_t>(1, options_.probe_parallelism);
  for (size_t start = 0; start < todo.size(); start += parallel) {
    std::vector<std::function<void()>> tasks;
    for (size_t i = start; i < std::min(todo.size(), start + parallel); ++i) {
      tasks.push_back([this, i, &todo, &results, specs] { results[i] = origin_.Probe((*specs)[todo[i]].node.ref); });
    }
    RunAll(executor_, tasks);
  }
  if (probes) *probes += todo.size();
  std::set<std::string> missing;
  for (size_t i = 0; i < todo.size(); ++i) {
    TreeNode& n = (*specs)[todo[i]].node;
    if (!results[i].ok()) {
      if (results[i].code() == ErrorCode::kStale) {  // 404: listed but not there
        VODFS_LOG(kWarn) << "Leaving out " << n.name << ": the origin has no such object";
        missing.insert(n.key);
        continue;
      }
      return results[i].error();
    }
    n.size = results[i]->size;
    n.size_known = true;
  }
  if (!missing.empty()) {
    std::erase_if(*specs, [&](const NodeSpec& s) { return missing.count(s.node.key) > 0; });
  }
  return Status::Ok();
}

}  // namespace vodfs::ns
