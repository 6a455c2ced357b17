// An in-process emulator plus a real libcurl client pointed at it.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "emulator/emulator.h"
#include "vodfs/auth/credentials.h"
#include "vodfs/http/http_client.h"
#include "vodfs/vod/rpc.h"

namespace vodfs::testing {

class EmulatorEnv {
 public:
  // Starts an emulator over `library` (default options unless given).
  explicit EmulatorEnv(std::unique_ptr<emu::Library> library,
                       emu::EmulatorOptions options = emu::EmulatorOptions());
  ~EmulatorEnv();

  emu::Emulator& emulator() { return *emulator_; }
  http::HttpClient& http() { return *http_; }
  vod::RpcClient& rpc() { return *rpc_; }
  auth::Credentials credentials() const;

  // A signed call through RpcClient, parsed. Fails the test on error.
  nlohmann::json Call(const std::string& action, const vod::Params& params = {});
  // A signed call that is expected to fail; returns the error.
  Error CallError(const std::string& action, const vod::Params& params = {});
  // Sends a hand-built request; returns status and parsed body.
  std::pair<int, nlohmann::json> Send(const http::Request& req);
  // GET a URL (optionally with a Range header and extra headers).
  http::Response Get(const std::string& url, const std::string& range = "",
                     const http::Headers& headers = {});
  // The control endpoint.
  nlohmann::json Control(const std::string& method, const std::string& path,
                         const nlohmann::json& body = nullptr);

 private:
  std::unique_ptr<emu::Emulator> emulator_;
  std::unique_ptr<http::HttpClient> http_;
  std::unique_ptr<auth::StaticCredentialsProvider> creds_;
  std::unique_ptr<vod::RpcClient> rpc_;
};

}  // namespace vodfs::testing
