#include "cli/mount_metrics.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "vodfs/http/http_client.h"
#include "vodfs/util/strings.h"

namespace vodfs::cli {
namespace {

using nlohmann::json;

MountSnapshot Sample() {
  MountSnapshot s;
  s.version = "1.2.3";
  s.uptime_seconds = 42;
  s.rpc.calls = {{"SearchMedia", 3}, {"GetPlayInfo", 5}};
  s.rpc.failures = {{"GetPlayInfo", 1}};
  s.api_http.by_status = {{200, 7}, {503, 1}};
  s.media_http.by_status = {{206, 100}, {403, 2}};
  s.media_http.bytes_received = 1000;
  s.reads.bytes_read = 4000;
  s.memory.hits = 9;
  s.disk_enabled = true;
  s.disk.hits = 4;
  s.reads.readahead_resets = 6;
  s.urls.api_refreshes = 2;
  auto& read = s.fuse[static_cast<size_t>(fusefs::FuseOp::kRead)];
  read.counts[2] = 3;  // <= 250 us
  read.count = 3;
  read.sum_us = 600;
  return s;
}

// Parses "name{labels} value" lines into a map (labels kept verbatim).
std::map<std::string, std::string> Samples(const std::string& text) {
  std::map<std::string, std::string> out;
  for (const auto& line : str::Split(text, '\n', true)) {
    if (line[0] == '#') continue;
    const size_t sp = line.rfind(' ');
    out[line.substr(0, sp)] = line.substr(sp + 1);
  }
  return out;
}

TEST(MountMetricsTest, JsonAndPrometheusSayTheSame) {
  const MountSnapshot s = Sample();
  json j = json::parse(StatsJson(s));
  EXPECT_EQ(j["api"]["calls"]["GetPlayInfo"], 5);
  EXPECT_EQ(j["api"]["calls_total"], 8);
  EXPECT_EQ(j["media"]["http_by_status"]["403"], 2);
  EXPECT_EQ(j["cache"]["disk"]["hits"], 4);
  EXPECT_EQ(j["reads"]["readahead_resets"], 6);
  EXPECT_EQ(j["fuse"]["read"]["count"], 3);
  EXPECT_DOUBLE_EQ(j["fuse"]["read"]["p99_ms"].get<double>(), 0.25);
  EXPECT_FALSE(j["fuse"].contains("lookup"));  // ops never called are left out

  auto p = Samples(PrometheusText(s));
  EXPECT_EQ(p["vodfs_api_calls_total{operation=\"GetPlayInfo\"}"], "5");
  EXPECT_EQ(p["vodfs_api_failures_total{operation=\"GetPlayInfo\"}"], "1");
  EXPECT_EQ(p["vodfs_http_requests_total{client=\"media\",status=\"403\"}"], "2");
  EXPECT_EQ(p["vodfs_http_requests_total{client=\"api\",status=\"503\"}"], "1");
  EXPECT_EQ(p["vodfs_origin_bytes_total"], "1000");
  EXPECT_EQ(p["vodfs_served_bytes_total"], "4000");
  EXPECT_EQ(p["vodfs_cache_hits_total{tier=\"memory\"}"], "9");
  EXPECT_EQ(p["vodfs_cache_hits_total{tier=\"disk\"}"], "4");
  EXPECT_EQ(p["vodfs_readahead_resets_total"], "6");
  EXPECT_EQ(p["vodfs_url_refreshes_total{how=\"api\"}"], "2");
  EXPECT_EQ(p["vodfs_fuse_request_duration_seconds_bucket{op=\"read\",le=\"0.00025\"}"], "3");
  EXPECT_EQ(p["vodfs_fuse_request_duration_seconds_bucket{op=\"read\",le=\"+Inf\"}"], "3");
  EXPECT_EQ(p["vodfs_fuse_request_duration_seconds_count{op=\"lookup\"}"], "0");
  EXPECT_EQ(p["vodfs_build_info{version=\"1.2.3\"}"], "1");
}

TEST(MountMetricsTest, EveryFamilyIsDeclaredOnceBeforeItsSamples) {
  const std::string text = PrometheusText(Sample());
  std::map<std::string, int> declared;
  std::string current;
  for (const auto& line : str::Split(text, '\n', true)) {
    if (str::StartsWith(line, "# TYPE ")) {
      current = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_EQ(++declared[current], 1) << current;
      continue;
    }
    if (line[0] == '#') continue;
    const std::string name = line.substr(0, line.find_first_of("{ "));
    EXPECT_TRUE(name == current || name == current + "_bucket" || name == current + "_sum" ||
                name == current + "_count")
        << name << " outside its family " << current;
  }
}

TEST(MountMetricsTest, ServesOnlyLoopback) {
  MetricsServer m([] { return std::string("vodfs_up 1\n"); });
  EXPECT_FALSE(m.Listen("0.0.0.0:0").ok());
  EXPECT_FALSE(m.Listen("192.168.1.10:9464").ok());
  EXPECT_FALSE(m.Listen("[::]:0").ok());
  EXPECT_FALSE(m.Listen("127.0.0.1").ok());
  EXPECT_FALSE(m.Listen("127.0.0.1:99999").ok());
  ASSERT_TRUE(m.Listen("127.0.0.1:0").ok());
  m.Serve();
  auto client = http::NewCurlHttpClient({});
  http::Request req;
  req.url = m.BaseUrl() + "/metrics";
  auto r = client->Send(req, 1 << 20);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "vodfs_up 1\n");
  EXPECT_NE(r->Header("Content-Type").value_or("").find("version=0.0.4"), std::string::npos);
  req.url = m.BaseUrl() + "/other";
  EXPECT_EQ(client->Send(req, 1 << 20)->status, 404);
  m.Stop();
}

}  // namespace
}  // namespace vodfs::cli
