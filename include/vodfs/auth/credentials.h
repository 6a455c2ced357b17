// Credentials and where they come from.
//
// A CredentialsProvider yields the AccessKey pair (and STS token) to sign
// with. Temporary credentials carry an expiration; RefreshingProvider
// renews them before they expire without blocking calls in flight (see
// credential_chain.h for the Alibaba Cloud default chain).
//
// Thread-safety: providers are safe to call concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "vodfs/util/result.h"

namespace vodfs::auth {

struct Credentials {
  std::string access_key_id;
  std::string access_key_secret;
  std::string security_token;        // empty for long-term keys
  std::optional<int64_t> expiration;  // Unix seconds, for temporary keys
  std::string source;                // human-readable origin, e.g. "environment"

  bool temporary() const { return !security_token.empty() || expiration.has_value(); }
};

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  // Current credentials (may block to fetch or refresh them).
  virtual Result<Credentials> Get() = 0;
  // The service rejected the credentials (e.g. an expired token): fetch
  // new ones on the next Get(). Default: nothing to do.
  virtual void Invalidate() {}
  // Where the credentials come from, for `vodfs check` and logs.
  virtual std::string Describe() const = 0;
};

// Fixed credentials (options, config file, tests).
class StaticCredentialsProvider final : public CredentialsProvider {
 public:
  explicit StaticCredentialsProvider(Credentials c);
  Result<Credentials> Get() override { return creds_; }
  std::string Describe() const override { return creds_.source; }

 private:
  Credentials creds_;
};

}  // namespace vodfs::auth
