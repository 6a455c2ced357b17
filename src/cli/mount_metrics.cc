#include "cli/mount_metrics.h"

#include "vodfs/util/time_format.h"

#include <arpa/inet.h>

#include <nlohmann/json.hpp>

#include "cli/index_setup.h"
#include "vodfs/util/strings.h"

namespace vodfs::cli {

using nlohmann::json;

MountSnapshot TakeSnapshot(const MountSources& s) {
  MountSnapshot m;
  m.version = s.version;
  m.metrics_url = s.metrics_url;
  m.uptime_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - s.started).count();
  m.process = ReadProcessStats();
  if (s.rpc) m.rpc = s.rpc->Stats();
  if (s.api_http) m.api_http = s.api_http->Stats();
  if (s.media_http) m.media_http = s.media_http->Stats();
  if (s.fetcher) m.fetch = s.fetcher->Stats();
  if (s.broker) m.urls = s.broker->Stats();
  if (s.cache) {
    m.memory = s.cache->Stats();
    m.memory_budget = s.cache->budget();
  }
  if (s.disk) {
    m.disk_enabled = true;
    m.disk_dir = s.disk->options().dir;
    m.disk = s.disk->Stats();
  }
  if (s.shared) {
    m.shared_enabled = true;
    m.shared_servers = s.shared->Describe();
    m.shared = s.shared->Stats();
  }
  if (s.fs) m.reads = s.fs->Stats();
  if (s.reader) m.reader = s.reader->Stats();
  if (s.names) m.names = s.names->Stats();
  // A PostgreSQL index is named by a connection string: never its password.
  m.index_path = ShownIndexPath(s.index_path);
  if (s.syncer) {
    m.sync = s.syncer->Stats();
    m.sync_progress = s.syncer->Progress();
    m.index_complete = s.syncer->Complete();
  }
  if (s.fuse) {
    for (size_t i = 0; i < m.fuse.size(); ++i) m.fuse[i] = s.fuse->ops[i].Take();
  }
  return m;
}

namespace {

std::string Iso(int64_t t) { return t > 0 ? timefmt::FormatIso8601(t) : ""; }

json StatusCounts(const std::vector<std::pair<int, uint64_t>>& by_status) {
  json j = json::object();
  for (const auto& [s, n] : by_status) j[std::to_string(s)] = n;
  return j;
}

double Ms(double seconds) { return static_cast<double>(static_cast<int64_t>(seconds * 1e6)) / 1e3; }

}  // namespace

