// What a mount reports about itself: one snapshot of every module's
// counters, rendered as the JSON of .vodfs/stats or as Prometheus text for
// the opt-in metrics endpoint. Both renderings come from the same snapshot,
// so they never disagree.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "cli/process_metrics.h"
#include "fuse/fuse_adapter.h"
#include "vodfs/cache/block_cache.h"
#include "vodfs/cache/disk_tier.h"
#include "vodfs/core/vodfs.h"
#include "vodfs/fetch/fetcher.h"
#include "vodfs/http/http_client.h"
#include "vodfs/http/http_server.h"
#include "vodfs/ns/namespace.h"
#include "vodfs/read/reader.h"
#include "vodfs/shared_cache/memcached_tier.h"
#include "vodfs/resolve/url_broker.h"
#include "vodfs/sync/syncer.h"
#include "vodfs/util/metrics.h"
#include "vodfs/vod/rpc.h"

namespace vodfs::cli {

struct MountSnapshot {
  std::string version;
  std::string metrics_url;  // where Prometheus metrics are served, if anywhere
  int64_t uptime_seconds = 0;  // .vodfs/stats; Prometheus gets the start time
  ProcessStats process;
  vod::RpcStats rpc;
  http::ClientStats api_http;
  http::ClientStats media_http;
  fetch::FetchStats fetch;
  resolve::BrokerStats urls;
  cache::CacheStats memory;
  uint64_t memory_budget = 0;
  bool disk_enabled = false;
  std::string disk_dir;
  cache::DiskStats disk;
  bool shared_enabled = false;
  std::string shared_servers;
  shared_cache::SharedCacheStats shared;
  core::CoreStats reads;
  read::ReaderStats reader;
  ns::NsStats names;
  std::string index_path;
  sync::SyncStats sync;
  sync::SyncProgress sync_progress;
  bool index_complete = false;
  std::array<LatencyHistogram::Snapshot, static_cast<size_t>(fusefs::FuseOp::kCount)> fuse{};
};

// The live objects a snapshot is taken from (any may be null but rpc..names).
struct MountSources {
  std::string version;
  std::string metrics_url;
  std::chrono::steady_clock::time_point started;
  const vod::RpcClient* rpc = nullptr;
  const http::HttpClient* api_http = nullptr;
  const http::HttpClient* media_http = nullptr;
  const fetch::RangeFetcher* fetcher = nullptr;
  const resolve::UrlBroker* broker = nullptr;
  const cache::BlockCache* cache = nullptr;
  const cache::DiskTier* disk = nullptr;
  const shared_cache::MemcachedTier* shared = nullptr;
  const core::VodFs* fs = nullptr;
  const read::Reader* reader = nullptr;
  const ns::Namespace* names = nullptr;
  const sync::Syncer* syncer = nullptr;
  std::string index_path;
  const fusefs::FuseOpLatencies* fuse = nullptr;
};

MountSnapshot TakeSnapshot(const MountSources& s);
std::string StatsJson(const MountSnapshot& s);
std::string PrometheusText(const MountSnapshot& s);

// Serves GET /metrics on a loopback address ("127.0.0.1:9464", "[::1]:0",
// "localhost:9464"); anything that is not loopback is refused.
class MetricsServer {
 public:
  // Connections served at once (more get 503): a Prometheus server keeps
  // one per scrape target, so 8 leave room for a few scrapers and a curl
  // while a local client looping on connect() cannot pile up threads.
  static constexpr size_t kMaxConnections = 8;

  explicit MetricsServer(std::function<std::string()> render);
  ~MetricsServer();
  // Binds (errors are reported here, before mounting) ...
  Status Listen(const std::string& address);
  // ... and serves from a thread of its own (after any daemonising fork).
  void Serve();
  void Stop();
  std::string BaseUrl() const;

 private:
  std::function<std::string()> render_;
  std::unique_ptr<http::HttpServer> server_;
};

}  // namespace vodfs::cli
