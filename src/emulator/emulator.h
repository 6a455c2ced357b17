// vodfs-emulator: a stand-in for ApsaraVideo VOD that behaves like the real
// service, on loopback.
//
//  - API endpoint: the VOD OpenAPI operations vodfs uses, RPC V2 and V3
//    signature verification, Timestamp window, SignatureNonce replay refusal,
//    STS tokens, documented error bodies, per-operation QPS limits.
//  - OSS origin: path-style bucket URLs with OSS V1 query signatures.
//  - CDN origin: URL authentication type A, B, C or none; Referer
//    allow-list; HLS playlists rewritten so each segment carries its auth.
//  - Control endpoint (always loopback): faults, counters, asset
//    replacement, URL lifetime override, clock offset, STS minting, library
//    changes (media and images added, modified, deleted while running).
//  - Optional ECS metadata endpoint (RAM role credentials, IMDSv2 token).
//
// Thread-safety: Start/Stop from one thread; everything else is internally
// synchronised. Lock order: the catalog's (catalog.h) before any mutex
// below; no method holds two of the mutexes below.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "emulator/catalog.h"
#include "emulator/faults.h"
#include "emulator/library.h"
#include "emulator/object_crc.h"
#include "vodfs/http/http_server.h"
#include "vodfs/auth/url_signer.h"
#include "vodfs/util/clock.h"
#include "vodfs/util/result.h"

namespace vodfs::emu {

using http::HttpRequest;
using http::HttpServer;
using http::ResponseWriter;

struct EmulatorOptions {
  std::string bind = "127.0.0.1";
  int api_port = 0, oss_port = 0, cdn_port = 0, control_port = 0;
  int imds_port = -1;  // -1: no metadata endpoint
  std::string region = "cn-shanghai";

  // API accounts (AccessKey ID -> secret).
  std::map<std::string, std::string> accounts = {{"LTAI5tEmulatorDemoKey", "EmulatorDemoSecret0123456789abcd"}};

  // OSS origin.
  std::string oss_bucket = "outin-emulator";
  std::string oss_access_key_id = "LTAI5tVodServiceOss";
  std::string oss_access_key_secret = "VodServiceOssSecret0123456789xyz";
  bool oss_private = true;

  // CDN origin.
  bool cdn_enabled = true;
  auth::CdnAuthType cdn_auth = auth::CdnAuthType::kA;
  std::vector<std::string> cdn_keys = {"EmulatorCdnPrimaryKey01", "EmulatorCdnBackupKey02"};
  int64_t cdn_auth_delta = 1800;  // ali_auth_delta
  bool cdn_type_c_query = false;  // type C form 2 (KEY1/KEY2 parameters)
  std::vector<std::string> referer_allow;  // empty: no Referer check
  bool allow_empty_referer = false;        // only with referer_allow

  int64_t default_auth_timeout = 3600;
  // When set, media URLs point here (unsigned), as a CDN without URL
  // signing would; the emulator then serves no media itself.
  std::string external_origin;

  // QPS limits: documented values times this factor; 0 disables throttling.
  double qps_scale = 1.0;
  int64_t timestamp_window = 900;  // seconds either side
  // ECS metadata endpoint (when imds_port >= 0).
  std::string imds_role = "VodfsEmulatorRole";
  int64_t imds_duration = 3600;
  bool imds_require_token = false;  // refuse IMDSv1 requests
  bool log_requests = false;
};

// A temporary credential minted by the emulator (what STS would issue).
struct StsCredential {
  std::string access_key_id;
  std::string access_key_secret;
  std::string security_token;
  int64_t expiration = 0;  // Unix seconds
};

class Emulator {
 public:
  Emulator(EmulatorOptions options, std::unique_ptr<Library> library);
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  Status Start();
  void Stop();

