// vodfs SOURCE MOUNTPOINT: composes the filesystem and serves it.
//
// Order matters (see docs/ARCHITECTURE.md): everything is built on one
// thread, the library is listed once (a bad setup fails here, before
// mounting), the mount is made, the process detaches, and only then are
// worker threads started (threads do not survive fork()).
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <iostream>

#include "cli/api_errors.h"
#include "cli/api_stack.h"
#include "cli/commands.h"
#include "cli/index_setup.h"
#include "cli/mount_metrics.h"
#include "cli/sd_notify.h"
#include "cli/startup_checks.h"
#include "fuse/fuse_adapter.h"
#include "vodfs/cache/block_cache.h"
#include "vodfs/cache/disk_tier.h"
#include "vodfs/core/origin_reader.h"
#include "vodfs/core/vodfs.h"
#include "vodfs/fetch/fetcher.h"
#include "vodfs/fetch/version_table.h"
#include "vodfs/ns/namespace.h"
#include "vodfs/read/reader.h"
#include "vodfs/shared_cache/fleet_tier.h"
#include "vodfs/shared_cache/memcached_tier.h"
#include "vodfs/resolve/url_broker.h"
#include "vodfs/resolve/vod_resolver.h"
#include "vodfs/sync/syncer.h"
#include "vodfs/util/executor.h"
#include "vodfs/util/log.h"
#include "vodfs/util/strings.h"
#include "vodfs/util/url.h"
#include "vodfs/version.h"

namespace vodfs::cli {

namespace {

int Fail(const std::string& msg) {
  std::cerr << "vodfs: " << log::Redact(msg) << "\n";
  VODFS_LOG(kError) << msg;
  return 1;
}

std::string Absolute(const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof(cwd))) return p;
  return std::string(cwd) + "/" + p;
}

}  // namespace

