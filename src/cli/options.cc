#include "cli/options.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "vodfs/util/log.h"
#include "vodfs/index/db.h"
#include "vodfs/shared_cache/memcached_tier.h"
#include "vodfs/util/strings.h"

namespace vodfs::cli {

namespace {

Status Bad(std::string_view name, const std::string& why) {
  return Status(ErrorCode::kInvalidArgument, "option --" + DashedName(name) + ": " + why);
}

// Octal permission bits up to `max` ("022", "0644", "755").
std::function<Status(Options&, std::string_view)> SetOctal(uint32_t Options::*field, uint32_t max) {
  return [=](Options& o, std::string_view v) {
    unsigned m = 0;
    for (char c : v) {
      if (c < '0' || c > '7') return Bad("", "expected octal digits, got '" + std::string(v) + "'");
      m = m * 8 + static_cast<unsigned>(c - '0');
      if (m > max) break;
    }
    if (v.empty() || m > max) return Bad("", "expected octal bits such as 0444, got '" + std::string(v) + "'");
    o.*field = m;
    return Status::Ok();
  };
}

std::string ShowOctal(uint32_t v) {
  char b[8];
  std::snprintf(b, sizeof(b), "%04o", v);
  return b;
}

template <typename T>
std::function<Status(Options&, std::string_view)> SetString(T Options::*field) {
  return [field](Options& o, std::string_view v) {
    o.*field = std::string(v);
    return Status::Ok();
  };
}

// A flag's value: none (a bare flag) is true.
Status ParseFlag(std::string_view v, bool* out) {
  if (v.empty() || v == "1" || str::EqualsIgnoreCase(v, "true") || str::EqualsIgnoreCase(v, "yes") ||
      str::EqualsIgnoreCase(v, "on")) {
    *out = true;
  } else if (v == "0" || str::EqualsIgnoreCase(v, "false") || str::EqualsIgnoreCase(v, "no") ||
             str::EqualsIgnoreCase(v, "off")) {
    *out = false;
  } else {
    return Bad("", "expected true or false, got '" + std::string(v) + "'");
  }
  return Status::Ok();
}

std::function<Status(Options&, std::string_view)> SetFlag(bool Options::*field) {
  return [field](Options& o, std::string_view v) { return ParseFlag(v, &(o.*field)); };
}

std::function<Status(Options&, std::string_view)> SetInt(int64_t Options::*field, int64_t min,
                                                          int64_t max) {
  return [=](Options& o, std::string_view v) {
    auto n = str::ParseInt64(v);
    if (!n || *n < min || *n > max) {
      return Bad("", "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                         "], got '" + std::string(v) + "'");
    }
    o.*field = *n;
    return Status::Ok();
  };
}

std::function<Status(Options&, std::string_view)> SetDouble(double Options::*field, double min,
                                                            double max) {
  return [=](Options& o, std::string_view v) {
    auto n = str::ParseDouble(v);
    if (!n || *n < min || *n > max) return Bad("", "expected a number, got '" + std::string(v) + "'");
    o.*field = *n;
    return Status::Ok();
  };
}

std::function<Status(Options&, std::string_view)> SetSize(uint64_t Options::*field, uint64_t min) {
  return [=](Options& o, std::string_view v) {
    auto n = str::ParseSize(v);
    if (!n || *n < min) return Bad("", "expected a size such as 512M or 2G, got '" + std::string(v) + "'");
    o.*field = *n;
    return Status::Ok();
  };
}

std::function<Status(Options&, std::string_view)> OneOf(std::string Options::*field,
                                                        std::set<std::string> allowed) {
  return [=](Options& o, std::string_view v) {
    std::string s(v);
    if (!allowed.count(s)) {
      std::vector<std::string> list(allowed.begin(), allowed.end());
      return Bad("", "expected one of " + str::Join(list, ", ") + ", got '" + s + "'");
    }
    o.*field = s;
    return Status::Ok();
  };
}

std::string ShowSize(uint64_t v) { return v ? str::FormatSize(v) : "auto"; }

std::vector<OptionDef> BuildTable() {
  std::vector<OptionDef> t;
  auto add = [&t](OptionDef d) { t.push_back(std::move(d)); };
  const char* kApi = "API and credentials";
  const char* kMedia = "Media URLs";
  const char* kTree = "What the tree shows";
  const char* kMount = "Mounting";
  const char* kCache = "Read engine";
  const char* kIndex = "Library index";
  const char* kLog = "Logging";

  add({"config", "FILE", kApi, "read options from FILE (key = value lines) before the command line",
       SetString(&Options::config), [](const Options& o) { return o.config; }});
  add({"region", "ID", kApi,
       "region of the library (default: ALIBABA_CLOUD_REGION_ID, the CLI profile, or cn-shanghai)",
       SetString(&Options::region), [](const Options& o) { return o.region; }});
  add({"endpoint", "URL", kApi, "API endpoint URL (default: https://vod.<region>.aliyuncs.com)",
       SetString(&Options::endpoint), [](const Options& o) { return o.endpoint; }});
  add({"profile", "NAME", kApi, "credentials profile in ~/.aliyun/config.json or ~/.alibabacloud/credentials",
       SetString(&Options::profile), [](const Options& o) { return o.profile; }});
  add({"access_key_id", "ID", kApi, "AccessKey ID (prefer the environment or a profile)",
       SetString(&Options::access_key_id), [](const Options& o) { return o.access_key_id; }});
  add({"access_key_secret", "SECRET", kApi,
       "AccessKey secret (visible in the process list: prefer the environment or a profile)",
       SetString(&Options::access_key_secret), [](const Options&) { return std::string(); }});
  add({"security_token", "TOKEN", kApi, "STS security token for temporary AccessKeys",
       SetString(&Options::security_token), [](const Options&) { return std::string(); }});
  add({"credentials_command", "CMD", kApi,
       "command printing JSON credentials (AccessKeyId, AccessKeySecret, SecurityToken, Expiration); "
       "run again before they expire",
       SetString(&Options::credentials_command), [](const Options& o) { return o.credentials_command; }});
  add({"imds_endpoint", "URL", kApi, "ECS metadata service for RAM role credentials",
       SetString(&Options::imds_endpoint), [](const Options& o) { return o.imds_endpoint; }});
  add({"sts_endpoint", "URL", kApi,
       "STS for role credentials (default: ALIBABA_CLOUD_STS_ENDPOINT, sts.<ALIBABA_CLOUD_STS_REGION>.aliyuncs.com, "
       "or sts.aliyuncs.com)",
       SetString(&Options::sts_endpoint), [](const Options& o) { return o.sts_endpoint; }});
  add({"role_arn", "ARN", kApi, "assume this RAM role (STS AssumeRole) with the credentials found, and use the role's",
       SetString(&Options::role_arn), [](const Options& o) { return o.role_arn; }});
  add({"role_session_name", "NAME", kApi, "session name of the assumed role (default: vodfs-<time>)",
       SetString(&Options::role_session_name), [](const Options& o) { return o.role_session_name; }});
  add({"signature_version", "v2|v3", kApi, "API request signature: v2 (HMAC-SHA1) or v3 (ACS3-HMAC-SHA256)",
       OneOf(&Options::signature_version, {"v2", "v3"}), [](const Options& o) { return o.signature_version; }});
  add({"api_method", "POST|GET", kApi, "HTTP method of API calls",
       OneOf(&Options::api_method, {"POST", "GET"}), [](const Options& o) { return o.api_method; }});
  add({"qps_scale", "F", kApi, "multiply the documented per-operation QPS limits (0 = no client limit)",
       SetDouble(&Options::qps_scale, 0, 1000), [](const Options& o) { return std::to_string(o.qps_scale).substr(0, 4); }});
  add({"ca_file", "FILE", kApi, "CA bundle for TLS verification (default: the system's)",
       SetString(&Options::ca_file), [](const Options& o) { return o.ca_file; }});
  add({"ca_path", "DIR", kApi, "CA directory for TLS verification", SetString(&Options::ca_path),
       [](const Options& o) { return o.ca_path; }});
  add({"user_agent", "UA", kApi, "User-Agent of API calls (default: vodfs/<version>)",
       SetString(&Options::user_agent), [](const Options& o) { return o.user_agent; }});

  add({"output_type", "cdn|oss", kMedia, "ask the API for CDN or OSS download URLs",
       OneOf(&Options::output_type, {"cdn", "oss"}), [](const Options& o) { return o.output_type; }});
  add({"auth_timeout", "SECONDS", kMedia, "lifetime asked for signed URLs",
       SetInt(&Options::auth_timeout, 60, 2592000), [](const Options& o) { return std::to_string(o.auth_timeout); }});
  add({"retry_budget", "SECONDS", kMedia,
       "how long a read keeps retrying an origin that sends nothing before it fails with EIO",
       SetInt(&Options::retry_budget, 1, 86400), [](const Options& o) { return std::to_string(o.retry_budget); }});
  add({"stall_timeout", "SECONDS", kMedia, "a transfer that sends nothing this long is abandoned and retried",
       SetInt(&Options::stall_timeout, 1, 3600), [](const Options& o) { return std::to_string(o.stall_timeout); }});
  add({"cdn_auth_key", "KEY", kMedia,
       "the CDN domain's URL-signing key: CDN URLs are then re-signed locally, with no API call",
       SetString(&Options::cdn_auth_key), [](const Options&) { return std::string(); }});
  add({"cdn_auth_type", "auto|A|B|C", kMedia, "URL signing type of the CDN domain (auto: from the URL)",
       OneOf(&Options::cdn_auth_type, {"auto", "A", "B", "C"}), [](const Options& o) { return o.cdn_auth_type; }});
  add({"cdn_auth_delta", "SECONDS", kMedia, "validity window of the CDN domain's signatures (ali_auth_delta)",
       SetInt(&Options::cdn_auth_delta, 1, 31536000), [](const Options& o) { return std::to_string(o.cdn_auth_delta); }});
  add({"referer", "URL", kMedia, "Referer sent with media requests (for Referer allow-lists)",
       SetString(&Options::referer), [](const Options& o) { return o.referer; }});
  add({"media_user_agent", "UA", kMedia, "User-Agent of media requests (default: vodfs/<version>)",
       SetString(&Options::media_user_agent), [](const Options& o) { return o.media_user_agent; }});

  add({"name_scheme", "title-id|id", kTree, "directory names: \"<title> [<id>]\" or the bare id",
       OneOf(&Options::name_scheme, {"title-id", "id"}), [](const Options& o) { return o.name_scheme; }});
  add({"all_streams", nullptr, kTree,
       "also show older (Invisible) streams and proprietary-encrypted ones (ResultType=Multiple)",
       SetFlag(&Options::all_streams), [](const Options& o) { return o.all_streams ? "on" : "off"; }});

  add({"index", "PATH|URL", kIndex,
       "the library index: an SQLite file (default: <cache_dir>/index.db), or postgresql://user:password@host/db "
       "for an index a fleet of mounts shares",
       SetString(&Options::index), [](const Options& o) { return index::RedactConninfo(o.index); }});
  add({"sync_interval", "SECONDS", kIndex, "seconds between syncs of the index with the library",
       SetInt(&Options::sync_interval, 5, 86400 * 30), [](const Options& o) { return std::to_string(o.sync_interval); }});
  add({"metadata_ttl", "SECONDS", kIndex, "the former name of sync-interval",
       SetInt(&Options::sync_interval, 5, 86400 * 30), [](const Options& o) { return std::to_string(o.sync_interval); }});
  add({"full_sync_interval", "SECONDS", kIndex, "seconds between full listings of the library (reconciles)",
       SetInt(&Options::full_sync_interval, 60, 86400 * 365),
       [](const Options& o) { return std::to_string(o.full_sync_interval); }});
  add({"details_ttl", "SECONDS", kIndex,
       "seconds a medium's details are trusted when its ModificationTime did not change",
       SetInt(&Options::details_ttl, 60, 86400 * 365), [](const Options& o) { return std::to_string(o.details_ttl); }});
  add({"full", nullptr, kIndex, "with vodfs index sync: list the whole library, not only what changed",
       SetFlag(&Options::full), [](const Options& o) { return o.full ? "on" : "off"; }});

  add({"foreground", nullptr, kMount, "stay in the foreground (-f)", SetFlag(&Options::foreground),
       [](const Options& o) { return o.foreground ? "on" : "off"; }});
  add({"daemon", nullptr, kMount, "detach once the mount is ready (the default; the opposite of foreground)",
       [](Options& o, std::string_view v) -> Status {
         bool daemon = true;
         VODFS_RETURN_IF_ERROR(ParseFlag(v, &daemon));
         o.foreground = !daemon;
         return Status::Ok();
       },
       [](const Options& o) { return o.foreground ? "off" : "on"; }});
  add({"read_only", nullptr, kMount, "accepted for compatibility: vodfs always mounts read-only",
       [](Options&, std::string_view v) -> Status {
         bool read_only = true;
         VODFS_RETURN_IF_ERROR(ParseFlag(v, &read_only));
         if (!read_only) return Bad("", "vodfs cannot mount read-write");
         return Status::Ok();
       },
       [](const Options&) { return "on"; }});
  add({"nonempty", nullptr, kMount, "allow mounting over a directory that is not empty",
       SetFlag(&Options::nonempty), [](const Options& o) { return o.nonempty ? "on" : "off"; }});
  add({"auto_unmount", nullptr, kMount, "have fusermount3 unmount the drive if vodfs dies",
       SetFlag(&Options::auto_unmount), [](const Options& o) { return o.auto_unmount ? "on" : "off"; }});
  add({"debug", nullptr, kMount, "foreground with debug logging and FUSE tracing (-d)",
       SetFlag(&Options::debug), [](const Options& o) { return o.debug ? "on" : "off"; }});
  add({"single_thread", nullptr, kMount, "serve FUSE requests on one thread (-s)",
       SetFlag(&Options::single_thread), [](const Options& o) { return o.single_thread ? "on" : "off"; }});
  add({"allow_other", nullptr, kMount, "let other users access the mount (needs user_allow_other in /etc/fuse.conf)",
       SetFlag(&Options::allow_other), [](const Options& o) { return o.allow_other ? "on" : "off"; }});
  add({"allow_root", nullptr, kMount, "let root access the mount", SetFlag(&Options::allow_root),
       [](const Options& o) { return o.allow_root ? "on" : "off"; }});
  add({"uid", "UID", kMount, "owner of every file (default: the mounting user)",
       [](Options& o, std::string_view v) {
         auto n = str::ParseInt64(v);
         if (!n || *n < 0 || *n > 0xfffffffe) return Bad("uid", "expected a numeric uid");
         o.uid = static_cast<uint32_t>(*n);
         return Status::Ok();
       },
       [](const Options& o) { return o.uid ? std::to_string(*o.uid) : "current"; }});
  add({"gid", "GID", kMount, "group of every file (default: the mounting user's)",
       [](Options& o, std::string_view v) {
         auto n = str::ParseInt64(v);
         if (!n || *n < 0 || *n > 0xfffffffe) return Bad("gid", "expected a numeric gid");
         o.gid = static_cast<uint32_t>(*n);
         return Status::Ok();
       },
       [](const Options& o) { return o.gid ? std::to_string(*o.gid) : "current"; }});
  add({"umask", "OCTAL", kMount, "permission bits removed from file-mode and dir-mode",
       SetOctal(&Options::umask, 0777), [](const Options& o) { return ShowOctal(o.umask).substr(1); }});
  add({"file_mode", "OCTAL", kMount, "permission bits of files (writes fail with EROFS whatever they say)",
       SetOctal(&Options::file_mode, 0777), [](const Options& o) { return ShowOctal(o.file_mode); }});
  add({"dir_mode", "OCTAL", kMount, "permission bits of directories",
       SetOctal(&Options::dir_mode, 0777), [](const Options& o) { return ShowOctal(o.dir_mode); }});
  add({"attr_timeout", "SECONDS", kMount, "how long the kernel caches attributes",
       SetDouble(&Options::attr_timeout, 0, 86400), [](const Options& o) { return std::to_string(o.attr_timeout).substr(0, 4); }});
  add({"entry_timeout", "SECONDS", kMount, "how long the kernel caches names",
       SetDouble(&Options::entry_timeout, 0, 86400), [](const Options& o) { return std::to_string(o.entry_timeout).substr(0, 4); }});
  add({"negative_timeout", "SECONDS", kMount, "how long the kernel caches a missing name",
       SetDouble(&Options::negative_timeout, 0, 86400), [](const Options& o) { return std::to_string(o.negative_timeout).substr(0, 4); }});
  add({"fsname", "NAME", kMount, "source shown in /proc/mounts (default: vodfs:<region>)",
       SetString(&Options::fsname), [](const Options& o) { return o.fsname; }});

  add({"block_size", "SIZE", kCache, "cache block size: the smallest unit fetched and cached",
       SetSize(&Options::block_size, 16 * 1024),
       [](const Options& o) { return str::FormatSize(o.block_size); }});
  add({"memory_cache_size", "SIZE", kCache, "memory cache budget",
       SetSize(&Options::memory_cache_size, 4ULL << 20), [](const Options& o) { return ShowSize(o.memory_cache_size); }});
  add({"shared_cache", "URL", kCache,
       "a block cache the mounts of a fleet share: memcached://host:port[,host:port...][?timeout_ms=20]",
       [](Options& o, std::string_view v) -> Status {
         if (!v.empty()) VODFS_RETURN_IF_ERROR(shared_cache::ParseMemcachedUrl(v).status());
         o.shared_cache = std::string(v);
         return Status::Ok();
       },
       [](const Options& o) { return o.shared_cache; }});
  add({"cache_dir", "DIR", kCache, "persistent cache directory (default: ~/.cache/vodfs)",
       SetString(&Options::cache_dir), [](const Options& o) { return o.cache_dir; }});
  add({"disk_cache_size", "SIZE", kCache, "persistent cache quota (default: 10% of the free space, 256 MiB..20 GiB)",
       SetSize(&Options::disk_cache_size, 0), [](const Options& o) { return ShowSize(o.disk_cache_size); }});
  add({"disk_cache", nullptr, kCache, "use the persistent cache (--disk-cache=false turns it off)",
       SetFlag(&Options::disk_cache), [](const Options& o) { return o.disk_cache ? "on" : "off"; }});
  add({"readahead_max", "SIZE", kCache, "largest read-ahead window of a sequential reader (it grows only while the reader waits)",
       SetSize(&Options::readahead_max, 0), [](const Options& o) { return str::FormatSize(o.readahead_max); }});
  add({"max_parallel_fetches", "N", kCache, "parallel range requests per sequential reader",
       SetInt(&Options::max_parallel_fetches, 1, 64), [](const Options& o) { return std::to_string(o.max_parallel_fetches); }});
  add({"kernel_readahead", "SIZE", kCache, "the kernel's read-ahead on the mount (raised as root; 0 = kernel default)",
       SetSize(&Options::kernel_readahead, 0), [](const Options& o) { return str::FormatSize(o.kernel_readahead); }});
  add({"metrics_address", "HOST:PORT", kCache, "serve Prometheus metrics on this loopback address",
       SetString(&Options::metrics_address), [](const Options& o) { return o.metrics_address; }});

  add({"log_level", "LEVEL", kLog, "debug, info, warn (warning), error or off",
       [](Options& o, std::string_view v) -> Status {
         log::Level level;
         if (!log::ParseLevel(v, &level)) {
           return Bad("", "expected debug, info, warn, error or off, got '" + std::string(v) + "'");
         }
         o.log_level = std::string(v);
         return Status::Ok();
       },
       [](const Options& o) { return o.log_level; }});
  add({"log_format", "text|json", kLog, "log lines as text or as one JSON object each",
       OneOf(&Options::log_format, {"text", "json"}), [](const Options& o) { return o.log_format; }});
  add({"log_file", "FILE", kLog, "append logs to FILE (default: stderr, syslog when in the background)",
       SetString(&Options::log_file), [](const Options& o) { return o.log_file; }});
  return t;
}

// Options the mount(8)/fuse tooling passes that mean nothing to vodfs.
bool IgnoredMountOption(std::string_view name) {
  static const std::set<std::string, std::less<>> kIgnored = {
      "rw", "ro", "dev", "nodev", "suid", "nosuid", "exec", "noexec", "auto", "noauto", "user",
      "nouser", "users", "defaults", "_netdev", "nofail", "default_permissions", "async", "sync",
      "atime", "noatime", "relatime", "nodiratime", "owner", "group", "loop"};
  return kIgnored.count(name) || str::StartsWith(name, "x-") || str::StartsWith(name, "comment=") ||
         str::StartsWith(name, "x-systemd");
}

std::string Normalize(std::string_view name) {
  std::string n(name);
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
}

// "unknown option --acess-key-id (did you mean --access-key-id? see vodfs --help)"
Status Unknown(const std::string& shown, const std::string& origin, std::string_view name) {
  std::string hint = "see vodfs --help";
  if (const OptionDef* near = SuggestOption(name)) hint = "did you mean --" + DashedName(near->name) + "? " + hint;
  return Status(ErrorCode::kInvalidArgument, "unknown option " + shown + origin + " (" + hint + ")");
}

Status Apply(Options& o, std::string_view raw_name, std::optional<std::string> value,
             const std::string& origin) {
  const OptionDef* def = FindOption(raw_name);
  if (!def) {
    if (IgnoredMountOption(raw_name)) return Status::Ok();
    return Unknown("'" + std::string(raw_name) + "'", origin, raw_name);
  }
  const std::string shown = "--" + DashedName(def->name);
  if (def->arg && !value) {
    return Status(ErrorCode::kInvalidArgument, "option " + shown + " needs a value (" + def->arg + ")" + origin);
  }
  Status s = def->set(o, value.value_or(""));
  if (!s.ok()) {
    return Status(ErrorCode::kInvalidArgument,
                  "option " + shown + origin + ": " + s.error().message.substr(s.error().message.find(": ") + 2));
  }
  return Status::Ok();
}

// Levenshtein distance, for suggestions (names are short: O(n*m) is nothing).
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

const std::vector<OptionDef>& OptionTable() {
  static const std::vector<OptionDef> table = BuildTable();
  return table;
}

std::string DashedName(std::string_view name) {
  std::string n(name);
  std::replace(n.begin(), n.end(), '_', '-');
  return n;
}

const OptionDef* SuggestOption(std::string_view mistyped) {
  std::string n = Normalize(mistyped);
  for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n.empty()) return nullptr;
  const OptionDef* best = nullptr;
  size_t best_distance = std::max<size_t>(1, n.size() / 3) + 1;
  for (const auto& d : OptionTable()) {
    const std::string name = d.name;
    size_t distance = EditDistance(n, name);
    // "readonly", "accesskeyid": the name with its separators dropped.
    std::string bare = name;
    bare.erase(std::remove(bare.begin(), bare.end(), '_'), bare.end());
    if (n == bare) distance = 1;
    if (distance < best_distance) {
      best = &d;
      best_distance = distance;
    }
  }
  return best;
}

const OptionDef* FindOption(std::string_view name) {
  const std::string n = Normalize(name);
  for (const auto& d : OptionTable()) {
    if (n == d.name) return &d;
  }
  return nullptr;
}

std::vector<std::pair<std::string, std::optional<std::string>>> SplitMountOptions(std::string_view s) {
  std::vector<std::pair<std::string, std::optional<std::string>>> out;
  std::string cur;
  std::vector<std::string> parts;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      cur.push_back(s[++i]);
    } else if (s[i] == ',') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(s[i]);
    }
  }
  parts.push_back(cur);
  for (auto& p : parts) {
    if (p.empty()) continue;
    size_t eq = p.find('=');
    if (eq == std::string::npos) {
      out.emplace_back(p, std::nullopt);
    } else {
      out.emplace_back(p.substr(0, eq), p.substr(eq + 1));
    }
  }
  return out;
}

