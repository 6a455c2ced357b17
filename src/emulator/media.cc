// The media origins of the emulator: an OSS bucket and a CDN domain.
#include <algorithm>
#include <cctype>

#include "emulator/emulator.h"
#include "vodfs/util/log.h"
#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"
#include "vodfs/util/url.h"

namespace vodfs::emu {

namespace {

std::string ContentType(const std::string& key) {
  auto ends = [&key](const char* s) { return str::EndsWith(str::ToLower(key), s); };
  if (ends(".mp4")) return "video/mp4";
  if (ends(".flv")) return "video/x-flv";
  if (ends(".m3u8")) return "application/vnd.apple.mpegurl";
  if (ends(".ts")) return "video/mp2t";
  if (ends(".mp3")) return "audio/mpeg";
  if (ends(".jpg") || ends(".jpeg")) return "image/jpeg";
  if (ends(".png")) return "image/png";
  if (ends(".gif")) return "image/gif";
  if (ends(".webp")) return "image/webp";
  if (ends(".vtt")) return "text/vtt";
  return "application/octet-stream";
}

// One byte range of an object, inclusive.
struct Range {
  uint64_t first = 0, last = 0;
};

// OSS semantics: a single valid range -> that range; several -> the first;
// a syntactically bad or unsatisfiable range -> nullopt (whole object, 200).
std::optional<Range> ParseRange(const std::string& header, uint64_t size) {
  std::string h(str::Trim(header));
  if (!str::StartsWith(h, "bytes=")) return std::nullopt;
  std::string spec = str::Split(h.substr(6), ',')[0];
  spec = std::string(str::Trim(spec));
  size_t dash = spec.find('-');
  if (dash == std::string::npos || size == 0) return std::nullopt;
  std::string a = spec.substr(0, dash), b = spec.substr(dash + 1);
  if (a.empty()) {
    auto n = str::ParseUint64(b);
    if (!n || *n == 0) return std::nullopt;
    uint64_t len = std::min(*n, size);
    return Range{size - len, size - 1};
  }
  auto first = str::ParseUint64(a);
  if (!first || *first >= size) return std::nullopt;
  if (b.empty()) return Range{*first, size - 1};
  auto last = str::ParseUint64(b);
  if (!last || *last < *first) return std::nullopt;
  // OSS (default behaviour): an end beyond the object makes the range invalid.
  if (*last >= size) return std::nullopt;
  return Range{*first, *last};
}

bool RefererAllowed(const std::optional<std::string>& referer, const std::vector<std::string>& allow,
                    bool allow_empty) {
  if (allow.empty()) return true;
  if (!referer || referer->empty()) return allow_empty;
  auto url = Url::Parse(*referer);
  std::string host = url ? url->host : str::ToLower(*referer);
  for (const auto& d : allow) {
    std::string dom = str::ToLower(d);
    if (host == dom || str::EndsWith(host, "." + dom)) return true;
  }
  return false;
}

}  // namespace

void Emulator::HandleMedia(const std::string& origin, const HttpRequest& req, ResponseWriter& w) {
  std::string request_id = str::RandomHex(24);
  for (char& c : request_id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::vector<std::pair<std::string, std::string>> base_headers = {{"Server", origin == "oss" ? "AliyunOSS" : "Tengine"}};
  if (origin == "oss") base_headers.emplace_back("x-oss-request-id", request_id);

  auto oss_error = [&](int status, const std::string& code, const std::string& message) {
    std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>" + code +
                       "</Code>\n  <Message>" + message + "</Message>\n  <RequestId>" + request_id +
                       "</RequestId>\n  <HostId>" + options_.oss_bucket + ".oss-" + options_.region +
                       ".aliyuncs.com</HostId>\n</Error>\n";
    auto h = base_headers;
    w.Send(status, "application/xml", req.method == "HEAD" ? "" : body, h);
  };
  auto cdn_error = [&](int status) {
    std::string body = "<html>\r\n<head><title>" + std::to_string(status) + "</title></head>\r\n<body>\r\n<center><h1>" +
                       std::to_string(status) + "</h1></center>\r\n<hr><center>Tengine</center>\r\n</body>\r\n</html>\r\n";
    w.Send(status, "text/html", body, base_headers);
  };
  auto forbidden = [&](const std::string& cause, const std::string& oss_code, const std::string& msg) {
    counters_.MediaRequest(origin, 403, 0);
    counters_.MediaForbidden(cause);
    if (options_.log_requests) VODFS_LOG(kInfo) << origin << " " << req.method << " 403 " << cause;
    if (origin == "oss") return oss_error(403, oss_code, msg);
    return cdn_error(403);
  };

  if (req.method != "GET" && req.method != "HEAD") {
    counters_.MediaRequest(origin, 405, 0);
    return origin == "oss" ? oss_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
                           : cdn_error(405);
  }

  // ---- Authorisation and object key ----
  std::string key;
  const int64_t now = Now();
  if (origin == "oss") {
    const std::string prefix = "/" + options_.oss_bucket + "/";
    if (!str::StartsWith(req.path, prefix)) {
      counters_.MediaRequest(origin, 404, 0);
      return oss_error(404, "NoSuchBucket", "The specified bucket does not exist.");
    }
    auto decoded = str::PercentDecode(req.path.substr(prefix.size()));
    if (!decoded) {
      counters_.MediaRequest(origin, 400, 0);
      return oss_error(400, "InvalidObjectName", "The specified object is not valid.");
    }
    key = *decoded;
    if (options_.oss_private) {
      std::vector<auth::OssCredential> creds = {
          {options_.oss_access_key_id, options_.oss_access_key_secret, ""}};
      auto verdict = auth::VerifyOssRequest(req.method, "/" + options_.oss_bucket + "/" + key,
                                            req.query, creds, now);
      switch (verdict) {
        case auth::AuthVerdict::kOk: break;
        case auth::AuthVerdict::kExpired:
          return forbidden("expired", "AccessDenied", "Request has expired.");
        case auth::AuthVerdict::kMissing:
          return forbidden("missing", "AccessDenied",
                           "You have no right to access this object because of bucket acl.");
        case auth::AuthVerdict::kMalformed:
        case auth::AuthVerdict::kBadSignature:
          return forbidden("bad_signature", "SignatureDoesNotMatch",
                           "The request signature we calculated does not match the signature you provided.");
      }
    }
  } else {
    if (!RefererAllowed(req.Header("Referer"), options_.referer_allow, options_.allow_empty_referer)) {
      return forbidden("referer", "", "");
    }
    std::string object_path;
    auth::ParseOptions popts;
    auto verdict = auth::VerifyCdnRequest(options_.cdn_auth, req.path, req.query, options_.cdn_keys,
                                          options_.cdn_auth_delta, now, &object_path, popts);
    switch (verdict) {
      case auth::AuthVerdict::kOk: break;
      case auth::AuthVerdict::kExpired: return forbidden("expired", "", "");
      case auth::AuthVerdict::kMissing: return forbidden("missing", "", "");
      case auth::AuthVerdict::kMalformed:
      case auth::AuthVerdict::kBadSignature: return forbidden("bad_signature", "", "");
    }
    auto decoded = str::PercentDecode(object_path.size() > 1 ? object_path.substr(1) : "");
    if (!decoded) {
      counters_.MediaRequest(origin, 400, 0);
      return cdn_error(400);
    }
    key = *decoded;
  }

  std::optional<Blob> blob = FindBlob(key);
  if (!blob) {
    counters_.MediaRequest(origin, 404, 0);
    return origin == "oss" ? oss_error(404, "NoSuchKey", "The specified key does not exist.")
                           : cdn_error(404);
  }

  // OSS stores the CRC-64 of every object and sends it with each answer,
  // ranged or not; a CDN passes it on (also for the playlists it rewrites
  // below, whose bytes then no longer match it).
  const std::optional<uint64_t> crc64 = crcs_.Of(key, *blob);

  // HLS over a signing CDN: every segment line gets its own auth
  // (auth_m3u8 on). Over OSS the playlist is served as stored.
  if (origin == "cdn" && options_.cdn_auth != auth::CdnAuthType::kNone &&
      str::EndsWith(key, ".m3u8")) {
    std::string text;
    if (Status s = blob->Read(0, blob->size, &text); !s.ok()) {
      counters_.MediaRequest(origin, 500, 0);
      return cdn_error(500);
    }
    const std::string dir = key.substr(0, key.rfind('/') + 1);
    const int64_t lifetime = url_lifetime_override_ > 0 ? url_lifetime_override_.load()
                                                          : options_.default_auth_timeout;
    std::string out;
    for (const auto& line : str::Split(text, '\n')) {
      std::string_view l = str::Trim(line);
      if (l.empty() || l.front() == '#' || l.find("://") != std::string_view::npos) {
        out += line + "\n";
        continue;
      }
      std::string seg_key = dir + std::string(l);
      std::string url = MediaUrl(seg_key, true, lifetime);
      auto u = Url::Parse(url);
      // Keep the line relative when the signature fits in a query (type A,
      // C form 2); types B and C put it in the path, so use an absolute path.
      if (options_.cdn_auth == auth::CdnAuthType::kA ||
          (options_.cdn_auth == auth::CdnAuthType::kC && options_.cdn_type_c_query)) {
        out += std::string(l) + "?" + u->query + "\n";
      } else {
        out += u->path + (u->query.empty() ? "" : "?" + u->query) + "\n";
      }
    }
    if (!out.empty() && text.back() != '\n') out.pop_back();
    blob->kind = Blob::Kind::kInline;
    blob->data = out;
    blob->size = out.size();
  }

  // ---- Faults ----
  std::vector<FaultRule> faults = faults_.TakeAll("media", key, origin);
  auto fault = [&faults](FaultKind k) -> const FaultRule* {
    for (const auto& f : faults) {
      if (f.kind == k) return &f;
    }
    return nullptr;
  };
  if (const FaultRule* f = fault(FaultKind::kLatency)) w.Sleep(f->ms);
  if (const FaultRule* f = fault(FaultKind::kStatus)) {
    counters_.MediaRequest(origin, f->status, 0);
    return origin == "oss" ? oss_error(f->status, f->code, f->message) : cdn_error(f->status);
  }

  // ---- Range ----
  const uint64_t size = blob->size;
  std::optional<Range> range;
  if (auto rh = req.Header("Range")) range = ParseRange(*rh, size);
  if (fault(FaultKind::kIgnoreRange)) range.reset();
  int status = range ? 206 : 200;
  uint64_t first = range ? range->first : 0;
  uint64_t length = range ? range->last - range->first + 1 : size;
  auto headers = base_headers;
  headers.emplace_back("Content-Type", ContentType(key));
  headers.emplace_back("Accept-Ranges", "bytes");
  headers.emplace_back("ETag", blob->etag);
  headers.emplace_back("Last-Modified", timefmt::FormatHttpDate(blob->mtime));
  if (crc64) headers.emplace_back("x-oss-hash-crc64ecma", std::to_string(*crc64));
  if (range) {
    uint64_t shown_first = first;
    if (const FaultRule* f = fault(FaultKind::kWrongRange)) {
      // Serve other bytes than asked, and say so in Content-Range.
      int64_t shifted = static_cast<int64_t>(first) + f->shift;
      shifted = std::clamp<int64_t>(shifted, 0, static_cast<int64_t>(size - length));
      first = static_cast<uint64_t>(shifted);
      shown_first = first;
    }
    headers.emplace_back("Content-Range", "bytes " + std::to_string(shown_first) + "-" +
                                              std::to_string(shown_first + length - 1) + "/" +
                                              std::to_string(size));
  }
  counters_.MediaRequest(origin, status, 0);
  if (options_.log_requests) {
    VODFS_LOG(kInfo) << origin << " " << req.method << " " << key << " " << status << " "
                     << first << "+" << length;
  }
  if (!w.SendHead(status, headers, static_cast<int64_t>(length))) return;
  if (req.method == "HEAD") return;

  // ---- Body ----
  const FaultRule* reset = fault(FaultKind::kReset);
  const FaultRule* stall = fault(FaultKind::kStall);
  const FaultRule* shortb = fault(FaultKind::kShortBody);
  const FaultRule* rate = fault(FaultKind::kRate);
  const FaultRule* corrupt = fault(FaultKind::kCorrupt);
  uint64_t limit = length;
  if (reset) limit = std::min(limit, reset->bytes);
  if (shortb) limit = std::min(limit, shortb->bytes);
  const uint64_t stall_at = stall ? std::min(stall->bytes, length) : UINT64_MAX;
  constexpr uint64_t kChunk = 64 * 1024;
  uint64_t sent = 0;
  std::string buf;
  auto start = std::chrono::steady_clock::now();
  while (sent < limit) {
    if (sent == stall_at) {
      // A stalled origin: nothing more arrives; the connection then drops.
      w.Sleep(stall->ms);
      w.Reset();
      counters_.MediaBytes(sent);
      return;
    }
    uint64_t n = std::min(kChunk, limit - sent);
    if (stall_at > sent) n = std::min(n, stall_at - sent);
    if (Status s = blob->Read(first + sent, n, &buf); !s.ok()) {
      VODFS_LOG(kError) << "Cannot read " << key << ": " << s.ToString();
      w.Reset();
      return;
    }
    if (corrupt && sent <= corrupt->bytes && corrupt->bytes < sent + n) {
      buf[corrupt->bytes - sent] = static_cast<char>(buf[corrupt->bytes - sent] ^ 0x5a);
    }
    if (!w.Write(buf)) {
      counters_.MediaBytes(sent);
      return;
    }
    sent += n;
    if (rate) {
      double due = static_cast<double>(sent) / static_cast<double>(rate->bytes_per_second);
      double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (due > elapsed && !w.Sleep(static_cast<int64_t>((due - elapsed) * 1000))) return;
    }
  }
  counters_.MediaBytes(sent);
  if (reset && sent < length) w.Reset();
  // Short body: the writer closes the connection because fewer bytes than
  // declared were written.
}

}  // namespace vodfs::emu
