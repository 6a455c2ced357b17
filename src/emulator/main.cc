// vodfs-emulator: runs the VOD emulator, or makes the demo library.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "emulator/demo_maker.h"
#include "emulator/emulator.h"
#include "vodfs/util/log.h"
#include "vodfs/util/strings.h"
#include "vodfs/version.h"

namespace {

using vodfs::emu::EmulatorOptions;
using vodfs::emu::SyntheticOptions;

constexpr const char* kUsage = R"(Usage:
  vodfs-emulator [OPTIONS]             run the VOD emulator until SIGINT/SIGTERM
  vodfs-emulator make-demo DIR         make the demo library in DIR (needs ffmpeg)

Library (one of):
  --library DIR              a folder with manifest.json and media files
  --synthetic N              N synthetic videos (bytes computed, no disk)
      --synthetic-audio N    also N audio-only media
      --synthetic-images N   also N uploaded images
      --synthetic-size SIZE  source size, e.g. 1G (default 1M); streams are fractions
      --synthetic-seed N     seed of titles, ids and bytes (default 1)
      --synthetic-hls        give every video an m3u8 stream with segments
      --exact-sizes          no per-video size jitter
      --status-mix           some media Transcoding or UploadFail
      --hostile-titles       some titles with '/', '..', emoji, NUL, 300 bytes

Network:
  --bind ADDR                address of the API and media servers (127.0.0.1)
  --api-port N --oss-port N --cdn-port N --control-port N
                             ports (0 = pick a free one, the default)
  --imds-port N              also serve ECS instance metadata (RAM role credentials)
  --address-file PATH        write the bound URLs as JSON here once listening

API:
  --access-key-id ID --access-key-secret SECRET
                             an account the API accepts (repeatable pairs;
                             default: the demo account)
  --credentials-file FILE    accounts from JSON {"ID": "SECRET", ...}
  --region ID                region in endpoints and bodies (cn-shanghai)
  --qps-scale F              multiply the documented QPS limits (1; 0 = off)

Media:
  --oss-bucket NAME          bucket name (outin-emulator)
  --oss-public               unsigned OSS URLs (public-read bucket)
  --cdn-auth A|B|C|none      CDN URL signing type (A)
  --cdn-key KEY              CDN signing key (repeat for primary and backup)
  --cdn-auth-delta S         validity window of CDN signatures (1800)
  --cdn-type-c-query         type C signatures as KEY1/KEY2 parameters
  --no-cdn                   no CDN domain: every URL is an OSS URL
  --referer-allow DOMAIN     CDN Referer allow-list (repeatable); empty refused
  --allow-empty-referer      ...unless this is given
  --auth-timeout S           default URL lifetime (3600)
  --external-origin URL      hand out (OSS-signed) URLs on this web server instead
  --imds-role NAME           RAM role name served by --imds-port
  --imds-require-token       refuse metadata requests without an IMDSv2 token

Other:
  --log-requests             log every request (never secrets)
  --log-level LEVEL          debug, info, warn, error
  --version, --help

The control endpoint (loopback only) accepts: GET /counters, POST /reset,
GET|POST|DELETE /faults, POST /replace, POST /url-lifetime, GET|POST /time,
POST /sts, POST /imds, GET /library, POST /library/changes (add, modify,
delete media and images), GET /media?index=N|id=ID, GET /images,
GET /asset?key=K[&sha256=1]. See docs/EMULATOR.md.
)";