Status ApplyConfigText(Options& o, std::string_view text, const std::string& origin) {
  int line_no = 0;
  for (const auto& raw : str::Split(text, '\n')) {
    ++line_no;
    std::string_view line = str::Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    size_t eq = line.find('=');
    std::string key(str::Trim(line.substr(0, eq)));
    std::optional<std::string> value;
    if (eq != std::string_view::npos) value = std::string(str::Trim(line.substr(eq + 1)));
    if (key == "config") {
      return Status(ErrorCode::kInvalidArgument, origin + ":" + std::to_string(line_no) + ": config files cannot include others");
    }
    VODFS_RETURN_IF_ERROR(Apply(o, key, value, " in " + origin + ":" + std::to_string(line_no)));
    const std::string name = Normalize(key);
    if (value && !value->empty() &&
        (name == "access_key_secret" || name == "security_token" || name == "cdn_auth_key")) {
      o.config_holds_secret = true;
    }
  }
  return Status::Ok();
}

Result<Options> ParseArgs(const std::vector<std::string>& args) {
  Options o;
  // A config file is applied first so that the command line wins.
  for (size_t i = 0; i < args.size(); ++i) {
    std::string file;
    if (args[i] == "--config" && i + 1 < args.size()) file = args[i + 1];
    if (str::StartsWith(args[i], "--config=")) file = args[i].substr(9);
    if (args[i] == "-o" && i + 1 < args.size()) {
      for (auto& [k, v] : SplitMountOptions(args[i + 1])) {
        if (k == "config" && v) file = *v;
      }
    }
    if (file.empty()) continue;
    std::ifstream in(file);
    if (!in) return Error(ErrorCode::kNotFound, "Cannot read config file " + file);
    std::stringstream ss;
    ss << in.rdbuf();
    VODFS_RETURN_IF_ERROR(ApplyConfigText(o, ss.str(), file));
    o.config = file;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      for (++i; i < args.size(); ++i) o.positional.push_back(args[i]);
      break;
    }
    if (a == "-h" || a == "--help") {
      o.help = true;
    } else if (a == "-V" || a == "--version") {
      o.version = true;
    } else if (a == "-f") {
      o.foreground = true;
    } else if (a == "-d") {
      o.debug = true;
    } else if (a == "-s") {
      o.single_thread = true;
    } else if (a == "-o") {
      if (i + 1 >= args.size()) return Error(ErrorCode::kInvalidArgument, "-o needs options");
      for (auto& [k, v] : SplitMountOptions(args[++i])) {
        VODFS_RETURN_IF_ERROR(Apply(o, k, v, " in -o"));
      }
    } else if (str::StartsWith(a, "-o") && a.size() > 2) {
      for (auto& [k, v] : SplitMountOptions(a.substr(2))) VODFS_RETURN_IF_ERROR(Apply(o, k, v, " in -o"));
    } else if (str::StartsWith(a, "--")) {
      std::string name = a.substr(2);
      std::optional<std::string> value;
      size_t eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      const OptionDef* def = FindOption(name);
      if (def && def->arg && !value) {
        if (i + 1 >= args.size()) {
          return Error(ErrorCode::kInvalidArgument,
                       "option --" + DashedName(def->name) + " needs a value (" + def->arg + ")");
        }
        value = args[++i];
      }
      if (!def && !IgnoredMountOption(name)) return Unknown("--" + name, "", name).error();
      VODFS_RETURN_IF_ERROR(Apply(o, name, value, ""));
    } else if (a.size() > 1 && a[0] == '-') {
      return Unknown(a, "", a.substr(1)).error();
    } else {
      o.positional.push_back(a);
    }
  }
  if (o.debug) {
    o.foreground = true;
    o.log_level = "debug";
  }
  return o;
}