int RunMount(const Options& in) {
  // Blocks are allocated by one thread and freed by another: with glibc's
  // per-thread arenas every arena keeps its own share of freed blocks and
  // the process outgrows its cache budget. One arena reuses them instead
  // (small allocations stay in each thread's own cache).
  mallopt(M_ARENA_MAX, 1);
  Options o = in;
  if (o.positional.size() != 2) {
    std::cerr << "usage: vodfs [OPTIONS] SOURCE MOUNTPOINT (see vodfs --help)\n";
    return 2;
  }
  const std::string source = o.positional[0];
  if (Status s = CheckMountPoint(o.positional[1], o.nonempty); !s.ok()) return Fail(s.error().message);
  char real[PATH_MAX];
  if (!realpath(o.positional[1].c_str(), real)) return Fail("the mount point " + o.positional[1] + " does not exist");
  const std::string mountpoint = real;
  o.log_file = Absolute(o.log_file);
  o.cache_dir = Absolute(o.cache_dir);
  if (Status s = SetUpLogging(o, false); !s.ok()) return Fail(s.error().message);
  for (const auto& w : MountWarnings(o, getuid(), getgid())) {
    std::cerr << "vodfs: warning: " << w << "\n";
    VODFS_LOG(kWarn) << w;
  }

  SystemClock& clock = SystemClock::Get();
  auto built = BuildApiStack(o, source, clock);
  if (!built.ok()) return Fail(built.error().ToString());
  ApiStack& api = **built;
  for (const auto& w : api.credentials->Warnings()) std::cerr << "vodfs: warning: " << w << "\n";
  auto creds = api.credentials->Get();
  if (!creds.ok()) return Fail(creds.error().message);

  // Media requests go through their own client (own connections, stats, UA).
  http::CurlOptions media_http_options;
  media_http_options.ca_file = o.ca_file;
  media_http_options.ca_path = o.ca_path;
  media_http_options.user_agent = o.media_user_agent;
  media_http_options.max_idle_connections = 128;
  media_http_options.receive_buffer = 128 << 10;  // fewer, larger reads of each body
  auto media_http = http::NewCurlHttpClient(media_http_options);
  http::Headers media_headers;
  if (!o.referer.empty()) media_headers.emplace_back("Referer", o.referer);

  Executor io(16, "vodfs-io");
  Executor url_refresh(2, "vodfs-urls");
  Executor readahead(32, "vodfs-ahead");

  const vod::OutputType output = o.output_type == "oss" ? vod::OutputType::kOss : vod::OutputType::kCdn;
  resolve::ResolverOptions ro;
  ro.output_type = output;
  ro.auth_timeout = o.auth_timeout;
  ro.all_streams = o.all_streams;
  ro.media_headers = media_headers;
  resolve::VodUrlResolver resolver(*api.vod, *media_http, ro);
  resolve::BrokerOptions bo;
  bo.auth_timeout = o.auth_timeout;
  bo.cdn_auth_delta = o.cdn_auth_delta;
  bo.cdn_key = o.cdn_auth_key;
  if (o.cdn_auth_type != "auto") bo.cdn_type = *auth::ParseCdnAuthType(o.cdn_auth_type);
  resolve::UrlBroker broker(resolver, clock, &url_refresh, bo);
  fetch::FetchOptions fo;
  fo.headers = media_headers;
  fo.retry.budget = std::chrono::seconds(o.retry_budget);
  fo.stall_timeout = std::chrono::seconds(o.stall_timeout);
  fetch::RangeFetcher fetcher(*media_http, broker, clock, fo);
  fetch::VersionTable versions;

  const uint64_t budget = o.memory_cache_size;
  const size_t shards = static_cast<size_t>(std::clamp<uint64_t>(budget / (32ULL << 20), 1, 16));
  std::unique_ptr<cache::DiskTier> disk;
  if (o.disk_cache) {
    cache::DiskTierOptions dopt;
    dopt.dir = Absolute(CacheDir(o));
    dopt.quota = DiskQuota(o, dopt.dir);
    dopt.block_size = o.block_size;
    // Blocks waiting to be written may already be gone from the memory
    // tier: their memory counts on top of its budget, so keep it small.
    dopt.max_pending_bytes = std::clamp<uint64_t>(budget / 16, 8ULL << 20, 64ULL << 20);
    // A fresh account has no ~/.cache: make the whole path.
    Status made = MakePrivateDirs(dopt.dir);
    auto d = made.ok() ? cache::DiskTier::Open(dopt) : Result<std::unique_ptr<cache::DiskTier>>(made.error());
    if (d.ok()) {
      disk = std::move(d).value();
    } else {
      // The cache makes vodfs faster, never required: go on without it.
      std::cerr << "vodfs: warning: no disk cache: " << d.error().message << "\n";
      VODFS_LOG(kWarn) << "no disk cache: " << d.error().message;
    }
  }
  // A fleet's shared block tier, behind this machine's disk tier.
  std::unique_ptr<shared_cache::MemcachedTier> shared;
  std::unique_ptr<shared_cache::FleetTier> fleet_tier;
  if (!o.shared_cache.empty()) {
    auto mo = shared_cache::ParseMemcachedUrl(o.shared_cache);
    if (!mo.ok()) return Fail("shared-cache: " + mo.error().message);
    auto t = shared_cache::MemcachedTier::Open(*mo);
    if (!t.ok()) return Fail("cannot use the shared cache " + o.shared_cache + ": " + t.error().message);
    shared = std::move(t).value();
    fleet_tier = std::make_unique<shared_cache::FleetTier>(disk.get(), disk.get(), *shared);
    VODFS_LOG(kInfo) << "Blocks are shared with the fleet on " << shared->Describe();
  }
  cache::SecondTier* second = fleet_tier ? static_cast<cache::SecondTier*>(fleet_tier.get()) : disk.get();
  cache::VersionStore* versions_kept = fleet_tier ? static_cast<cache::VersionStore*>(fleet_tier.get()) : disk.get();
  cache::BlockCache cache(budget, shards);

  // The library index: what the tree is served from.
  const std::string index_path = index::IsPostgresLocation(IndexPath(o)) ? IndexPath(o) : Absolute(IndexPath(o));
  auto opened = OpenIndex(index_path);
  if (!opened.ok()) return Fail("cannot open the library index: " + opened.error().message);
  std::unique_ptr<index::IndexStore> store = std::move(opened).value();
  sync::SyncOptions sy;
  sy.id_names = o.name_scheme == "id";
  sy.interval = o.sync_interval;
  sy.full_interval = o.full_sync_interval;
  sy.identity = LibraryIdentity(api.endpoint, creds->access_key_id);
  sync::Syncer syncer(*api.vod, *store, clock, io, sy);
  if (Status s = syncer.Init(); !s.ok()) return Fail("cannot read the library index: " + s.ToString());

  ns::NsOptions no;
  no.id_names = o.name_scheme == "id";
  no.details_ttl = o.details_ttl;
  no.all_streams = o.all_streams;
  no.output_type = output;
  no.auth_timeout = o.auth_timeout;
  no.version_time = kBuildTime;
  no.version_text = std::string("vodfs ") + kVersion + (kGitDescribe[0] ? std::string(" (") + kGitDescribe + ")" : "") + "\n";
  core::FetcherOrigin origin_reader(fetcher, versions);
  ns::Namespace names(*api.vod, broker, origin_reader, *store, syncer, io, clock, no);
  if (Status s = names.Init(); !s.ok()) return Fail("cannot read the library index: " + s.ToString());
  syncer.SetListener(&names);

  core::CoreOptions co;
  co.uid = o.uid.value_or(getuid());
  co.gid = o.gid.value_or(getgid());
  co.umask = o.umask;
  co.file_mode = o.file_mode;
  co.dir_mode = o.dir_mode;
  co.attr_timeout = o.attr_timeout;
  co.entry_timeout = o.entry_timeout;
  co.negative_timeout = o.negative_timeout;
  co.block_size = o.block_size;
  read::ReaderOptions rdo;
  rdo.block_size = o.block_size;
  rdo.head.block_size = o.block_size;
  rdo.ahead.block_size = o.block_size;
  rdo.ahead.max = o.readahead_max;
  rdo.ahead.max_parallel = static_cast<uint64_t>(o.max_parallel_fetches);
  rdo.readahead = o.readahead_max > 0;
  core::NamespaceEvents reader_events(names);
  read::Reader reader(fetcher, versions, cache, second, versions_kept, &readahead, reader_events, rdo);
  core::VodFs fs(names, reader, co);

  fusefs::FuseOpLatencies latencies;
  MountSources sources;
  sources.version = kVersion;
  sources.started = std::chrono::steady_clock::now();
  sources.rpc = api.rpc.get();
  sources.api_http = api.http.get();
  sources.media_http = media_http.get();
  sources.fetcher = &fetcher;
  sources.broker = &broker;
  sources.cache = &cache;
  sources.disk = disk.get();
  sources.shared = shared.get();
  sources.fs = &fs;
  sources.reader = &reader;
  sources.names = &names;
  sources.syncer = &syncer;
  sources.index_path = index_path;
  sources.fuse = &latencies;
  names.SetStatsSource([&sources] { return StatsJson(TakeSnapshot(sources)); });
  MetricsServer metrics([&sources] { return PrometheusText(TakeSnapshot(sources)); });
  if (!o.metrics_address.empty()) {
    if (Status s = metrics.Listen(o.metrics_address); !s.ok()) return Fail(s.error().message);
    sources.metrics_url = metrics.BaseUrl() + "/metrics";
  }

  // With an index, the tree is served at once and synced behind it: no API
  // call comes before the first listing. Without one, one call checks the
  // setup (credentials, endpoint, permissions), so that a broken one fails
  // here rather than as listings that never come.
  if (!syncer.Complete()) {
    vod::CategoryRequest probe;
    probe.page_size = 1;
    if (auto r = api.vod->GetCategories(probe); !r.ok()) {
      return Fail("cannot use the library: " + ExplainApiError(r.error(), api.endpoint, creds->access_key_id).text);
    }
  }

  fusefs::SessionOptions so;
  so.mountpoint = mountpoint;
  if (o.fsname.empty()) {
    auto u = Url::Parse(api.endpoint);
    so.fsname = "vodfs:" + (o.endpoint.empty() && !str::StartsWith(source, "http") ? api.region
                                                                                    : (u ? u->host : api.endpoint));
  } else {
    so.fsname = o.fsname;
  }
  for (char& c : so.fsname) {
    if (c == ',' || c == ' ') c = '_';
  }
  so.debug = o.debug;
  so.single_thread = o.single_thread;
  so.allow_other = o.allow_other;
  so.allow_root = o.allow_root;
  so.auto_unmount = o.auto_unmount;
  so.latencies = &latencies;
  so.max_readahead = static_cast<uint32_t>(std::min<uint64_t>(o.kernel_readahead, 1ULL << 30));
  so.on_hangup = [&o, &syncer] {
    // Reopen the log (logrotate moved it), and sync the index now.
    if (Status s = SetUpLogging(o, !o.foreground); !s.ok()) VODFS_LOG(kWarn) << s.ToString();
    VODFS_LOG(kInfo) << "SIGHUP: the log was reopened; syncing the index now";
    syncer.RequestSync();
  };
  fusefs::Session session(fs, so);
  names.SetNotifier(&session);
  if (Status s = session.Mount(); !s.ok()) return Fail(s.error().message);
  VODFS_LOG(kInfo) << "mounted " << so.fsname << " on " << mountpoint << " (" << api.endpoint << ")";
  if (!o.foreground) {
    if (Status s = SetUpLogging(o, true); !s.ok()) return Fail(s.error().message);
    // No index connection crosses the fork: its locks would stay the
    // parent's.
    store->db().CloseIdle();
    if (Status s = session.Daemonize(false); !s.ok()) return Fail(s.error().message);
  }
  io.Start();
  url_refresh.Start();
  readahead.Start();
  names.Start();
  syncer.Start();
  if (disk) disk->Start();
  if (!o.metrics_address.empty()) {
    metrics.Serve();
    VODFS_LOG(kInfo) << "metrics on " << sources.metrics_url;
  }
  // systemd (Type=notify): the drive is usable now.
  const std::string pid = o.foreground ? "" : "\nMAINPID=" + std::to_string(getpid());
  if (Status s = Notify("READY=1\nSTATUS=mounted on " + mountpoint + pid); !s.ok()) VODFS_LOG(kWarn) << s.ToString();
  Status loop = session.Loop();
  (void)Notify("STOPPING=1");
  VODFS_LOG(kInfo) << "unmounting " << mountpoint;
  names.SetNotifier(nullptr);
  metrics.Stop();
  session.Unmount();
  syncer.Stop();
  names.Stop();
  readahead.Stop();
  url_refresh.Stop();
  io.Stop();
  if (disk) disk->Stop();
  if (!loop.ok()) return Fail(loop.error().message);
  return 0;
}

}  // namespace vodfs::cli
