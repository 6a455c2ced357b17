// CurlHttpClient against a scripted loopback server.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "vodfs/http/http_server.h"
#include "vodfs/http/http_client.h"
#include "vodfs/util/strings.h"

namespace vodfs::http {
namespace {

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<http::HttpServer>([this](const http::HttpRequest& r, http::ResponseWriter& w) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.push_back(r);
      }
      Handle(r, w);
    });
    ASSERT_TRUE(server_->Start("127.0.0.1", 0).ok());
    base_ = server_->BaseUrl();
  }
  void TearDown() override { server_->Stop(); }

  void Handle(const http::HttpRequest& r, http::ResponseWriter& w) {
    const std::string body(100000, 'x');
    if (r.path == "/echo") {
      w.Send(200, "text/plain", r.method + ":" + r.body);
    } else if (r.path == "/range") {
      w.Send(206, "application/octet-stream", "0123456789",
             {{"Content-Range", "bytes 0-9/100"}, {"ETag", "\"e\""}});
    } else if (r.path == "/reset") {
      w.SendHead(200, {}, static_cast<int64_t>(body.size()));
      w.Write(std::string_view(body).substr(0, 5000));
      w.Reset();
    } else if (r.path == "/short") {
      w.SendHead(200, {}, static_cast<int64_t>(body.size()));
      w.Write(std::string_view(body).substr(0, 5000));
    } else if (r.path == "/stall") {
      w.SendHead(200, {}, static_cast<int64_t>(body.size()));
      w.Write(std::string_view(body).substr(0, 100));
      w.Sleep(10000);
    } else if (r.path == "/big") {
      w.Send(200, "application/octet-stream", body);
    } else if (r.path == "/ua") {
      w.Send(200, "text/plain", r.Header("User-Agent").value_or(""));
    } else if (r.path == "/gzip") {
      // Claims gzip: the client must hand over the bytes untouched.
      w.Send(200, "application/octet-stream", "not really gzip", {{"Content-Encoding", "gzip"}});
    } else {
      w.Send(404, "text/plain", "no");
    }
  }

  std::unique_ptr<http::HttpServer> server_;
  std::string base_;
  std::mutex mu_;
  std::vector<http::HttpRequest> seen_;
};

TEST_F(HttpClientTest, MethodsBodiesAndHeaders) {
  auto c = NewCurlHttpClient();
  Request put;
  put.method = "PUT";
  put.url = base_ + "/echo";
  EXPECT_EQ(c->Send(put)->body, "PUT:");
  // Pooled handles must not carry the previous request's method or body.
  Request post;
  post.method = "POST";
  post.url = base_ + "/echo";
  post.body = "a=1&b=2";
  EXPECT_EQ(c->Send(post)->body, "POST:a=1&b=2");
  Request get;
  get.url = base_ + "/echo";
  EXPECT_EQ(c->Send(get)->body, "GET:");
  Request head;
  head.method = "HEAD";
  head.url = base_ + "/range";
  auto h = c->Send(head);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->status, 206);
  EXPECT_TRUE(h->body.empty());
  EXPECT_EQ(h->Header("etag"), "\"e\"");
  EXPECT_EQ(c->Send(get)->body, "GET:");
}

TEST_F(HttpClientTest, RangeHeaderUserAgentAndNoDecoding) {
  auto c = NewCurlHttpClient();
  Request r;
  r.url = base_ + "/range";
  r.range = std::make_pair(uint64_t{0}, uint64_t{9});
  auto resp = c->Send(r);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->Header("Content-Range"), "bytes 0-9/100");
  EXPECT_EQ(resp->content_length, 10u);
  EXPECT_EQ(seen_.back().Header("Range"), "bytes=0-9");
  Request ua;
  ua.url = base_ + "/ua";
  EXPECT_TRUE(str::StartsWith(c->Send(ua)->body, "vodfs/"));
  Request gz;
  gz.url = base_ + "/gzip";
  EXPECT_EQ(c->Send(gz)->body, "not really gzip");
}

TEST_F(HttpClientTest, ConnectionsAreReusedAcrossRequestsAndThreads) {
  auto c = NewCurlHttpClient();
  Request r;
  r.url = base_ + "/echo";
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(c->Send(r).ok());
  EXPECT_EQ(c->Stats().connections_made, 1u);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 50; ++i) EXPECT_TRUE(c->Send(r).ok());
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_LE(c->Stats().connections_made, 5u);  // at most one per concurrent request
  EXPECT_EQ(c->Stats().requests, 220u);
}

TEST_F(HttpClientTest, TransportFailuresAreClassified) {
  auto c = NewCurlHttpClient();
  Request r;
  r.url = base_ + "/reset";
  auto reset = c->Send(r);
  ASSERT_FALSE(reset.ok());
  EXPECT_EQ(reset.code(), ErrorCode::kUnavailable);
  r.url = base_ + "/short";
  auto shortb = c->Send(r);
  ASSERT_FALSE(shortb.ok());
  EXPECT_EQ(shortb.code(), ErrorCode::kUnavailable);
  r.url = "http://127.0.0.1:1/";
  EXPECT_EQ(c->Send(r).code(), ErrorCode::kUnavailable);
  r.url = "ftp://example.com/";
  EXPECT_EQ(c->Send(r).code(), ErrorCode::kInvalidArgument);
}

TEST_F(HttpClientTest, StalledTransfersEndByDeadlineOrLowSpeed) {
  auto c = NewCurlHttpClient();
  Request r;
  r.url = base_ + "/stall";
  r.timeout = std::chrono::milliseconds(500);
  auto t = c->Send(r);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.code(), ErrorCode::kDeadlineExceeded);
  CurlOptions o;
  o.low_speed_time = std::chrono::seconds(1);
  auto slow = NewCurlHttpClient(o);
  r.timeout = std::chrono::milliseconds(0);
  auto s = slow->Send(r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kDeadlineExceeded);
}

TEST_F(HttpClientTest, CancellationAndLimits) {
  auto c = NewCurlHttpClient();
  std::atomic<bool> cancel{false};
  Request r;
  r.url = base_ + "/stall";
  r.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  auto x = c->Send(r);
  canceller.join();
  ASSERT_FALSE(x.ok());
  EXPECT_EQ(x.code(), ErrorCode::kCancelled);
  Request big;
  big.url = base_ + "/big";
  EXPECT_EQ(c->Send(big, 1000).code(), ErrorCode::kResourceExhausted);
  StreamHandler h;
  size_t got = 0;
  h.on_body = [&](std::string_view chunk) {
    got += chunk.size();
    return got < 1000;
  };
  EXPECT_EQ(c->Stream(big, h).code(), ErrorCode::kCancelled);
  // The client stays usable afterwards.
  Request echo;
  echo.url = base_ + "/echo";
  EXPECT_EQ(c->Send(echo)->body, "GET:");
}

}  // namespace
}  // namespace vodfs::http