std::string StatsJson(const MountSnapshot& s) {
  json disk = {{"enabled", s.disk_enabled}};
  if (s.disk_enabled) {
    disk = {{"enabled", true},          {"dir", s.disk_dir},
            {"quota", s.disk.quota},    {"bytes", s.disk.bytes},
            {"extents", s.disk.extents}, {"hits", s.disk.hits},
            {"misses", s.disk.misses},  {"corrupt", s.disk.corrupt},
            {"evictions", s.disk.evictions}, {"writes", s.disk.writes},
            {"write_waits", s.disk.write_waits}, {"dropped_writes", s.disk.dropped_writes},
            {"write_errors", s.disk.write_errors}};
  }
  json fuse = json::object();
  for (size_t i = 0; i < s.fuse.size(); ++i) {
    const auto& h = s.fuse[i];
    if (h.count == 0) continue;
    fuse[fusefs::FuseOpName(static_cast<fusefs::FuseOp>(i))] = {{"count", h.count},
                                                                 {"mean_ms", Ms(h.MeanSeconds())},
                                                                 {"p50_ms", Ms(h.QuantileSeconds(0.5))},
                                                                 {"p99_ms", Ms(h.QuantileSeconds(0.99))}};
  }
  uint64_t api_calls = 0;
  for (const auto& [op, n] : s.rpc.calls) api_calls += n;
  json j = {
      {"version", s.version},
      {"uptime_seconds", s.uptime_seconds},
      {"metrics_url", s.metrics_url},
      {"api",
       {{"calls", s.rpc.calls},
        {"calls_total", api_calls},
        {"failures", s.rpc.failures},
        {"retries", s.rpc.retries},
        {"throttled", s.rpc.throttled},
        {"http_requests", s.api_http.requests},
        {"http_by_status", StatusCounts(s.api_http.by_status)}}},
      {"media",
       {{"http_requests", s.media_http.requests},
        {"http_failures", s.media_http.failures},
        {"http_by_status", StatusCounts(s.media_http.by_status)},
        {"connections", s.media_http.connections_made},
        {"bytes_fetched", s.media_http.bytes_received},
        {"range_requests", s.fetch.requests},
        {"retries", s.fetch.retries},
        {"rejections", s.fetch.rejections},
        {"ignored_ranges", s.fetch.ignored_ranges},
        {"bad_ranges", s.fetch.bad_ranges},
        {"stalls", s.fetch.stalls},
        {"version_changes", s.fetch.stale}}},
      {"urls",
       {{"api_refreshes", s.urls.api_refreshes},
        {"local_resignings", s.urls.local_resignings},
        {"rejections", s.urls.rejections},
        {"background_refreshes", s.urls.background_refreshes}}},
      {"cache",
       {{"memory",
         {{"budget", s.memory_budget},
          {"bytes", s.memory.bytes},
          {"blocks", s.memory.blocks},
          {"hits", s.memory.hits},
          {"misses", s.memory.misses},
          {"collapsed", s.memory.collapsed},
          {"abandoned", s.memory.abandoned},
          {"evictions", s.memory.evictions},
          {"pinned_bytes", s.memory.pinned_bytes}}},
        {"disk", disk},
        {"shared",
         s.shared_enabled ? json{{"enabled", true},
                                 {"servers", s.shared_servers},
                                 {"hits", s.shared.hits},
                                 {"misses", s.shared.misses},
                                 {"rejected", s.shared.rejected},
                                 {"errors", s.shared.errors},
                                 {"puts", s.shared.puts},
                                 {"put_errors", s.shared.put_errors}}
                          : json{{"enabled", false}}}}},
      {"reads",
       {{"opens", s.reads.opens},
        {"reads", s.reads.reads},
        {"bytes_served", s.reads.bytes_read},
        {"stale", s.reads.stale_reads},
        {"corrupt", s.reads.corrupt_reads},
        {"errors", s.reads.read_errors},
        {"blocks_from_disk", s.reader.loader.local_blocks},
        {"blocks_from_origin", s.reader.loader.origin_blocks},
        {"origin_requests", s.reader.loader.origin_runs},
        {"readahead_blocks", s.reads.readahead_blocks},
        {"readahead_resets", s.reads.readahead_resets},
        {"index_prefetches", s.reads.index_prefetches},
        {"open_handles", s.reads.open_handles}}},
      {"integrity",
       {{"objects_verified", s.reader.verifier.verified},
        {"objects_corrupt", s.reader.verifier.mismatches},
        {"objects_dropped", s.reader.loader.condemned},
        {"blocks_without_crc64", s.reader.verifier.unverifiable},
        {"objects_tracked", s.reader.verifier.tracked}}},
      {"namespace",
       {{"entries", s.names.entries},
        {"details_fetched", s.names.details_fetched},
        {"details_loaded", s.names.details_loaded},
        {"details_refreshed", s.names.details_refreshed},
        {"probes", s.names.probes},
        {"hot_dirs", s.names.hot_dirs},
        {"hot_bytes", s.names.hot_bytes},
        {"index_queries", s.names.index_queries},
        {"listing_waits", s.names.listing_waits},
        {"changes_applied", s.names.changes_applied},
        {"invalidations", s.names.invalidations}}},
      {"index",
       {{"path", s.index_path},
        {"complete", s.index_complete},
        {"generation", s.sync.generation},
        {"leader", s.sync.leader},
        {"syncs", s.sync.syncs},
        {"full_syncs", s.sync.full_syncs},
        {"failures", s.sync.failures},
        {"api_calls", s.sync.api_calls},
        {"last_sync_at", Iso(s.sync.last_sync_at)},
        {"last_full_at", Iso(s.sync.last_full_at)},
        {"last_duration_seconds", s.sync.last_duration},
        {"last_calls", s.sync.last_calls},
        {"last_changes", s.sync.last_changes},
        {"last_error", s.sync.last_error},
        {"offline_since", Iso(s.sync.offline_since)},
        {"changes_delivered", s.sync.changes_delivered},
        {"watching", s.sync.watching},
        {"notifications", s.sync.notifications},
        {"leaderships", s.sync.leaderships},
        {"lost_leaderships", s.sync.lost_leaderships},
        {"fenced_syncs", s.sync.fenced_syncs},
        {"unreachable_since", Iso(s.sync.index_unreachable_since)},
        {"sync",
         {{"running", s.sync_progress.running},
          {"full", s.sync_progress.full},
          {"phase", s.sync_progress.phase},
          {"done", s.sync_progress.done},
          {"total", s.sync_progress.total},
          {"started_at", Iso(s.sync_progress.started_at)}}}}},
      {"fuse", fuse}};
  return j.dump(2) + "\n";
}

