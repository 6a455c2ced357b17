// The loopback control endpoint (faults, counters, time, credentials, the
// library and its changes) and the ECS metadata endpoint.
#include "emulator/emulator.h"
#include "vodfs/auth/crypto.h"
#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"
#include "vodfs/util/url.h"

namespace vodfs::emu {

using nlohmann::json;

namespace {

json MediaToJson(const Media& m) {
  json streams = json::array();
  for (const auto& s : m.streams) {
    streams.push_back({{"definition", s.definition}, {"format", s.format}, {"key", s.key},
                       {"size", s.size}, {"status", s.status}, {"encrypt_type", s.encrypt_type},
                       {"segments", s.segment_keys}, {"job_id", s.job_id}});
  }
  return {{"id", m.id},
          {"type", m.media_type},
          {"title", m.title},
          {"status", m.status},
          {"cate_id", m.cate_id},
          {"creation_time", m.creation_time},
          {"modification_time", m.modification_time},
          {"source_key", m.source_key},
          {"source_size", m.source_size},
          {"source_file_name", m.source_file_name},
          {"streams", streams},
          {"cover_key", m.cover_key},
          {"snapshot_keys", m.snapshot_keys},
          {"sprite_keys", m.sprite_keys},
          {"sprite_origin_keys", m.sprite_origin_keys}};
}

}  // namespace

void Emulator::HandleControl(const HttpRequest& req, ResponseWriter& w) {
  auto reply = [&w](int status, const json& body) {
    w.Send(status, "application/json", body.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
  };
  auto bad = [&reply](const std::string& why) { reply(400, json{{"error", why}}); };
  if (!req.remote_is_loopback) return reply(403, json{{"error", "loopback only"}});
  json body = json::object();
  if (!req.body.empty()) {
    body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return bad("body is not JSON");
  }
  const QueryParams q = ParseQuery(req.query);
  const std::string& m = req.method;
  const std::string& p = req.path;

  if (p == "/health") return reply(200, json{{"ok", true}, {"now", Now()}});
  if (p == "/addresses") return reply(200, Addresses());
  if (p == "/counters" && m == "GET") return reply(200, counters_.ToJson());
  if (p == "/reset" && m == "POST") {
    ResetAll();
    return reply(200, json{{"ok", true}});
  }
  if (p == "/faults") {
    if (m == "GET") return reply(200, faults_.ToJson());
    if (m == "DELETE") {
      faults_.Clear();
      return reply(200, json{{"ok", true}});
    }
    if (m == "POST") {
      json rules = body.is_array() ? body : json::array({body});
      json ids = json::array();
      for (const auto& r : rules) {
        auto rule = ParseFaultRule(r);
        if (!rule.ok()) return bad(rule.error().message);
        ids.push_back(faults_.Add(*rule));
      }
      return reply(200, json{{"ids", ids}});
    }
  }
  if (p == "/url-lifetime" && m == "POST") {
    SetUrlLifetime(body.value("seconds", int64_t{0}));
    return reply(200, json{{"ok", true}});
  }
  if (p == "/time") {
    if (m == "POST") AdvanceClock(body.value("advance", int64_t{0}));
    return reply(200, json{{"now", Now()}, {"offset", clock_offset_.load()}});
  }
  if (p == "/sts" && m == "POST") {
    StsCredential c = MintSts(body.value("duration", int64_t{3600}));
    return reply(200, json{{"AccessKeyId", c.access_key_id},
                           {"AccessKeySecret", c.access_key_secret},
                           {"SecurityToken", c.security_token},
                           {"Expiration", timefmt::FormatIso8601(c.expiration)}});
  }
  if (p == "/imds" && m == "POST") {
    std::lock_guard<std::mutex> lock(imds_mu_);
    imds_duration_ = body.value("duration", imds_duration_.load());
    imds_credential_ = StsCredential();  // forces a new one
    return reply(200, json{{"ok", true}});
  }
  if (p == "/library" && m == "GET") {
    const Catalog::Counts n = catalog_.GetCounts();
    const Library& base = catalog_.base();
    return reply(200, json{{"describe", base.Describe()},
                           {"media", n.videos + n.audio},
                           {"videos", n.videos},
                           {"audio", n.audio},
                           {"images", n.images},
                           {"categories", base.Categories().size()},
                           {"changes",
                            {{"added_media", n.added_media},
                             {"modified_media", n.modified_media},
                             {"deleted_media", n.deleted_media},
                             {"added_images", n.added_images},
                             {"modified_images", n.modified_images},
                             {"deleted_images", n.deleted_images}}}});
  }
  if (p == "/library/changes" && m == "POST") {
    auto changes = ParseLibraryChanges(body);
    if (!changes.ok()) return bad(changes.error().message);
    auto ids = catalog_.Apply(*changes, Now());
    if (!ids.ok()) return bad(ids.error().message);
    return reply(200, json{{"ids", *ids}});
  }
  if (p == "/media") {
    // By id: the live record; by index: the base library's medium N as it
    // is now (404 once deleted).
    std::optional<Media> media;
    {
      Catalog::View v = catalog_.Read();
      if (auto id = QueryGet(q, "id")) media = v.FindMedia(*id);
      if (auto i = QueryGet(q, "index")) {
        auto n = str::ParseUint64(*i);
        if (n && *n < v.base().MediaCount()) media = v.FindMedia(v.base().MediaIdAt(*n));
      }
    }
    if (!media) return reply(404, json{{"error", "no such media"}});
    return reply(200, MediaToJson(*media));
  }
  if (p == "/images") {
    // Every live image, in creation order.
    json arr = json::array();
    {
      Catalog::View v = catalog_.Read();
      Selection all = v.Select(Collection::kImage);
      for (auto it = all.Begin(false); !it.Done(); it.Next()) {
        Image img = v.ImageOf(it.Entry());
        arr.push_back({{"id", img.id}, {"title", img.title}, {"key", img.key}, {"size", img.size}});
      }
    }
    return reply(200, arr);
  }
  if (p == "/asset") {
    auto key = QueryGet(q, "key");
    if (!key) return bad("key= is required");
    auto blob = FindBlob(*key);
    if (!blob) return reply(404, json{{"error", "no such key"}});
    json out = {{"key", *key}, {"size", blob->size}, {"etag", blob->etag}, {"mtime", blob->mtime}};
    if (QueryGet(q, "sha256")) {
      auth::Sha256Hasher h;
      std::string buf;
      for (uint64_t off = 0; off < blob->size; off += 4 << 20) {
        if (!blob->Read(off, 4 << 20, &buf).ok()) return reply(500, json{{"error", "read failed"}});
        h.Update(buf);
      }
      out["sha256"] = h.FinalHex();
    }
    return reply(200, out);
  }
  if (p == "/replace" && m == "POST") {
    std::string key = body.value("key", "");
    if (key.empty()) {
      auto found = catalog_.Read().FindMedia(body.value("video_id", ""));
      if (!found) return bad("key or video_id is required");
      const Media& media = *found;
      std::string asset = body.value("asset", "source");
      if (asset == "source") key = media.source_key;
      if (asset == "cover") key = media.cover_key;
      for (const auto& s : media.streams) {
        if (asset == s.definition + "." + s.format) key = s.key;
      }
      if (key.empty()) return bad("no asset '" + asset + "' on that media");
    }
    Status s = ReplaceAsset(key, body.value("seed", uint64_t{12345}), body.value("size", uint64_t{1 << 20}));
    if (!s.ok()) return reply(404, json{{"error", s.error().message}});
    auto blob = FindBlob(key);
    return reply(200, json{{"key", key}, {"size", blob->size}, {"etag", blob->etag}});
  }
  reply(404, json{{"error", "unknown control path " + p}});
}

void Emulator::HandleImds(const HttpRequest& req, ResponseWriter& w) {
  const std::string prefix = "/latest/meta-data/ram/security-credentials/";
  if (req.path == "/latest/api/token") {
    if (req.method != "PUT") return void(w.Send(405, "text/plain", "method not allowed"));
    auto ttl = str::ParseInt64(req.Header("X-aliyun-ecs-metadata-token-ttl-seconds").value_or(""));
    if (!ttl || *ttl < 1 || *ttl > 21600) return void(w.Send(400, "text/plain", "bad ttl"));
    std::string token = str::RandomHex(40);
    std::lock_guard<std::mutex> lock(imds_mu_);
    imds_tokens_[token] = Now() + *ttl;
    return void(w.Send(200, "text/plain", token));
  }
  {
    auto token = req.Header("X-aliyun-ecs-metadata-token");
    std::lock_guard<std::mutex> lock(imds_mu_);
    bool valid = false;
    if (token) {
      auto it = imds_tokens_.find(*token);
      valid = it != imds_tokens_.end() && it->second >= Now();
      if (!valid) return void(w.Send(401, "text/plain", "invalid token"));
    }
    if (!valid && options_.imds_require_token) {
      return void(w.Send(403, "text/plain", "IMDSv1 is disabled"));
    }
  }
  if (req.path == prefix) return void(w.Send(200, "text/plain", options_.imds_role));
  if (req.path == prefix + options_.imds_role) {
    StsCredential c;
    {
      std::lock_guard<std::mutex> lock(imds_mu_);
      c = imds_credential_;
    }
    // Like the real service, hand out a fresh credential well before expiry.
    const int64_t duration = imds_duration_.load();
    if (c.access_key_id.empty() || c.expiration - Now() < duration / 3) {
      c = MintSts(duration);
      std::lock_guard<std::mutex> lock(imds_mu_);
      imds_credential_ = c;
    }
    json j = {{"Code", "Success"},
              {"AccessKeyId", c.access_key_id},
              {"AccessKeySecret", c.access_key_secret},
              {"SecurityToken", c.security_token},
              {"Expiration", timefmt::FormatIso8601(c.expiration)},
              {"LastUpdated", timefmt::FormatIso8601(Now())}};
    return void(w.Send(200, "text/plain", j.dump()));
  }
  w.Send(404, "text/plain", "not found");
}

}  // namespace vodfs::emu
