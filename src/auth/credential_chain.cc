#include "vodfs/auth/credential_chain.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "auth/credential_files.h"
#include "vodfs/auth/sts.h"
#include "vodfs/util/log.h"
#include "vodfs/util/mutex.h"
#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"

namespace vodfs::auth {

using nlohmann::json;

Getenv ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
}

// ---------------------------------------------------------------------------
// RefreshingProvider

RefreshingProvider::RefreshingProvider(CredentialFetcher fetch, std::string description,
                                       Clock& clock, int64_t margin_seconds)
    : fetch_(std::move(fetch)),
      description_(std::move(description)),
      clock_(clock),
      margin_(margin_seconds) {}

Result<Credentials> RefreshingProvider::Get() {
  MutexLock lock(&mu_);
  while (true) {
    const int64_t now = clock_.UnixNow();
    if (current_ && !invalid_) {
      const auto& exp = current_->expiration;
      // Renew at `margin_` before expiry, or after three quarters of the
      // lifetime for credentials that live less than four margins.
      const int64_t margin = std::min(margin_, std::max<int64_t>(1, (exp.value_or(0) - fetched_at_) / 4));
      if (!exp || *exp - now > margin) return *current_;
      // Expiring soon but still usable (with a few seconds to spare for the
      // request itself): one caller renews, the others carry on.
      if (*exp - now > 10) {
        if (refreshing_) return *current_;
        refreshing_ = true;
        Credentials still_valid = *current_;
        lock.Unlock();
        Result<Credentials> fresh = fetch_();
        lock.Lock();
        refreshing_ = false;
        cv_.SignalAll();
        if (fresh.ok()) {
          current_ = *fresh;
          fetched_at_ = clock_.UnixNow();
          return *fresh;
        }
        VODFS_LOG(kWarn) << "Cannot refresh credentials from " << description_ << ": "
                         << fresh.error().ToString() << "; using the current ones until they expire";
        return still_valid;
      }
    }
    if (refreshing_) {
      while (refreshing_) cv_.Wait(&mu_);
      if (current_ && !invalid_) continue;
    }
    refreshing_ = true;
    lock.Unlock();
    Result<Credentials> fresh = fetch_();
    lock.Lock();
    refreshing_ = false;
    cv_.SignalAll();
    if (!fresh.ok()) return fresh.error();
    current_ = *fresh;
    fetched_at_ = clock_.UnixNow();
    invalid_ = false;
    return *fresh;
  }
}

void RefreshingProvider::Invalidate() {
  MutexLock lock(&mu_);
  invalid_ = true;
}

// ---------------------------------------------------------------------------
// Helpers

std::string CheckPrivateFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%03o", st.st_mode & 0777);
    return path + " holds secrets but has mode " + mode +
           " (readable by other users); run: chmod 600 " + path;
  }
  return "";
}

namespace {

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error(ErrorCode::kNotFound, "Cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool FileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string JsonString(const json& j, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (j.contains(n) && j[n].is_string()) return j[n].get<std::string>();
  }
  return "";
}

Credentials Register(Credentials c) {
  log::RegisterSecret(c.access_key_secret);
  log::RegisterSecret(c.security_token);
  return c;
}

Result<Credentials> RunCredentialsCommand(const std::string& command, const std::string& source) {
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return Error(ErrorCode::kUnavailable, "Cannot run the credentials command of " + source);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) {
    out.append(buf, n);
    if (out.size() > (1 << 20)) break;
  }
  int status = ::pclose(p);
  if (status != 0) {
    return Error(ErrorCode::kUnavailable,
                 "The credentials command of " + source + " failed (exit status " +
                     std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  }
  return ParseCredentialsJson(out, source);
}

Result<Credentials> FetchJsonCredentials(http::HttpClient& http, const std::string& url,
                                         const std::string& source) {
  http::Request req;
  req.url = url;
  req.timeout = std::chrono::seconds(5);
  auto r = http.Send(req, 1 << 20);
  if (!r.ok()) return Error(ErrorCode::kUnavailable, source + ": " + r.error().message);
  if (r->status != 200) {
    return Error(ErrorCode::kUnavailable, source + " answered HTTP " + std::to_string(r->status));
  }
  return ParseCredentialsJson(r->body, source);
}