  std::string api_url() const;
  std::string oss_url() const;
  std::string cdn_url() const;
  std::string control_url() const;
  std::string imds_url() const;
  // {"api": ..., "oss": ..., "cdn": ..., "control": ..., "imds": ...}
  nlohmann::json Addresses() const;

  // --- Programmatic control (the control endpoint calls these too) -------
  FaultSet& faults() { return faults_; }
  Counters& counters() { return counters_; }
  // The library as it started, and the live one (with the changes).
  const Library& library() const { return catalog_.base(); }
  Catalog& catalog() { return catalog_; }
  const EmulatorOptions& options() const { return options_; }
  // The emulator's idea of now: real time plus an adjustable offset.
  int64_t Now() const;
  void AdvanceClock(int64_t seconds) { clock_offset_ += seconds; }
  void SetUrlLifetime(int64_t seconds) { url_lifetime_override_ = seconds; }
  // Replaces the bytes of an object with synthetic ones (new size, ETag,
  // Last-Modified). The API reports the new size from then on.
  Status ReplaceAsset(const std::string& key, uint64_t seed, uint64_t size);
  StsCredential MintSts(int64_t duration_seconds);
  // Clears faults, counters, replacements, the URL lifetime override, the
  // clock offset and the library changes.
  void ResetAll();
  // The blob currently served for `key` (override or live library; none
  // for an object of a deleted medium).
  std::optional<Blob> FindBlob(const std::string& key) const;

 private:
  // api.cc
  void HandleApi(const HttpRequest& req, ResponseWriter& w);
  // media.cc
  void HandleMedia(const std::string& origin, const HttpRequest& req, ResponseWriter& w);
  // control.cc
  void HandleControl(const HttpRequest& req, ResponseWriter& w);
  void HandleImds(const HttpRequest& req, ResponseWriter& w);

  friend class ApiContext;
  friend class MediaContext;

  // URL of an object as the API hands it out.
  std::string MediaUrl(const std::string& key, bool cdn, int64_t auth_timeout,
                       const std::string& rand = "0", const std::string& uid = "0") const;
  std::string StorageLocation() const;
  uint64_t CurrentSize(const std::string& key, uint64_t library_size) const;

  EmulatorOptions options_;
  Catalog catalog_;
  std::atomic<int64_t> clock_offset_{0};
  std::atomic<int64_t> url_lifetime_override_{0};
  FaultSet faults_;
  Counters counters_;
  ObjectCrcs crcs_;

  mutable std::mutex overrides_mu_;
  std::unordered_map<std::string, Blob> overrides_;

  mutable std::mutex accounts_mu_;
  std::map<std::string, StsCredential> sts_;  // by AccessKeyId

  std::mutex nonce_mu_;
  std::unordered_map<std::string, int64_t> nonces_;
  std::deque<std::pair<int64_t, std::string>> nonce_order_;

  // Where a ScrollToken traversal stands: sort keys, not indexes, so that
  // media added or deleted between calls neither shift nor repeat a page.
  struct ScrollCursor {
    std::string query_key;
    int page_no = 0;
    // The page's first item (for the same page again); nullopt: it was empty.
    std::optional<SortKey> first;
    // The last record walked (returned or skipped); nullopt: none yet.
    std::optional<SortKey> last;
    size_t first_position = 0;  // records traversed before the page
    size_t position = 0;        // ... and after it
    int64_t created = 0;
  };
  std::mutex scroll_mu_;
  std::unordered_map<std::string, ScrollCursor> scroll_;
  std::deque<std::string> scroll_order_;

  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point last;
    bool init = false;
  };
  std::mutex throttle_mu_;
  std::map<std::string, Bucket> buckets_;

  std::atomic<int64_t> imds_duration_{3600};
  std::mutex imds_mu_;
  std::map<std::string, int64_t> imds_tokens_;
  StsCredential imds_credential_;

  std::unique_ptr<HttpServer> api_, oss_, cdn_, control_, imds_;
};

}  // namespace vodfs::emu