namespace {

// The option lines of --help for the options `wanted` accepts, by section.
std::string OptionLines(const std::function<bool(const OptionDef&)>& wanted) {
  std::string out;
  std::string section;
  for (const auto& d : OptionTable()) {
    if (!wanted(d)) continue;
    if (section != d.section) {
      section = d.section;
      out += "\n" + section + ":\n";
    }
    std::string left = "  --" + DashedName(d.name);
    if (d.arg) left += std::string(" ") + d.arg;
    std::string dflt = d.show(Options());
    std::string help = d.help;
    if (!dflt.empty() && d.arg) help += " [" + dflt + "]";
    // 30 columns hold every "--name ARG" but the longest few, which get a
    // line of their own.
    if (left.size() < 30) {
      left.resize(30, ' ');
      out += left + help + "\n";
    } else {
      out += left + "\n" + std::string(30, ' ') + help + "\n";
    }
  }
  return out;
}

struct CommandHelp {
  const char* name;
  const char* usage;
  const char* what;
  std::vector<std::string> sections;  // whole sections of options it reads
  std::vector<std::string> names;     // and single options
};

const std::vector<CommandHelp>& CommandHelps() {
  static const std::vector<CommandHelp> kHelps = {
      {"api", "vodfs api OPERATION [Name=Value ...] [OPTIONS]",
       "Signs and sends one VOD API call with the credentials vodfs would use, and prints\n"
       "the JSON answer (e.g. vodfs api GetPlayInfo VideoId=...). A refused call is\n"
       "explained as vodfs check explains it.\n",
       {"API and credentials", "Logging"},
       {}},
      {"check", "vodfs check [SOURCE] [OPTIONS]",
       "Checks, one line each, the endpoint, the credentials, the network, the clock, a\n"
       "signed call, the listing and one media download, with the fix when one fails.\n",
       {"API and credentials", "Logging"},
       {"output_type", "referer", "media_user_agent"}},
      {"prefetch", "vodfs prefetch PATH... ",
       "Reads files (or every file under directories) of a mounted vodfs into its cache.\n",
       {},
       {}},
      {"cache", "vodfs cache info|clear [OPTIONS]",
       "Shows what the persistent cache holds, or empties it (not while a mount uses it).\n",
       {},
       {"cache_dir", "disk_cache_size"}},
      {"index", "vodfs index status|sync|clear [SOURCE] [OPTIONS]",
       "Shows the library index, syncs it now (or asks the mount that syncs it), or deletes it.\n",
       {"API and credentials", "Library index", "Logging"},
       {"cache_dir", "name_scheme"}},
  };
  return kHelps;
}

}  // namespace