// The ECS metadata service: IMDSv2 token first, then v1 unless disabled.
class ImdsFetcher {
 public:
  ImdsFetcher(http::HttpClient& http, std::string base, std::string role, bool v1_allowed)
      : http_(http), base_(std::move(base)), role_(std::move(role)), v1_allowed_(v1_allowed) {}

  Result<Credentials> operator()() {
    http::Headers headers;
    {
      http::Request put;
      put.method = "PUT";
      put.url = base_ + "/latest/api/token";
      put.headers = {{"X-aliyun-ecs-metadata-token-ttl-seconds", "21600"}};
      put.timeout = std::chrono::seconds(2);
      auto r = http_.Send(put, 4096);
      if (!r.ok()) {
        return Error(ErrorCode::kUnavailable, "the ECS metadata service is unreachable: " + r.error().message);
      }
      if (r->status == 200) {
        headers.emplace_back("X-aliyun-ecs-metadata-token", std::string(str::Trim(r->body)));
      } else if (!v1_allowed_) {
        return Error(ErrorCode::kUnavailable,
                     "the ECS metadata service refused an IMDSv2 token (HTTP " +
                         std::to_string(r->status) + ") and IMDSv1 is disabled");
      }
    }
    auto get = [&](const std::string& path) -> Result<std::string> {
      http::Request req;
      req.url = base_ + path;
      req.headers = headers;
      req.timeout = std::chrono::seconds(2);
      auto r = http_.Send(req, 1 << 20);
      if (!r.ok()) return Error(ErrorCode::kUnavailable, "ECS metadata: " + r.error().message);
      if (r->status != 200) {
        return Error(r->status == 404 ? ErrorCode::kNotFound : ErrorCode::kUnavailable,
                     "ECS metadata " + path + " answered HTTP " + std::to_string(r->status));
      }
      return r->body;
    };
    const std::string prefix = "/latest/meta-data/ram/security-credentials/";
    std::string role = role_;
    if (role.empty()) {
      VODFS_ASSIGN_OR_RETURN(std::string listing, get(prefix));
      role = std::string(str::Trim(str::Split(listing, '\n')[0]));
      if (role.empty()) return Error(ErrorCode::kNotFound, "this instance has no RAM role attached");
    }
    VODFS_ASSIGN_OR_RETURN(std::string body, get(prefix + role));
    return ParseCredentialsJson(body, "ECS RAM role " + role);
  }

 private:
  http::HttpClient& http_;
  std::string base_;
  std::string role_;
  bool v1_allowed_;
};

class LambdaSource final : public SourceProvider {
 public:
  using Fn = std::function<Result<std::unique_ptr<CredentialsProvider>>()>;
  LambdaSource(std::string name, Fn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  Result<std::unique_ptr<CredentialsProvider>> Resolve() override { return fn_(); }
  std::string Name() const override { return name_; }

 private:
  std::string name_;
  Fn fn_;
};

std::unique_ptr<CredentialsProvider> StaticFrom(Credentials c) {
  return std::make_unique<StaticCredentialsProvider>(Register(std::move(c)));
}

// Path of the aliyun CLI config, if present, and the profile it holds.
struct CliConfig {
  std::string path;
  std::string text;  // for the source_profile of ChainableRamRoleArn
  CliProfile profile;
};

std::optional<CliConfig> LoadCliConfig(const ChainOptions& o, std::string* error) {
  auto disabled = o.getenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED");
  if (disabled && str::EqualsIgnoreCase(*disabled, "true")) return std::nullopt;
  std::string path = o.getenv("ALIBABA_CLOUD_CONFIG_FILE").value_or(o.home + "/.aliyun/config.json");
  if (!FileExists(path)) return std::nullopt;
  auto text = ReadWholeFile(path);
  if (!text.ok()) {
    *error = text.error().message;
    return std::nullopt;
  }
  const std::string wanted = !o.profile.empty() ? o.profile : o.getenv("ALIBABA_CLOUD_PROFILE").value_or("");
  auto profile = ParseCliConfig(*text, wanted);
  if (!profile.ok()) {
    *error = path + " is not valid JSON";
    return std::nullopt;
  }
  return CliConfig{path, *text, std::move(profile).value()};
}

}  // namespace

