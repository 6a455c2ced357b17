#include "cli/mount_metrics.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
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
  s.process.resident_bytes = 5 << 20;
  s.process.start_time_seconds = 1767225600.5;
  s.process.cpu_seconds = 1.25;
  s.disk.corrupt = 7;
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
  EXPECT_EQ(p["vodfs_http_requests_total{client=\"media\",code=\"403\"}"], "2");
  EXPECT_EQ(p["vodfs_http_requests_total{client=\"api\",code=\"503\"}"], "1");
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

TEST(MountMetricsTest, PrometheusConventions) {
  const std::string text = PrometheusText(Sample());
  auto p = Samples(text);
  EXPECT_EQ(p["process_resident_memory_bytes"], "5242880");
  EXPECT_EQ(p["process_start_time_seconds"], "1767225600.5");
  EXPECT_EQ(p["process_cpu_seconds_total"], "1.25");
  EXPECT_TRUE(p.count("process_open_fds"));
  EXPECT_TRUE(p.count("process_max_fds"));
  EXPECT_TRUE(p.count("process_virtual_memory_bytes"));
  EXPECT_EQ(p["vodfs_cache_corrupt_blocks_total{tier=\"disk\"}"], "7");
  // No uptime gauge (process_start_time_seconds says it), no status label
  // (code), and the disk cache under vodfs_cache_ only.
  EXPECT_EQ(text.find("uptime"), std::string::npos);
  EXPECT_EQ(text.find("status=\""), std::string::npos);
  EXPECT_EQ(text.find("vodfs_disk_cache"), std::string::npos);
}

TEST(MountMetricsTest, ProcStatIsParsedFromTheLastParenthesis) {
  // A command name with a space and a ')' in it; fields as proc(5) numbers them.
  std::string stat = "1234 (vod fs) x) S 1 1234 1234 0 -1 4194560 100 0 0 0 ";
  stat += "250 150 0 0 20 0 7 0 5000 104857600 2560 18446744073709551615";
  auto p = ParseProcStat(stat, 100, 4096, 1767225600);
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->cpu_seconds, 4.0);                 // (250 + 150) / 100
  EXPECT_DOUBLE_EQ(p->start_time_seconds, 1767225650.0);  // btime + 5000 / 100
  EXPECT_EQ(p->virtual_bytes, 104857600u);
  EXPECT_EQ(p->resident_bytes, 2560u * 4096);
  EXPECT_FALSE(ParseProcStat("garbage", 100, 4096, 0));
  EXPECT_FALSE(ParseProcStat("1 (x) S 1 2", 100, 4096, 0));
  // And this process, live.
  ProcessStats self = ReadProcessStats();
  EXPECT_GT(self.resident_bytes, 0u);
  EXPECT_GT(self.open_fds, 2u);  // stdin, stdout, stderr at least
  EXPECT_GT(self.max_fds, 0u);
  EXPECT_GT(self.start_time_seconds, 1.5e9);
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

// Opens a TCP connection to 127.0.0.1:port (-1 on failure).
int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends a GET /metrics and reads the answer to its end (the server closes
// after "Connection: close").
std::string Get(int fd) {
  const std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) < 0) return "";
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

TEST(MountMetricsTest, ConnectionsAreCapped) {
  MetricsServer m([] { return std::string("vodfs_up 1\n"); });
  ASSERT_TRUE(m.Listen("127.0.0.1:0").ok());
  m.Serve();
  const int port = std::stoi(m.BaseUrl().substr(m.BaseUrl().rfind(':') + 1));
  // Idle connections up to the cap, each held by the server.
  std::vector<int> idle;
  for (size_t i = 0; i < MetricsServer::kMaxConnections; ++i) {
    const int fd = Connect(port);
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  // The server accepts in order, so all of them are registered before the
  // next: it is answered 503 and closed.
  const int fd = Connect(port);
  ASSERT_GE(fd, 0);
  const std::string busy = Get(fd);
  ::close(fd);
  EXPECT_EQ(busy.rfind("HTTP/1.1 503 ", 0), 0u) << busy;
  // Freed slots serve again, once the server has seen the idle ones close.
  for (int c : idle) ::close(c);
  std::string ok;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ok.find(" 200 ") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    const int again = Connect(port);
    ASSERT_GE(again, 0);
    ok = Get(again);
    ::close(again);
  }
  EXPECT_NE(ok.find("vodfs_up 1"), std::string::npos) << ok;
  m.Stop();
}

}  // namespace
}  // namespace vodfs::cli