const std::vector<std::string>& Commands() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> v;
    for (const auto& c : CommandHelps()) v.push_back(c.name);
    return v;
  }();
  return kNames;
}

std::string HelpText() {
  std::string out = R"(vodfs: an ApsaraVideo VOD media library as a read-only drive (FUSE).

Usage:
  vodfs [OPTIONS] SOURCE MOUNTPOINT     mount (SOURCE: a region such as cn-shanghai,
                                        vod:REGION, or an API endpoint URL)
  vodfs api OPERATION [Name=Value ...]  sign and send one API call, print the JSON
  vodfs check [SOURCE]                  check credentials, endpoint, clock, listing, media
  vodfs prefetch PATH...                warm the cache for files or directories of a mount
  vodfs cache info|clear                show or empty the persistent cache
  vodfs index status|sync|clear [SOURCE] show, sync now, or delete the library index
  vodfs COMMAND --help                  the options of one command
  vodfs --version | --help

Unmount with: fusermount3 -u MOUNTPOINT (or SIGTERM/SIGINT to vodfs; SIGHUP reopens
the log file and syncs the index). Every option can be given as --name VALUE,
--name=VALUE, -o name=VALUE (comma-separated, as in /etc/fstab) or as a "name = value"
line in a --config file; names take dashes or underscores (--access-key-id,
-o access_key_id=...). Command line wins over the config file. Short forms:
-f foreground, -d debug, -s single thread, -o options.
)";
  out += OptionLines([](const OptionDef&) { return true; });
  out += R"(