std::string IniValue(std::string_view raw) {
  std::string_view v = str::Trim(raw);
  // A quoted value is taken as it is, comment characters included.
  for (char q : {'"', '`'}) {
    if (v.size() >= 2 && v.front() == q) {
      const size_t close = v.find(q, 1);
      if (close != std::string_view::npos) return std::string(v.substr(1, close - 1));
    }
  }
  // go-ini (what credentials-go reads the file with) ends an unquoted value
  // at the first '#' or ';': "type = access_key # comment" is access_key.
  const size_t comment = v.find_first_of("#;");
  if (comment != std::string_view::npos) v = str::Trim(v.substr(0, comment));
  return std::string(v);
}

IniSections ParseIni(std::string_view text) {
  IniSections out;
  std::string section;
  for (const auto& raw : str::Split(text, '\n')) {
    std::string_view line = str::Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.find(']') != std::string_view::npos) {
      // "[default]  # comment": what follows the bracket is a comment.
      section = std::string(str::Trim(line.substr(1, line.find(']') - 1)));
      out[section];
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    out[section][std::string(str::Trim(line.substr(0, eq)))] = IniValue(line.substr(eq + 1));
  }
  return out;
}

std::string CliProfile::Field(const std::string& key) const {
  auto it = fields.find(key);
  return it == fields.end() ? "" : it->second;
}

Result<CliProfile> ParseCliConfig(std::string_view text, const std::string& wanted) {
  json root = json::parse(text, nullptr, false);
  if (root.is_discarded() || !root.is_object()) {
    return Error(ErrorCode::kInvalidArgument, "the aliyun CLI config is not a JSON object");
  }
  CliProfile out;
  out.name = !wanted.empty() ? wanted
                             : root.contains("current") && root["current"].is_string()
                                   ? root["current"].get<std::string>()
                                   : "default";
  if (!root.contains("profiles") || !root["profiles"].is_array()) return out;
  for (const auto& p : root["profiles"]) {
    if (!p.is_object() || !p.contains("name") || p["name"] != out.name) continue;
    out.found = true;
    for (auto it = p.begin(); it != p.end(); ++it) {
      // Integers as their text: the CLI writes expired_seconds as a number.
      if (it->is_string()) out.fields[it.key()] = it->get<std::string>();
      if (it->is_number_integer()) out.fields[it.key()] = std::to_string(it->get<int64_t>());
    }
    break;
  }
  return out;
}

Result<Credentials> ParseCredentialsJson(const std::string& text, const std::string& source) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error(ErrorCode::kBadResponse, source + " did not produce credentials JSON");
  }
  if (j.contains("Code") && j["Code"].is_string() && j["Code"] != "Success") {
    return Error(ErrorCode::kUnavailable, source + " answered Code " + j["Code"].get<std::string>());
  }
  Credentials c;
  c.access_key_id = JsonString(j, {"AccessKeyId", "access_key_id"});
  c.access_key_secret = JsonString(j, {"AccessKeySecret", "access_key_secret"});
  c.security_token = JsonString(j, {"SecurityToken", "sts_token", "security_token"});
  c.source = source;
  std::string exp = JsonString(j, {"Expiration", "expiration"});
  if (!exp.empty()) {
    auto t = timefmt::ParseIso8601(exp);
    if (!t) return Error(ErrorCode::kBadResponse, source + " gave an Expiration that is not a time");
    c.expiration = *t;
  }
  if (c.access_key_id.empty() || c.access_key_secret.empty()) {
    return Error(ErrorCode::kBadResponse, source + " gave no AccessKeyId/AccessKeySecret");
  }
  return Register(std::move(c));
}

// ---------------------------------------------------------------------------
// ChainProvider

ChainProvider::ChainProvider(std::vector<std::unique_ptr<SourceProvider>> sources,
                             std::shared_ptr<std::vector<std::string>> warnings)
    : sources_(std::move(sources)), warnings_(std::move(warnings)) {}

