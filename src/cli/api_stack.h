// Composition of the API side from options: HTTP client, credential chain,
// RPC transport and typed VOD client.
#pragma once

#include <memory>
#include <string>

#include "cli/options.h"
#include "vodfs/auth/credential_chain.h"
#include "vodfs/http/http_client.h"
#include "vodfs/util/clock.h"
#include "vodfs/vod/api.h"
#include "vodfs/vod/rpc.h"

namespace vodfs::cli {

struct ApiStack {
  std::string region;
  std::string endpoint;
  std::unique_ptr<http::HttpClient> http;
  std::unique_ptr<auth::ChainProvider> credentials;
  std::unique_ptr<vod::RpcClient> rpc;
  std::unique_ptr<vod::VodClient> vod;
};

// `source` is the SOURCE argument (a region, "vod:REGION" or an endpoint
// URL); empty to use the options alone.
Result<std::unique_ptr<ApiStack>> BuildApiStack(const Options& o, const std::string& source,
                                                Clock& clock);

// Applies log_level/log_file.
Status SetUpLogging(const Options& o, bool daemon);

// "LTAI****abc": enough to recognise a key, not enough to use it.
std::string MaskKeyId(const std::string& id);

// The persistent cache directory: the option, $XDG_CACHE_HOME/vodfs, or
// ~/.cache/vodfs.
std::string CacheDir(const Options& o);
// The disk cache quota: the option, or 10% of the free space where the
// cache lives, between 256 MiB and 20 GiB.
uint64_t DiskQuota(const Options& o, const std::string& dir);

}  // namespace vodfs::cli