std::string PrometheusText(const MountSnapshot& s) {
  PromWriter w;
  auto counter = [&w](const std::string& name, const std::string& help, uint64_t v) {
    w.Counter("vodfs_" + name, help, v);
  };
  auto gauge = [&w](const std::string& name, const std::string& help, double v) { w.Gauge("vodfs_" + name, help, v); };

  w.Family("vodfs_build_info", "gauge", "The vodfs version, as a label.");
  w.Sample("vodfs_build_info", uint64_t{1}, {{"version", s.version}});
  // The process collector of the Prometheus client libraries, by its names
  // (no vodfs_ prefix): dashboards and alerts written for them apply.
  w.Family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
  w.Sample("process_cpu_seconds_total", s.process.cpu_seconds);
  w.Gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
          static_cast<double>(s.process.resident_bytes));
  w.Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", static_cast<double>(s.process.virtual_bytes));
  w.Gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
          s.process.start_time_seconds);
  w.Gauge("process_open_fds", "Number of open file descriptors.", static_cast<double>(s.process.open_fds));
  w.Gauge("process_max_fds", "Maximum number of open file descriptors.", static_cast<double>(s.process.max_fds));

  w.Family("vodfs_api_calls_total", "counter", "VOD API requests sent, by operation.");
  for (const auto& [op, n] : s.rpc.calls) w.Sample("vodfs_api_calls_total", n, {{"operation", op}});
  w.Family("vodfs_api_failures_total", "counter", "VOD API calls that failed after retries, by operation.");
  for (const auto& [op, n] : s.rpc.failures) w.Sample("vodfs_api_failures_total", n, {{"operation", op}});
  counter("api_retries_total", "VOD API requests retried.", s.rpc.retries);
  counter("api_throttled_total", "VOD API answers of Throttling.", s.rpc.throttled);

  // "code": the label name Prometheus's own HTTP metrics use for a status.
  w.Family("vodfs_http_requests_total", "counter", "HTTP answers received, by client and status code.");
  for (const auto& [st, n] : s.api_http.by_status) {
    w.Sample("vodfs_http_requests_total", n, {{"client", "api"}, {"code", std::to_string(st)}});
  }
  for (const auto& [st, n] : s.media_http.by_status) {
    w.Sample("vodfs_http_requests_total", n, {{"client", "media"}, {"code", std::to_string(st)}});
  }
  w.Family("vodfs_http_transport_failures_total", "counter", "HTTP requests without an answer, by client.");
  w.Sample("vodfs_http_transport_failures_total", s.api_http.failures, {{"client", "api"}});
  w.Sample("vodfs_http_transport_failures_total", s.media_http.failures, {{"client", "media"}});
  w.Family("vodfs_http_connections_total", "counter", "TCP connections opened, by client.");
  w.Sample("vodfs_http_connections_total", s.api_http.connections_made, {{"client", "api"}});
  w.Sample("vodfs_http_connections_total", s.media_http.connections_made, {{"client", "media"}});

  counter("origin_bytes_total", "Media bytes fetched from origins.", s.media_http.bytes_received);
  counter("served_bytes_total", "Bytes handed to readers.", s.reads.bytes_read);
  counter("range_requests_total", "Ranged media requests.", s.fetch.requests);
  counter("range_retries_total", "Ranged media requests retried.", s.fetch.retries);
  counter("range_rejections_total", "Media requests refused (401/403/410) and replayed on a fresh URL.",
          s.fetch.rejections);
  counter("ignored_ranges_total", "Range requests answered 200 with the whole object.", s.fetch.ignored_ranges);
  counter("bad_ranges_total", "206 answers with the wrong Content-Range (bytes not used).", s.fetch.bad_ranges);
  counter("version_changes_total", "Objects seen changing at the origin.", s.fetch.stale);

  w.Family("vodfs_url_refreshes_total", "counter", "Signed URLs renewed, by how.");
  w.Sample("vodfs_url_refreshes_total", s.urls.api_refreshes, {{"how", "api"}});
  w.Sample("vodfs_url_refreshes_total", s.urls.local_resignings, {{"how", "local_resign"}});
  w.Sample("vodfs_url_refreshes_total", s.urls.background_refreshes, {{"how", "background"}});
  counter("url_rejections_total", "Signed URLs an origin refused.", s.urls.rejections);

  w.Family("vodfs_cache_hits_total", "counter", "Blocks found in the cache, by tier.");
  w.Sample("vodfs_cache_hits_total", s.memory.hits, {{"tier", "memory"}});
  w.Sample("vodfs_cache_hits_total", s.disk.hits, {{"tier", "disk"}});
  if (s.shared_enabled) w.Sample("vodfs_cache_hits_total", s.shared.hits, {{"tier", "shared"}});
  w.Family("vodfs_cache_misses_total", "counter", "Blocks not found, by tier.");
  w.Sample("vodfs_cache_misses_total", s.memory.misses, {{"tier", "memory"}});
  w.Sample("vodfs_cache_misses_total", s.disk.misses, {{"tier", "disk"}});
  if (s.shared_enabled) w.Sample("vodfs_cache_misses_total", s.shared.misses, {{"tier", "shared"}});
  w.Family("vodfs_cache_evictions_total", "counter", "Evictions, by tier (blocks from memory, extents from disk).");
  w.Sample("vodfs_cache_evictions_total", s.memory.evictions, {{"tier", "memory"}});
  w.Sample("vodfs_cache_evictions_total", s.disk.evictions, {{"tier", "disk"}});
  w.Family("vodfs_cache_bytes", "gauge", "Bytes held, by tier.");
  w.Sample("vodfs_cache_bytes", s.memory.bytes, {{"tier", "memory"}});
  w.Sample("vodfs_cache_bytes", s.disk.bytes, {{"tier", "disk"}});
  w.Family("vodfs_cache_capacity_bytes", "gauge", "Budget or quota, by tier.");
  w.Sample("vodfs_cache_capacity_bytes", s.memory_budget, {{"tier", "memory"}});
  w.Sample("vodfs_cache_capacity_bytes", s.disk.quota, {{"tier", "disk"}});
  counter("cache_collapsed_misses_total", "Misses that waited for a fetch already running.", s.memory.collapsed);
  // The disk tier's own counters, under the same vodfs_cache_ names with
  // tier="disk" as the ones both tiers have (one name per metric).
  auto disk_counter = [&w](const std::string& name, const std::string& help, uint64_t v) {
    w.Family("vodfs_cache_" + name, "counter", help);
    w.Sample("vodfs_cache_" + name, v, {{"tier", "disk"}});
  };
  disk_counter("corrupt_blocks_total", "Blocks that failed verification and were fetched again, by tier.",
               s.disk.corrupt);
  disk_counter("write_errors_total", "Cache writes that failed, by tier.", s.disk.write_errors);
  disk_counter("write_waits_total", "Cache writes that waited for room in the write queue, by tier.",
               s.disk.write_waits);
  disk_counter("dropped_writes_total", "Cache writes skipped because the writer was stuck, by tier.",
               s.disk.dropped_writes);

  counter("opens_total", "Files opened.", s.reads.opens);
  counter("reads_total", "Read requests.", s.reads.reads);
  counter("read_errors_total", "Read requests that failed.", s.reads.read_errors);
  counter("stale_reads_total", "Reads failed because the object changed while open.", s.reads.stale_reads);
  counter("corrupt_reads_total", "Reads failed because their object did not match the origin's CRC-64.",
          s.reads.corrupt_reads);
  counter("objects_verified_total", "Objects whose bytes were checked whole against the origin's CRC-64.",
          s.reader.verifier.verified);
  counter("objects_corrupt_total", "Objects whose bytes did not match the origin's CRC-64.",
          s.reader.verifier.mismatches);
  counter("fetch_stalls_total", "Origin transfers abandoned for sending nothing.", s.fetch.stalls);
  counter("readahead_blocks_total", "Blocks fetched ahead of readers.", s.reads.readahead_blocks);
  counter("readahead_resets_total", "Read-ahead windows reset by a jump.", s.reads.readahead_resets);
  counter("index_prefetches_total", "MP4 indexes fetched before the demuxer asked.", s.reads.index_prefetches);
  gauge("open_files", "Files open now.", static_cast<double>(s.reads.open_handles));

  gauge("index_entries", "Media and images in the library index.", static_cast<double>(s.names.entries));
  w.Family("vodfs_directory_details_total", "counter", "Media directories filled, by where from.");
  w.Sample("vodfs_directory_details_total", s.names.details_fetched, {{"source", "api"}});
  w.Sample("vodfs_directory_details_total", s.names.details_loaded, {{"source", "index"}});
  w.Sample("vodfs_directory_details_total", s.names.details_refreshed, {{"source", "refresh"}});
  counter("size_probes_total", "Objects whose size was asked of the origin.", s.names.probes);
  gauge("hot_directories", "Media directories held in memory.", static_cast<double>(s.names.hot_dirs));
  counter("kernel_invalidations_total", "Kernel cache invalidations sent after library changes.",
          s.names.invalidations);
  w.Family("vodfs_index_syncs_total", "counter", "Syncs of the library index, by result.");
  w.Sample("vodfs_index_syncs_total", static_cast<uint64_t>(s.sync.syncs), {{"result", "ok"}});
  w.Sample("vodfs_index_syncs_total", static_cast<uint64_t>(s.sync.failures), {{"result", "failed"}});
  counter("index_sync_api_calls_total", "API calls made by syncs.", static_cast<uint64_t>(s.sync.api_calls));
  gauge("index_complete", "1 once the index holds a complete listing of the library.", s.index_complete ? 1 : 0);
  gauge("index_leader", "1 when this mount syncs the index.", s.sync.leader ? 1 : 0);
  counter("index_notifications_total", "Announcements of other mounts' index commits received.",
          static_cast<uint64_t>(s.sync.notifications));
  counter("index_leaderships_total", "Times this mount took the index's writer lock.",
          static_cast<uint64_t>(s.sync.leaderships));
  counter("index_lost_leaderships_total", "Times this mount lost the index's writer lock.",
          static_cast<uint64_t>(s.sync.lost_leaderships));
  counter("index_fenced_syncs_total", "Syncs not committed because the writer lock was lost.",
          static_cast<uint64_t>(s.sync.fenced_syncs));
  gauge("index_last_sync_timestamp_seconds", "End of the last successful sync.",
        static_cast<double>(s.sync.last_sync_at));
  gauge("index_offline_since_timestamp_seconds", "Since when the API is unreachable (0: it is reachable).",
        static_cast<double>(s.sync.offline_since));
  gauge("index_sync_done", "Media listed by the running sync.", static_cast<double>(s.sync_progress.done));
  gauge("index_sync_total", "Media the running sync expects to list.", static_cast<double>(s.sync_progress.total));

  w.Family("vodfs_fuse_request_duration_seconds", "histogram", "FUSE request latency, by operation.");
  for (size_t i = 0; i < s.fuse.size(); ++i) {
    w.Histogram("vodfs_fuse_request_duration_seconds", s.fuse[i],
                {{"op", fusefs::FuseOpName(static_cast<fusefs::FuseOp>(i))}});
  }
  return w.text();
}