Status ChainProvider::ResolveLocked() {
  if (chosen_) return Status::Ok();
  std::vector<std::string> problems;
  for (auto& s : sources_) {
    auto r = s->Resolve();
    if (!r.ok()) {
      problems.push_back(s->Name() + ": " + r.error().message);
      continue;
    }
    if (*r) {
      chosen_ = std::move(r).value();
      VODFS_LOG(kDebug) << "credentials from " << chosen_->Describe();
      return Status::Ok();
    }
  }
  std::string msg =
      "No credentials found. Set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, "
      "configure a profile with the aliyun CLI (~/.aliyun/config.json) or "
      "~/.alibabacloud/credentials, or pass --access-key-id/--credentials-command";
  if (!problems.empty()) msg += ". Problems: " + str::Join(problems, "; ");
  return Status(ErrorCode::kUnauthenticated, msg);
}

Result<Credentials> ChainProvider::Get() {
  CredentialsProvider* p;
  {
    MutexLock lock(&mu_);
    VODFS_RETURN_IF_ERROR(ResolveLocked());
    p = chosen_.get();
  }
  return p->Get();
}

void ChainProvider::Invalidate() {
  MutexLock lock(&mu_);
  if (chosen_) chosen_->Invalidate();
}

std::string ChainProvider::Describe() const {
  MutexLock lock(&mu_);
  return chosen_ ? chosen_->Describe() : "(not resolved yet)";
}

std::vector<std::string> ChainProvider::Warnings() const {
  MutexLock lock(&mu_);
  return *warnings_;
}

namespace {

// A source's credentials as the base of an STS AssumeRole: the role's,
// renewed before they expire (fetching the base again, which renews itself).
std::unique_ptr<CredentialsProvider> RoleOver(std::shared_ptr<CredentialsProvider> base, AssumeRoleRequest req,
                                              const std::string& endpoint, http::HttpClient& http, Clock& clock) {
  const std::string description = "RAM role " + req.role_arn + " (STS AssumeRole with " + base->Describe() + ")";
  return std::make_unique<RefreshingProvider>(
      [base, req, endpoint, &http, &clock]() -> Result<Credentials> {
        VODFS_ASSIGN_OR_RETURN(Credentials b, base->Get());
        return AssumeRole(http, clock, endpoint, b, req);
      },
      description, clock);
}

std::unique_ptr<CredentialsProvider> OidcRole(OidcRequest req, const std::string& endpoint, http::HttpClient& http,
                                              Clock& clock) {
  const std::string description = "OIDC role " + req.role_arn + " (STS AssumeRoleWithOIDC, token " + req.token_file + ")";
  return std::make_unique<RefreshingProvider>(
      [req, endpoint, &http, &clock] { return AssumeRoleWithOidc(http, clock, endpoint, req); }, description, clock);
}

int64_t Seconds(const std::string& text) {
  auto n = str::ParseInt64(text);
  return n && *n >= kMinRoleSeconds ? *n : kDefaultRoleSeconds;
}

std::vector<std::unique_ptr<SourceProvider>> BuildSources(const ChainOptions& o, http::HttpClient& http, Clock& clock,
                                                          std::shared_ptr<std::vector<std::string>> warnings);

}  // namespace

std::unique_ptr<ChainProvider> MakeDefaultChain(const ChainOptions& in, http::HttpClient& http,
                                                Clock& clock) {
  ChainOptions o = in;
  if (o.home.empty()) o.home = o.getenv("HOME").value_or("/root");
  auto warnings = std::make_shared<std::vector<std::string>>();
  if (o.role_arn.empty()) return std::make_unique<ChainProvider>(BuildSources(o, http, clock, warnings), warnings);
  // role_arn: the chain without it is the base of an AssumeRole.
  ChainOptions base_options = o;
  base_options.role_arn.clear();
  auto base = std::make_shared<ChainProvider>(BuildSources(base_options, http, clock, warnings), warnings);
  std::vector<std::unique_ptr<SourceProvider>> sources;
  sources.push_back(std::make_unique<LambdaSource>(
      "role_arn", [o, base, &http, &clock]() -> Result<std::unique_ptr<CredentialsProvider>> {
        // Resolve the base now, so that a missing base reads as such.
        VODFS_RETURN_IF_ERROR(base->Get().status());
        AssumeRoleRequest req;
        req.role_arn = o.role_arn;
        req.session_name = RoleSessionName(o.role_session_name, o.getenv, clock);
        return RoleOver(base, req, StsEndpoint(o.sts_endpoint, o.getenv), http, clock);
      }));
  return std::make_unique<ChainProvider>(std::move(sources), warnings);
}