bool WriteFileAtomic(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return false;
    out << data;
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

int Fail(const std::string& msg) {
  std::cerr << "vodfs-emulator: " << vodfs::log::Redact(msg) << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "make-demo") {
    if (args.size() != 2) return Fail("usage: vodfs-emulator make-demo DIR");
    vodfs::Status s = vodfs::emu::MakeDemoLibrary(args[1]);
    if (!s.ok()) return Fail(s.ToString());
    std::cout << "demo library written to " << args[1] << "\n";
    return 0;
  }

  EmulatorOptions opt;
  SyntheticOptions syn;
  std::string library_dir, address_file;
  bool synthetic = false, custom_accounts = false, custom_cdn_keys = false;
  std::string pending_id;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    auto number = [&](auto* out) {
      std::string v;
      if (!value(&v)) return false;
      auto n = vodfs::str::ParseInt64(v);
      if (!n || *n < 0) return false;
      *out = static_cast<std::remove_pointer_t<decltype(out)>>(*n);
      return true;
    };
    std::string v;
    bool ok = true;
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--version") {
      std::cout << "vodfs-emulator " << vodfs::kVersion << "\n";
      return 0;
    } else if (a == "--library") {
      ok = value(&library_dir);
    } else if (a == "--synthetic") {
      ok = number(&syn.videos);
      synthetic = true;
    } else if (a == "--synthetic-audio") {
      ok = number(&syn.audio);
    } else if (a == "--synthetic-images") {
      ok = number(&syn.images);
    } else if (a == "--synthetic-size") {
      ok = value(&v);
      auto s = vodfs::str::ParseSize(v);
      ok = ok && s && *s > 0;
      if (ok) syn.video_size = *s;
    } else if (a == "--synthetic-seed") {
      ok = number(&syn.seed);
    } else if (a == "--synthetic-hls") {
      syn.hls = true;
    } else if (a == "--exact-sizes") {
      syn.exact_sizes = true;
    } else if (a == "--status-mix") {
      syn.status_mix = true;
    } else if (a == "--hostile-titles") {
      syn.hostile_titles = true;
    } else if (a == "--bind") {
      ok = value(&opt.bind);
    } else if (a == "--api-port") {
      ok = number(&opt.api_port);
    } else if (a == "--oss-port") {
      ok = number(&opt.oss_port);
    } else if (a == "--cdn-port") {
      ok = number(&opt.cdn_port);
    } else if (a == "--control-port") {
      ok = number(&opt.control_port);
    } else if (a == "--imds-port") {
      ok = number(&opt.imds_port);
    } else if (a == "--address-file") {
      ok = value(&address_file);
    } else if (a == "--access-key-id") {
      ok = value(&pending_id);
    } else if (a == "--access-key-secret") {
      ok = value(&v) && !pending_id.empty();
      if (ok) {
        if (!custom_accounts) opt.accounts.clear();
        custom_accounts = true;
        opt.accounts[pending_id] = v;
        pending_id.clear();
      }
    } else if (a == "--credentials-file") {
      ok = value(&v);
      std::ifstream in(v);
      std::stringstream ss;
      ss << in.rdbuf();
      auto j = nlohmann::json::parse(ss.str(), nullptr, false);
      if (!in || j.is_discarded() || !j.is_object()) return Fail("cannot read credentials file " + v);
      if (!custom_accounts) opt.accounts.clear();
      custom_accounts = true;
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.value().is_string()) opt.accounts[it.key()] = it.value().get<std::string>();
      }
    } else if (a == "--region") {
      ok = value(&opt.region);
    } else if (a == "--qps-scale") {
      ok = value(&v);
      auto d = vodfs::str::ParseDouble(v);
      ok = ok && d && *d >= 0;
      if (ok) opt.qps_scale = *d;
    } else if (a == "--oss-bucket") {
      ok = value(&opt.oss_bucket);
    } else if (a == "--oss-public") {
      opt.oss_private = false;
    } else if (a == "--cdn-auth") {
      ok = value(&v);
      auto t = vodfs::auth::ParseCdnAuthType(v);
      ok = ok && t.has_value();
      if (ok) opt.cdn_auth = *t;
    } else if (a == "--cdn-key") {
      ok = value(&v) && v.size() >= 6;
      if (ok) {
        if (!custom_cdn_keys) opt.cdn_keys.clear();
        custom_cdn_keys = true;
        opt.cdn_keys.push_back(v);
      }
    } else if (a == "--cdn-auth-delta") {
      ok = number(&opt.cdn_auth_delta);
    } else if (a == "--cdn-type-c-query") {
      opt.cdn_type_c_query = true;
    } else if (a == "--no-cdn") {
      opt.cdn_enabled = false;
    } else if (a == "--referer-allow") {
      ok = value(&v);
      opt.referer_allow.push_back(v);
    } else if (a == "--allow-empty-referer") {
      opt.allow_empty_referer = true;
    } else if (a == "--auth-timeout") {
      ok = number(&opt.default_auth_timeout) && opt.default_auth_timeout > 0;
    } else if (a == "--external-origin") {
      ok = value(&opt.external_origin);
      while (!opt.external_origin.empty() && opt.external_origin.back() == '/') opt.external_origin.pop_back();
    } else if (a == "--imds-role") {
      ok = value(&opt.imds_role);
    } else if (a == "--imds-require-token") {
      opt.imds_require_token = true;
    } else if (a == "--log-requests") {
      opt.log_requests = true;
    } else if (a == "--log-level") {
      vodfs::log::Level level;
      ok = value(&v) && vodfs::log::ParseLevel(v, &level);
      if (ok) vodfs::log::SetLevel(level);
    } else {
      return Fail("unknown option " + a + " (see --help)");
    }
    if (!ok) return Fail("bad or missing value for " + a + " (see --help)");
  }
  if (!pending_id.empty()) return Fail("--access-key-id needs a following --access-key-secret");
  if (synthetic == !library_dir.empty()) {
    return Fail("give exactly one of --library DIR or --synthetic N (see --help)");
  }

  std::unique_ptr<vodfs::emu::Library> library;
  if (synthetic) {
    library = vodfs::emu::MakeSyntheticLibrary(syn);
  } else {
    auto lib = vodfs::emu::LoadManifestLibrary(library_dir);
    if (!lib.ok()) return Fail(lib.error().ToString());
    library = std::move(lib).value();
  }
  const std::string description = library->Describe();

  // Signals are handled by sigwait in this thread only.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  vodfs::emu::Emulator emulator(opt, std::move(library));
  vodfs::Status s = emulator.Start();
  if (!s.ok()) return Fail(s.ToString());
  const std::string addresses = emulator.Addresses().dump(2) + "\n";
  if (!address_file.empty() && !WriteFileAtomic(address_file, addresses)) {
    return Fail("cannot write " + address_file);
  }
  VODFS_LOG(kInfo) << "vodfs-emulator " << vodfs::kVersion << " serving " << description;
  VODFS_LOG(kInfo) << "API " << emulator.api_url() << "  OSS " << emulator.oss_url() << "  CDN "
                   << emulator.cdn_url() << " (URL signing "
                   << vodfs::auth::CdnAuthTypeName(opt.cdn_auth) << ")  control "
                   << emulator.control_url();
  int sig = 0;
  sigwait(&set, &sig);
  VODFS_LOG(kInfo) << "stopping on signal " << sig;
  emulator.Stop();
  return 0;
}