MetricsServer::MetricsServer(std::function<std::string()> render) : render_(std::move(render)) {}

MetricsServer::~MetricsServer() { Stop(); }

Status MetricsServer::Listen(const std::string& address) {
  std::string host;
  std::string port_text;
  if (str::StartsWith(address, "[")) {
    const size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return Status(ErrorCode::kInvalidArgument, "metrics-address must be HOST:PORT, not " + address);
    }
    host = address.substr(1, close - 1);
    port_text = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos) {
      return Status(ErrorCode::kInvalidArgument, "metrics-address must be HOST:PORT, not " + address);
    }
    host = address.substr(0, colon);
    port_text = address.substr(colon + 1);
  }
  auto port = str::ParseInt64(port_text);
  if (!port || *port < 0 || *port > 65535) {
    return Status(ErrorCode::kInvalidArgument, "bad port in metrics-address " + address);
  }
  if (host == "localhost") host = "127.0.0.1";
  in_addr v4{};
  in6_addr v6{};
  const bool loopback = (inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127) ||
                        (inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6));
  if (!loopback) {
    return Status(ErrorCode::kInvalidArgument,
                  "metrics-address must be a loopback address (127.0.0.1, ::1 or localhost), not " + host);
  }
  server_ = std::make_unique<http::HttpServer>(
      [this](const http::HttpRequest& req, http::ResponseWriter& w) {
        if (req.path != "/metrics") return void(w.Send(404, "text/plain", "only /metrics is here\n"));
        if (req.method != "GET" && req.method != "HEAD") {
          return void(w.Send(405, "text/plain", "method not allowed\n", {{"Allow", "GET, HEAD"}}));
        }
        const std::string body = render_();
        if (req.method == "HEAD") {
          w.SendHead(200, {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}},
                     static_cast<int64_t>(body.size()));
          return;
        }
        w.Send(200, "text/plain; version=0.0.4; charset=utf-8", body);
      },
      "metrics");
  server_->SetMaxConnections(kMaxConnections);
  return server_->Listen(host, static_cast<int>(*port));
}

void MetricsServer::Serve() {
  if (server_) server_->Serve();
}

void MetricsServer::Stop() {
  if (server_) server_->Stop();
}

std::string MetricsServer::BaseUrl() const { return server_ ? server_->BaseUrl() : ""; }

}  // namespace vodfs::cli
