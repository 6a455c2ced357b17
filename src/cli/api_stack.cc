#include "cli/api_stack.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "vodfs/util/log.h"
#include "vodfs/util/log_format.h"
#include "vodfs/util/strings.h"
#include "vodfs/version.h"

namespace vodfs::cli {

std::string MaskKeyId(const std::string& id) {
  if (id.size() <= 8) return "****";
  return id.substr(0, 4) + "****" + id.substr(id.size() - 3);
}

std::string CacheDir(const Options& o) {
  if (!o.cache_dir.empty()) return o.cache_dir;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/vodfs";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.cache/vodfs";
}

uint64_t DiskQuota(const Options& o, const std::string& dir) {
  if (o.disk_cache_size) return o.disk_cache_size;
  std::string probe = dir;
  struct statvfs v {};
  while (!probe.empty() && statvfs(probe.c_str(), &v) != 0) probe = probe.substr(0, probe.rfind('/'));
  if (probe.empty() && statvfs("/", &v) != 0) return 1ULL << 30;
  const uint64_t free_bytes = static_cast<uint64_t>(v.f_bavail) * v.f_frsize;
  return std::clamp<uint64_t>(free_bytes / 10, 256ULL << 20, 20ULL << 30);
}

Status SetUpLogging(const Options& o, bool daemon) {
  log::Level level;
  if (!log::ParseLevel(o.log_level, &level)) {
    return Status(ErrorCode::kInvalidArgument, "bad --log-level " + o.log_level);
  }
  log::SetLevel(level);
  log::Format format;
  if (!log::ParseFormat(o.log_format, &format)) {
    return Status(ErrorCode::kInvalidArgument, "bad --log-format " + o.log_format);
  }
  log::SetFormat(format);
  if (!o.log_file.empty()) {
    // Opened anew on every call: after logrotate moved the file, SIGHUP
    // lands here and later lines go to a new file of the old name.
    FILE* f = std::fopen(o.log_file.c_str(), "a");
    if (!f) return Status(ErrorCode::kInvalidArgument, "Cannot open log file " + o.log_file);
    std::shared_ptr<FILE> file(f, [](FILE* p) { std::fclose(p); });
    log::SetSink([file](log::Level l, std::string_view line) {
      const std::string out = log::FormatLine(l, line, std::chrono::system_clock::now());
      std::fprintf(file.get(), "%s\n", out.c_str());
      std::fflush(file.get());
    });
  } else if (daemon) {
    log::UseSyslog("vodfs");
  }
  return Status::Ok();
}

Result<std::unique_ptr<ApiStack>> BuildApiStack(const Options& o, const std::string& source,
                                                Clock& clock) {
  auto stack = std::make_unique<ApiStack>();
  auth::ChainOptions co;
  co.access_key_id = o.access_key_id;
  co.access_key_secret = o.access_key_secret;
  co.security_token = o.security_token;
  co.credentials_command = o.credentials_command;
  co.profile = o.profile;
  co.imds_endpoint = o.imds_endpoint;
  co.sts_endpoint = o.sts_endpoint;
  co.role_arn = o.role_arn;
  co.role_session_name = o.role_session_name;
  log::RegisterSecret(o.access_key_secret);
  log::RegisterSecret(o.security_token);
  log::RegisterSecret(o.cdn_auth_key);

  std::string region = o.region;
  std::string endpoint = o.endpoint;
  if (!source.empty()) {
    if (str::StartsWith(source, "http://") || str::StartsWith(source, "https://")) {
      if (endpoint.empty()) endpoint = source;
    } else {
      std::string r = str::StartsWith(source, "vod:") ? source.substr(4) : source;
      while (!r.empty() && r.front() == '/') r.erase(0, 1);
      if (!r.empty() && region.empty()) region = r;
    }
  }
  stack->region = auth::ResolveRegion(region, co);
  stack->endpoint = endpoint.empty() ? vod::EndpointForRegion(stack->region) : endpoint;
  while (!stack->endpoint.empty() && stack->endpoint.back() == '/') stack->endpoint.pop_back();

  http::CurlOptions ho;
  ho.ca_file = o.ca_file;
  ho.ca_path = o.ca_path;
  ho.user_agent = o.user_agent;
  stack->http = http::NewCurlHttpClient(ho);
  stack->credentials = auth::MakeDefaultChain(co, *stack->http, clock);

  vod::RpcOptions ro;
  ro.endpoint = stack->endpoint;
  ro.http_method = o.api_method;
  ro.signature = o.signature_version == "v3" ? vod::SignatureVersion::kV3 : vod::SignatureVersion::kV2;
  ro.qps_scale = o.qps_scale;
  stack->rpc = std::make_unique<vod::RpcClient>(*stack->http, *stack->credentials, clock, ro);
  stack->vod = std::make_unique<vod::VodClient>(*stack->rpc);
  return stack;
}

}  // namespace vodfs::cli
