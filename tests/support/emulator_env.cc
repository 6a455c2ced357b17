#include "support/emulator_env.h"

#include <gtest/gtest.h>

#include "vodfs/util/clock.h"

namespace vodfs::testing {

using nlohmann::json;

EmulatorEnv::EmulatorEnv(std::unique_ptr<emu::Library> library, emu::EmulatorOptions options) {
  emulator_ = std::make_unique<emu::Emulator>(options, std::move(library));
  Status s = emulator_->Start();
  if (!s.ok()) throw std::runtime_error("cannot start emulator: " + s.ToString());
  http_ = http::NewCurlHttpClient();
  const auto& account = *options.accounts.begin();
  creds_ = std::make_unique<auth::StaticCredentialsProvider>(
      auth::Credentials{account.first, account.second, "", std::nullopt, "test"});
  vod::RpcOptions ro;
  ro.endpoint = emulator_->api_url();
  ro.qps_scale = 0;  // the emulator enforces limits; tests opt in
  ro.retry.max_attempts = 1;
  rpc_ = std::make_unique<vod::RpcClient>(*http_, *creds_, SystemClock::Get(), ro);
}

EmulatorEnv::~EmulatorEnv() { emulator_->Stop(); }

auth::Credentials EmulatorEnv::credentials() const { return *creds_->Get(); }

json EmulatorEnv::Call(const std::string& action, const vod::Params& params) {
  auto r = rpc_->Call(action, params);
  EXPECT_TRUE(r.ok()) << action << ": " << (r.ok() ? "" : r.error().ToString());
  if (!r.ok()) return json();
  json j = json::parse(*r, nullptr, false);
  EXPECT_FALSE(j.is_discarded());
  EXPECT_TRUE(j.contains("RequestId")) << *r;
  return j;
}

Error EmulatorEnv::CallError(const std::string& action, const vod::Params& params) {
  auto r = rpc_->Call(action, params);
  EXPECT_FALSE(r.ok()) << action << " unexpectedly succeeded";
  return r.ok() ? Error() : r.error();
}

std::pair<int, json> EmulatorEnv::Send(const http::Request& req) {
  auto r = http_->Send(req);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().ToString());
  if (!r.ok()) return {0, json()};
  return {r->status, json::parse(r->body, nullptr, false)};
}

http::Response EmulatorEnv::Get(const std::string& url, const std::string& range,
                                const http::Headers& headers) {
  http::Request req;
  req.url = url;
  req.headers = headers;
  if (!range.empty()) req.headers.emplace_back("Range", range);
  auto r = http_->Send(req, 1ULL << 32);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().ToString());
  return r.ok() ? std::move(r).value() : http::Response();
}

json EmulatorEnv::Control(const std::string& method, const std::string& path, const json& body) {
  http::Request req;
  req.method = method;
  req.url = emulator_->control_url() + path;
  if (!body.is_null()) {
    req.body = body.dump();
    req.headers.emplace_back("Content-Type", "application/json");
  }
  auto r = http_->Send(req);
  EXPECT_TRUE(r.ok());
  if (!r.ok()) return json();
  EXPECT_EQ(r->status, 200) << path << ": " << r->body;
  return json::parse(r->body, nullptr, false);
}

}  // namespace vodfs::testing
