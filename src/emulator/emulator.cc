#include "emulator/emulator.h"

#include "vodfs/util/log.h"
#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"

namespace vodfs::emu {

using nlohmann::json;

Emulator::Emulator(EmulatorOptions options, std::unique_ptr<Library> library)
    : options_(std::move(options)), catalog_(std::move(library)) {
  imds_duration_ = options_.imds_duration;
  for (const auto& [id, secret] : options_.accounts) log::RegisterSecret(secret);
  log::RegisterSecret(options_.oss_access_key_secret);
  for (const auto& k : options_.cdn_keys) log::RegisterSecret(k);
}

Emulator::~Emulator() { Stop(); }

int64_t Emulator::Now() const { return SystemClock::Get().UnixNow() + clock_offset_.load(); }

Status Emulator::Start() {
  api_ = std::make_unique<HttpServer>([this](const HttpRequest& r, ResponseWriter& w) { HandleApi(r, w); }, "api");
  oss_ = std::make_unique<HttpServer>(
      [this](const HttpRequest& r, ResponseWriter& w) { HandleMedia("oss", r, w); }, "oss");
  cdn_ = std::make_unique<HttpServer>(
      [this](const HttpRequest& r, ResponseWriter& w) { HandleMedia("cdn", r, w); }, "cdn");
  control_ = std::make_unique<HttpServer>(
      [this](const HttpRequest& r, ResponseWriter& w) { HandleControl(r, w); }, "control");
  for (auto* s : {api_.get(), oss_.get(), cdn_.get()}) s->SetDateSource([this] { return Now(); });
  // Every server listens before any serves: a request answered at once
  // reads the other servers' addresses (media URLs name the CDN and OSS).
  VODFS_RETURN_IF_ERROR(api_->Listen(options_.bind, options_.api_port));
  VODFS_RETURN_IF_ERROR(oss_->Listen(options_.bind, options_.oss_port));
  VODFS_RETURN_IF_ERROR(cdn_->Listen(options_.bind, options_.cdn_port));
  // The control endpoint never leaves loopback.
  VODFS_RETURN_IF_ERROR(control_->Listen("127.0.0.1", options_.control_port));
  if (options_.imds_port >= 0) {
    imds_ = std::make_unique<HttpServer>(
        [this](const HttpRequest& r, ResponseWriter& w) { HandleImds(r, w); }, "imds");
    VODFS_RETURN_IF_ERROR(imds_->Listen("127.0.0.1", options_.imds_port));
  }
  for (auto* s : {&api_, &oss_, &cdn_, &control_, &imds_}) {
    if (*s) (*s)->Serve();
  }
  return Status::Ok();
}

void Emulator::Stop() {
  for (auto* s : {&api_, &oss_, &cdn_, &control_, &imds_}) {
    if (*s) (*s)->Stop();
  }
}

std::string Emulator::api_url() const { return api_ ? api_->BaseUrl() : ""; }
std::string Emulator::oss_url() const { return oss_ ? oss_->BaseUrl() : ""; }
std::string Emulator::cdn_url() const { return cdn_ ? cdn_->BaseUrl() : ""; }
std::string Emulator::control_url() const { return control_ ? control_->BaseUrl() : ""; }
std::string Emulator::imds_url() const { return imds_ ? imds_->BaseUrl() : ""; }

json Emulator::Addresses() const {
  json j = {{"api", api_url()}, {"oss", oss_url()}, {"cdn", cdn_url()}, {"control", control_url()}};
  if (imds_) j["imds"] = imds_url();
  return j;
}

std::string Emulator::StorageLocation() const {
  return options_.oss_bucket + ".oss-" + options_.region + ".aliyuncs.com";
}

std::string Emulator::MediaUrl(const std::string& key, bool cdn, int64_t auth_timeout,
                               const std::string& rand, const std::string& uid) const {
  const std::string path = "/" + str::PercentEncodePath(key);
  const bool external = !options_.external_origin.empty();
  const int64_t now = Now();
  const int64_t lifetime = url_lifetime_override_ > 0 ? url_lifetime_override_.load() : auth_timeout;
  if (cdn && options_.cdn_enabled && !external) {
    const std::string base = cdn_url();
    // The signing timestamp is chosen so that the URL expires exactly
    // `lifetime` seconds from now under the domain's validity window.
    const int64_t ts = now + lifetime - options_.cdn_auth_delta;
    const std::string& k = options_.cdn_keys.front();
    switch (options_.cdn_auth) {
      case auth::CdnAuthType::kNone:
        return base + path;
      case auth::CdnAuthType::kA:
        return base + path + "?auth_key=" + auth::CdnSignTypeA(path, ts, rand, uid, k);
      case auth::CdnAuthType::kB:
        return base + auth::CdnSignTypeB(path, ts, k);
      case auth::CdnAuthType::kC:
        if (options_.cdn_type_c_query) {
          auto c2 = auth::CdnSignTypeC2(path, ts, k);
          return base + path + "?KEY1=" + c2.hash + "&KEY2=" + c2.timestamp_hex;
        }
        return base + auth::CdnSignTypeC(path, ts, k);
    }
  }
  // An external origin (a plain web server with the library's files) gets
  // OSS-signed URLs too: it ignores the query, vodfs handles them as usual.
  std::string url = external ? options_.external_origin + path : oss_url() + "/" + options_.oss_bucket + path;
  if (!options_.oss_private) return url;
  auth::OssPresignInput in;
  in.bucket = options_.oss_bucket;
  in.object = key;
  in.expires = now + lifetime;
  in.access_key_id = options_.oss_access_key_id;
  in.access_key_secret = options_.oss_access_key_secret;
  return url + "?" + auth::OssPresignQuery(in);
}

std::optional<Blob> Emulator::FindBlob(const std::string& key) const {
  // Only an object of the live library is served, replaced or not.
  std::optional<Blob> blob = catalog_.Read().FindBlob(key);
  if (!blob) return std::nullopt;
  std::lock_guard<std::mutex> lock(overrides_mu_);
  auto it = overrides_.find(key);
  if (it != overrides_.end()) return it->second;
  return blob;
}

uint64_t Emulator::CurrentSize(const std::string& key, uint64_t library_size) const {
  if (key.empty()) return library_size;
  std::lock_guard<std::mutex> lock(overrides_mu_);
  auto it = overrides_.find(key);
  return it == overrides_.end() ? library_size : it->second.size;
}

Status Emulator::ReplaceAsset(const std::string& key, uint64_t seed, uint64_t size) {
  auto old = FindBlob(key);
  if (!old) return Status(ErrorCode::kNotFound, "no object with key " + key);
  Blob b;
  b.kind = Blob::Kind::kSynthetic;
  b.seed = seed;
  b.size = size;
  b.mtime = std::max(old->mtime + 1, Now());
  b.etag = MakeEtag(seed ^ 0xfeedULL, size ^ static_cast<uint64_t>(b.mtime));
  std::lock_guard<std::mutex> lock(overrides_mu_);
  overrides_[key] = b;
  return Status::Ok();
}

StsCredential Emulator::MintSts(int64_t duration_seconds) {
  StsCredential c;
  c.access_key_id = "STS." + str::RandomHex(24);
  c.access_key_secret = str::RandomHex(40);
  // Real tokens are long base64 strings with '+', '/' and '='.
  c.security_token = "CAIS" + str::Base64Encode(str::RandomHex(60)) + "/+=";
  c.expiration = Now() + duration_seconds;
  log::RegisterSecret(c.access_key_secret);
  log::RegisterSecret(c.security_token);
  std::lock_guard<std::mutex> lock(accounts_mu_);
  sts_[c.access_key_id] = c;
  return c;
}

void Emulator::ResetAll() {
  faults_.Clear();
  counters_.Reset();
  url_lifetime_override_ = 0;
  clock_offset_ = 0;
  catalog_.Reset();
  std::lock_guard<std::mutex> lock(overrides_mu_);
  overrides_.clear();
}

}  // namespace vodfs::emu