Credentials, when no access-key-id or credentials-command is given, come from the
Alibaba Cloud chain: ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET/_SECURITY_TOKEN (or the
legacy ALICLOUD_* names), OIDC (ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN,
ALIBABA_CLOUD_OIDC_TOKEN_FILE), the aliyun CLI profile (~/.aliyun/config.json),
~/.alibabacloud/credentials, the ECS RAM role, then ALIBABA_CLOUD_CREDENTIALS_URI.
--role-arn assumes a RAM role on top of whichever was found.

Documentation: man vodfs, /usr/share/doc/vodfs (CONFIGURATION.md: every option;
SEMANTICS.md: what vodfs promises), or docs/ in the source tree.
)";
  return out;
}

std::string CommandHelpText(std::string_view command) {
  for (const auto& c : CommandHelps()) {
    if (command != c.name) continue;
    std::string out = std::string("Usage: ") + c.usage + "\n\n" + c.what;
    std::string lines = OptionLines([&c](const OptionDef& d) {
      return std::find(c.sections.begin(), c.sections.end(), d.section) != c.sections.end() ||
             std::find(c.names.begin(), c.names.end(), d.name) != c.names.end();
    });
    out += lines.empty() ? "\nIt takes no options.\n" : lines;
    out += "\nvodfs --help lists every option; names take dashes or underscores.\n";
    return out;
  }
  return HelpText();
}

}  // namespace vodfs::cli