namespace {

std::vector<std::unique_ptr<SourceProvider>> BuildSources(const ChainOptions& o, http::HttpClient& http, Clock& clock,
                                                          std::shared_ptr<std::vector<std::string>> warnings) {
  std::vector<std::unique_ptr<SourceProvider>> sources;
  const std::string sts = StsEndpoint(o.sts_endpoint, o.getenv);
  auto warn_if_open = [warnings](const std::string& path) {
    std::string w = CheckPrivateFile(path);
    if (!w.empty()) {
      VODFS_LOG(kWarn) << w;
      warnings->push_back(w);
    }
  };
  auto imds_provider = [&http, &clock, o](const std::string& role) {
    auto v1 = o.getenv("ALIBABA_CLOUD_IMDSV1_DISABLED");
    bool v1_allowed = !(v1 && str::EqualsIgnoreCase(*v1, "true"));
    return std::make_unique<RefreshingProvider>(ImdsFetcher(http, o.imds_endpoint, role, v1_allowed),
                                                "ECS RAM role" + (role.empty() ? "" : " " + role),
                                                clock, 180);
  };
  auto command_provider = [&clock](const std::string& cmd, const std::string& source) {
    return std::make_unique<RefreshingProvider>(
        [cmd, source] { return RunCredentialsCommand(cmd, source); }, source, clock);
  };

  // 1. Explicit options.
  sources.push_back(std::make_unique<LambdaSource>(
      "options", [o, command_provider]() -> Result<std::unique_ptr<CredentialsProvider>> {
        if (!o.access_key_id.empty() || !o.access_key_secret.empty()) {
          if (o.access_key_id.empty() || o.access_key_secret.empty()) {
            return Error(ErrorCode::kInvalidArgument,
                         "access_key_id and access_key_secret must be given together");
          }
          return StaticFrom({o.access_key_id, o.access_key_secret, o.security_token, std::nullopt,
                             "options (access_key_id)"});
        }
        if (!o.credentials_command.empty()) {
          return std::unique_ptr<CredentialsProvider>(
              command_provider(o.credentials_command, "credentials command"));
        }
        return std::unique_ptr<CredentialsProvider>();
      }));
  // 2. Environment.
  sources.push_back(std::make_unique<LambdaSource>(
      "environment", [o]() -> Result<std::unique_ptr<CredentialsProvider>> {
        const std::vector<std::tuple<const char*, const char*, const char*>> kNames = {
            {"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"},
            {"ALIBABACLOUD_ACCESS_KEY_ID", "ALIBABACLOUD_ACCESS_KEY_SECRET", "ALIBABACLOUD_SECURITY_TOKEN"},
            {"ALICLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY_SECRET", "ALICLOUD_SECURITY_TOKEN"},
            {"ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY", "ALICLOUD_SECURITY_TOKEN"}};
        for (const auto& [id_name, secret_name, token_name] : kNames) {
          auto id = o.getenv(id_name);
          auto secret = o.getenv(secret_name);
          if (!id && !secret) continue;
          if (!id || !secret) {
            return Error(ErrorCode::kInvalidArgument,
                         std::string(id ? secret_name : id_name) + " is not set (" +
                             (id ? id_name : secret_name) + " is)");
          }
          return StaticFrom({*id, *secret, o.getenv(token_name).value_or(""), std::nullopt,
                             std::string("environment (") + id_name + ")"});
        }
        return std::unique_ptr<CredentialsProvider>();
      }));
  // 3. OIDC (RRSA): all three variables, or none.
  sources.push_back(std::make_unique<LambdaSource>(
      "OIDC", [o, sts, &http, &clock]() -> Result<std::unique_ptr<CredentialsProvider>> {
        auto role = o.getenv("ALIBABA_CLOUD_ROLE_ARN");
        auto provider = o.getenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN");
        auto token = o.getenv("ALIBABA_CLOUD_OIDC_TOKEN_FILE");
        if (!provider && !token) return std::unique_ptr<CredentialsProvider>();
        if (!role || !provider || !token) {
          return Error(ErrorCode::kInvalidArgument,
                       "OIDC needs ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and "
                       "ALIBABA_CLOUD_OIDC_TOKEN_FILE together");
        }
        OidcRequest req;
        req.role_arn = *role;
        req.oidc_provider_arn = *provider;
        req.token_file = *token;
        req.session_name = RoleSessionName(o.role_session_name, o.getenv, clock);
        return OidcRole(req, sts, http, clock);
      }));
  // 4. aliyun CLI profile.
  sources.push_back(std::make_unique<LambdaSource>(
      "aliyun CLI profile",
      [o, sts, &http, &clock, warn_if_open, imds_provider, command_provider]()
          -> Result<std::unique_ptr<CredentialsProvider>> {
        std::string error;
        auto cfg = LoadCliConfig(o, &error);
        if (!error.empty()) return Error(ErrorCode::kInvalidArgument, error);
        if (!cfg) return std::unique_ptr<CredentialsProvider>();
        const CliProfile& p = cfg->profile;
        const std::string& name = p.name;
        if (!p.found) {
          if (!o.profile.empty()) {
            return Error(ErrorCode::kNotFound, "profile '" + name + "' not in " + cfg->path);
          }
          return std::unique_ptr<CredentialsProvider>();
        }
        warn_if_open(cfg->path);
        const std::string mode = p.Field("mode");
        const std::string source = cfg->path + " profile '" + name + "' (" + mode + ")";
        if (mode == "AK" || mode == "StsToken") {
          Credentials c{p.Field("access_key_id"), p.Field("access_key_secret"),
                        mode == "StsToken" ? p.Field("sts_token") : "", std::nullopt, source};
          if (c.access_key_id.empty() || c.access_key_secret.empty()) {
            return Error(ErrorCode::kInvalidArgument, source + " lacks access_key_id/access_key_secret");
          }
          return StaticFrom(std::move(c));
        }
        if (mode == "EcsRamRole") {
          return std::unique_ptr<CredentialsProvider>(imds_provider(p.Field("ram_role_name")));
        }
        auto role_request = [&o, &clock](const CliProfile& profile) {
          AssumeRoleRequest req;
          req.role_arn = profile.Field("ram_role_arn");
          req.session_name = RoleSessionName(profile.Field("ram_session_name"), o.getenv, clock);
          req.duration_seconds = Seconds(profile.Field("expired_seconds"));
          req.external_id = profile.Field("external_id");
          return req;
        };
        if (mode == "RamRoleArn" || mode == "ChainableRamRoleArn") {
          Credentials base_creds;
          std::string base_source;
          if (mode == "RamRoleArn") {
            base_creds = {p.Field("access_key_id"), p.Field("access_key_secret"), p.Field("sts_token"), std::nullopt,
                          source};
          } else {
            // The base is another profile of the file (AK or StsToken).
            const std::string from = p.Field("source_profile");
            auto base = ParseCliConfig(cfg->text, from);
            if (from.empty() || !base.ok() || !base->found) {
              return Error(ErrorCode::kInvalidArgument, source + ": source_profile '" + from + "' not in " + cfg->path);
            }
            const std::string base_mode = base->Field("mode");
            if (base_mode != "AK" && base_mode != "StsToken") {
              return Error(ErrorCode::kUnimplemented, source + ": source_profile '" + from + "' has mode " + base_mode +
                                                          " (vodfs chains from AK or StsToken profiles)");
            }
            base_creds = {base->Field("access_key_id"), base->Field("access_key_secret"),
                          base_mode == "StsToken" ? base->Field("sts_token") : "", std::nullopt,
                          cfg->path + " profile '" + from + "'"};
          }
          if (base_creds.access_key_id.empty() || base_creds.access_key_secret.empty() ||
              p.Field("ram_role_arn").empty()) {
            return Error(ErrorCode::kInvalidArgument,
                         source + " lacks access_key_id/access_key_secret/ram_role_arn");
          }
          std::shared_ptr<CredentialsProvider> base = StaticFrom(std::move(base_creds));
          return RoleOver(base, role_request(p), sts, http, clock);
        }
        if (mode == "OIDC") {
          OidcRequest req;
          req.role_arn = p.Field("ram_role_arn");
          req.oidc_provider_arn = p.Field("oidc_provider_arn");
          req.token_file = p.Field("oidc_token_file");
          req.session_name = RoleSessionName(p.Field("ram_session_name"), o.getenv, clock);
          req.duration_seconds = Seconds(p.Field("expired_seconds"));
          if (req.role_arn.empty() || req.oidc_provider_arn.empty() || req.token_file.empty()) {
            return Error(ErrorCode::kInvalidArgument, source + " lacks ram_role_arn/oidc_provider_arn/oidc_token_file");
          }
          return OidcRole(req, sts, http, clock);
        }
        if (mode == "External") {
          std::string cmd = p.Field("process_command");
          if (cmd.empty()) return Error(ErrorCode::kInvalidArgument, source + " has no process_command");
          return std::unique_ptr<CredentialsProvider>(command_provider(cmd, source));
        }
        return Error(ErrorCode::kUnimplemented,
                     source + ": mode '" + mode +
                         "' is not supported by vodfs (use AK, StsToken, RamRoleArn, ChainableRamRoleArn, OIDC, "
                         "EcsRamRole or External)");
      }));
  // 5. ~/.alibabacloud/credentials.
  sources.push_back(std::make_unique<LambdaSource>(
      "credentials file",
      [o, sts, &http, &clock, warn_if_open, imds_provider]() -> Result<std::unique_ptr<CredentialsProvider>> {
        std::string path = o.getenv("ALIBABA_CLOUD_CREDENTIALS_FILE").value_or(o.home + "/.alibabacloud/credentials");
        if (!FileExists(path)) return std::unique_ptr<CredentialsProvider>();
        auto text = ReadWholeFile(path);
        if (!text.ok()) return text.error();
        auto ini = ParseIni(*text);
        std::string name = !o.profile.empty() ? o.profile : o.getenv("ALIBABA_CLOUD_PROFILE").value_or("default");
        auto it = ini.find(name);
        if (it == ini.end()) return std::unique_ptr<CredentialsProvider>();
        warn_if_open(path);
        auto& sec = it->second;
        if (sec.count("enable") && str::EqualsIgnoreCase(sec["enable"], "false")) {
          return std::unique_ptr<CredentialsProvider>();
        }
        const std::string type = sec["type"];
        const std::string source = path + " [" + name + "] (" + type + ")";
        if (type == "access_key") {
          if (sec["access_key_id"].empty() || sec["access_key_secret"].empty()) {
            return Error(ErrorCode::kInvalidArgument, source + " lacks access_key_id/access_key_secret");
          }
          return StaticFrom({sec["access_key_id"], sec["access_key_secret"], "", std::nullopt, source});
        }
        if (type == "sts") {
          if (sec["access_key_id"].empty() || sec["access_key_secret"].empty() || sec["security_token"].empty()) {
            return Error(ErrorCode::kInvalidArgument, source + " lacks access_key_id/access_key_secret/security_token");
          }
          return StaticFrom({sec["access_key_id"], sec["access_key_secret"], sec["security_token"], std::nullopt, source});
        }
        if (type == "ecs_ram_role") {
          return std::unique_ptr<CredentialsProvider>(imds_provider(sec["role_name"]));
        }
        if (type == "ram_role_arn") {
          if (sec["access_key_id"].empty() || sec["access_key_secret"].empty() || sec["role_arn"].empty()) {
            return Error(ErrorCode::kInvalidArgument, source + " lacks access_key_id/access_key_secret/role_arn");
          }
          std::shared_ptr<CredentialsProvider> base =
              StaticFrom({sec["access_key_id"], sec["access_key_secret"], "", std::nullopt, source});
          AssumeRoleRequest req;
          req.role_arn = sec["role_arn"];
          req.session_name = RoleSessionName(sec["role_session_name"], o.getenv, clock);
          req.policy = sec["policy"];
          req.external_id = sec["external_id"];
          return RoleOver(base, req, sts, http, clock);
        }
        if (type == "oidc_role_arn") {
          OidcRequest req;
          req.role_arn = sec["role_arn"];
          req.oidc_provider_arn = sec["oidc_provider_arn"];
          req.token_file = sec["oidc_token_file_path"];
          req.session_name = RoleSessionName(sec["role_session_name"], o.getenv, clock);
          req.policy = sec["policy"];
          if (req.role_arn.empty() || req.oidc_provider_arn.empty() || req.token_file.empty()) {
            return Error(ErrorCode::kInvalidArgument,
                         source + " lacks role_arn/oidc_provider_arn/oidc_token_file_path");
          }
          return OidcRole(req, sts, http, clock);
        }
        if (type == "credentials_uri") {
          const std::string uri = sec["credentials_uri"];
          if (uri.empty()) return Error(ErrorCode::kInvalidArgument, source + " lacks credentials_uri");
          return std::unique_ptr<CredentialsProvider>(std::make_unique<RefreshingProvider>(
              [&http, uri, source] { return FetchJsonCredentials(http, uri, source); }, source, clock));
        }
        return Error(ErrorCode::kUnimplemented,
                     source + ": type '" + type +
                         "' is not supported (use access_key, sts, ram_role_arn, oidc_role_arn, ecs_ram_role or "
                         "credentials_uri)");
      }));
  // 6. ECS instance RAM role (only if the metadata service answers): before
  // the credentials URI, as credentials-go has it.
  sources.push_back(std::make_unique<LambdaSource>(
      "ECS RAM role", [o, imds_provider]() -> Result<std::unique_ptr<CredentialsProvider>> {
        auto off = o.getenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED");
        if (off && str::EqualsIgnoreCase(*off, "true")) return std::unique_ptr<CredentialsProvider>();
        auto p = imds_provider(o.getenv("ALIBABA_CLOUD_ECS_METADATA").value_or(""));
        // Off ECS the probe fails fast (2 s); its message then explains,
        // among the other sources' problems, why nothing was found.
        auto probe = p->Get();
        if (!probe.ok()) return probe.error();
        return std::unique_ptr<CredentialsProvider>(std::move(p));
      }));
  // 7. Credentials URI.
  sources.push_back(std::make_unique<LambdaSource>(
      "credentials URI", [o, &http, &clock]() -> Result<std::unique_ptr<CredentialsProvider>> {
        auto uri = o.getenv("ALIBABA_CLOUD_CREDENTIALS_URI");
        if (!uri) return std::unique_ptr<CredentialsProvider>();
        std::string u = *uri;
        return std::unique_ptr<CredentialsProvider>(std::make_unique<RefreshingProvider>(
            [&http, u] { return FetchJsonCredentials(http, u, "ALIBABA_CLOUD_CREDENTIALS_URI"); },
            "ALIBABA_CLOUD_CREDENTIALS_URI", clock));
      }));
  return sources;
}

}  // namespace

std::string ResolveRegion(const std::string& explicit_region, const ChainOptions& in) {
  if (!explicit_region.empty()) return explicit_region;
  for (const char* n : {"ALIBABA_CLOUD_REGION_ID", "ALIBABACLOUD_REGION_ID", "ALICLOUD_REGION_ID", "ALICLOUD_REGION"}) {
    if (auto v = in.getenv(n)) return *v;
  }
  ChainOptions o = in;
  if (o.home.empty()) o.home = o.getenv("HOME").value_or("/root");
  std::string error;
  if (auto cfg = LoadCliConfig(o, &error)) {
    if (cfg->profile.found) {
      std::string r = cfg->profile.Field("region_id");
      if (!r.empty()) return r;
    }
  }
  return "cn-shanghai";
}

}  // namespace vodfs::auth
