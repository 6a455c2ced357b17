// Fault injection rules and counters of the emulator.
//
// A rule names a target ("api" or "media"), what it matches (an operation
// name for the API; a substring of the object key for media; "*" for
// anything), what it does, and how many times (count; -1 = until cleared).
// `skip` lets the first N matching requests through.
//
// Thread-safety: FaultSet and Counters are internally synchronised.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "vodfs/util/result.h"

namespace vodfs::emu {

enum class FaultKind {
  kError,        // api: error body with code/status/message
  kThrottle,     // api: Throttling.User
  kLatency,      // api/media: delay before answering (ms)
  kStatus,       // media: answer `status` (e.g. 503) with an error body
  kReset,        // media: TCP reset after `bytes` body bytes
  kStall,        // media: stop for `ms` after `bytes` body bytes, then close
  kShortBody,    // media: send `bytes` body bytes of the declared length, close
  kWrongRange,   // media: a 206 whose Content-Range and bytes are shifted
  kIgnoreRange,  // media: 200 with the whole object despite a valid Range
  kRate,         // media: send at most `bytes_per_second`
  kCorrupt,      // media: flip one byte in the body (a hostile middlebox)
};

struct FaultRule {
  int id = 0;
  std::string target = "api";  // api | media
  std::string match = "*";     // operation name / key substring
  std::string origin = "*";    // media only: oss | cdn | *
  FaultKind kind = FaultKind::kError;
  std::string code = "InternalError";
  std::string message = "An internal error occurred.";
  int status = 500;
  int64_t ms = 0;
  uint64_t bytes = 0;
  int64_t shift = 0;
  uint64_t bytes_per_second = 0;
  int count = 1;  // remaining; -1 = unlimited
  int skip = 0;
};

Result<FaultRule> ParseFaultRule(const nlohmann::json& j);
nlohmann::json FaultRuleToJson(const FaultRule& r);

class FaultSet {
 public:
  int Add(FaultRule rule);
  void Clear();
  // Returns the first rule matching and consumes one use of it.
  std::optional<FaultRule> Take(const std::string& target, const std::string& name,
                                const std::string& origin);
  // Like Take, but for every matching rule (media may need several).
  std::vector<FaultRule> TakeAll(const std::string& target, const std::string& name,
                                 const std::string& origin);
  nlohmann::json ToJson() const;

 private:
  bool Matches(const FaultRule& r, const std::string& target, const std::string& name,
               const std::string& origin) const;
  mutable std::mutex mu_;
  std::vector<FaultRule> rules_;
  int next_id_ = 1;
};

class Counters {
 public:
  void ApiCall(const std::string& action, const std::string& error_code);
  void MediaRequest(const std::string& origin, int status, uint64_t bytes);
  void MediaForbidden(const std::string& cause);
  void MediaBytes(uint64_t bytes);
  void Reset();
  nlohmann::json ToJson() const;
  uint64_t ApiCalls(const std::string& action) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> api_calls_;
  std::map<std::string, uint64_t> api_errors_;
  uint64_t api_total_ = 0;
  std::map<std::string, uint64_t> media_by_origin_;
  std::map<std::string, uint64_t> media_by_status_;
  std::map<std::string, uint64_t> forbidden_;
  uint64_t media_requests_ = 0;
  uint64_t bytes_served_ = 0;
};

}  // namespace vodfs::emu
