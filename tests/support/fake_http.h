// FakeHttpClient: answers from a script and records every request.
#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "vodfs/http/http_client.h"

namespace vodfs::testing {

class FakeHttpClient final : public http::HttpClient {
 public:
  using Handler = std::function<Result<http::Response>(const http::Request&)>;

  // Queues one answer (used in order; the last one repeats when the queue
  // would run dry, unless `repeat_last` is false).
  void Push(Result<http::Response> r) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back([r](const http::Request&) { return r; });
  }
  void Push(Handler h) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back(std::move(h));
  }
  static http::Response Reply(int status, std::string body, http::Headers headers = {}) {
    http::Response r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    r.content_length = r.body.size();
    return r;
  }

  Result<http::Response> Send(const http::Request& req, uint64_t) override {
    Handler h;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(req);
      if (script_.empty()) return Error(ErrorCode::kInternal, "FakeHttpClient: no scripted answer");
      h = script_.front();
      if (script_.size() > 1) script_.pop_front();
    }
    return h(req);
  }

  Result<http::ResponseHead> Stream(const http::Request& req, http::StreamHandler& handler) override {
    auto r = Send(req, 0);
    if (!r.ok()) return r.error();
    if (handler.on_head && !handler.on_head(*r)) return Error(ErrorCode::kCancelled, "stopped");
    if (handler.on_body && !r->body.empty() && !handler.on_body(r->body)) {
      return Error(ErrorCode::kCancelled, "stopped");
    }
    return static_cast<http::ResponseHead>(*r);
  }

  http::ClientStats Stats() const override { return {}; }

  std::vector<http::Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  mutable std::mutex mu_;
  std::deque<Handler> script_;
  std::vector<http::Request> requests_;
};

}  // namespace vodfs::testing
