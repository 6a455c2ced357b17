#include "emulator/faults.h"

namespace vodfs::emu {

using nlohmann::json;

namespace {

const std::pair<const char*, FaultKind> kKinds[] = {
    {"error", FaultKind::kError},           {"throttle", FaultKind::kThrottle},
    {"latency", FaultKind::kLatency},       {"status", FaultKind::kStatus},
    {"reset", FaultKind::kReset},           {"stall", FaultKind::kStall},
    {"short_body", FaultKind::kShortBody},  {"wrong_range", FaultKind::kWrongRange},
    {"ignore_range", FaultKind::kIgnoreRange}, {"rate", FaultKind::kRate},
    {"corrupt", FaultKind::kCorrupt},
};

const char* KindName(FaultKind k) {
  for (const auto& [name, kind] : kKinds) {
    if (kind == k) return name;
  }
  return "?";
}

}  // namespace

Result<FaultRule> ParseFaultRule(const json& j) {
  if (!j.is_object()) return Error(ErrorCode::kInvalidArgument, "a fault rule is a JSON object");
  FaultRule r;
  try {
    r.target = j.value("target", "api");
    if (r.target != "api" && r.target != "media") {
      return Error(ErrorCode::kInvalidArgument, "target must be api or media");
    }
    r.match = j.value("match", j.value("operation", j.value("key", std::string("*"))));
    r.origin = j.value("origin", "*");
    std::string kind = j.value("kind", "");
    bool found = false;
    for (const auto& [name, k] : kKinds) {
      if (kind == name) {
        r.kind = k;
        found = true;
      }
    }
    if (!found) return Error(ErrorCode::kInvalidArgument, "unknown fault kind '" + kind + "'");
    r.code = j.value("code", r.kind == FaultKind::kThrottle ? "Throttling.User" : "InternalError");
    r.message = j.value("message", r.message);
    r.status = j.value("status", r.kind == FaultKind::kThrottle ? 400 : (r.target == "media" ? 503 : 500));
    r.ms = j.value("ms", int64_t{0});
    r.bytes = j.value("bytes", j.value("after_bytes", uint64_t{0}));
    r.shift = j.value("shift", int64_t{4096});
    r.bytes_per_second = j.value("bytes_per_second", uint64_t{0});
    r.count = j.value("count", 1);
    r.skip = j.value("skip", 0);
  } catch (const json::exception& e) {
    return Error(ErrorCode::kInvalidArgument, std::string("bad fault rule: ") + e.what());
  }
  if (r.kind == FaultKind::kRate && r.bytes_per_second == 0) {
    return Error(ErrorCode::kInvalidArgument, "rate needs bytes_per_second");
  }
  return r;
}

json FaultRuleToJson(const FaultRule& r) {
  return json{{"id", r.id},       {"target", r.target}, {"match", r.match},
              {"origin", r.origin}, {"kind", KindName(r.kind)}, {"code", r.code},
              {"status", r.status}, {"ms", r.ms},       {"bytes", r.bytes},
              {"shift", r.shift}, {"bytes_per_second", r.bytes_per_second},
              {"count", r.count}, {"skip", r.skip}};
}

int FaultSet::Add(FaultRule rule) {
  std::lock_guard<std::mutex> lock(mu_);
  rule.id = next_id_++;
  rules_.push_back(rule);
  return rule.id;
}

void FaultSet::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.clear();
}

bool FaultSet::Matches(const FaultRule& r, const std::string& target, const std::string& name,
                       const std::string& origin) const {
  if (r.target != target || r.count == 0) return false;
  if (r.origin != "*" && r.origin != origin) return false;
  if (r.match == "*") return true;
  if (target == "api") return r.match == name;
  return name.find(r.match) != std::string::npos;
}

std::optional<FaultRule> FaultSet::Take(const std::string& target, const std::string& name,
                                        const std::string& origin) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& r : rules_) {
    if (!Matches(r, target, name, origin)) continue;
    if (r.skip > 0) {
      --r.skip;
      continue;
    }
    FaultRule out = r;
    if (r.count > 0) --r.count;
    return out;
  }
  return std::nullopt;
}

std::vector<FaultRule> FaultSet::TakeAll(const std::string& target, const std::string& name,
                                         const std::string& origin) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<FaultRule> out;
  for (auto& r : rules_) {
    if (!Matches(r, target, name, origin)) continue;
    if (r.skip > 0) {
      --r.skip;
      continue;
    }
    out.push_back(r);
    if (r.count > 0) --r.count;
  }
  return out;
}

json FaultSet::ToJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  json arr = json::array();
  for (const auto& r : rules_) arr.push_back(FaultRuleToJson(r));
  return arr;
}

void Counters::ApiCall(const std::string& action, const std::string& error_code) {
  std::lock_guard<std::mutex> lock(mu_);
  ++api_total_;
  ++api_calls_[action];
  if (!error_code.empty()) ++api_errors_[error_code];
}

void Counters::MediaRequest(const std::string& origin, int status, uint64_t) {
  std::lock_guard<std::mutex> lock(mu_);
  ++media_requests_;
  ++media_by_origin_[origin];
  ++media_by_status_[std::to_string(status)];
}

void Counters::MediaBytes(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  bytes_served_ += bytes;
}

void Counters::MediaForbidden(const std::string& cause) {
  std::lock_guard<std::mutex> lock(mu_);
  ++forbidden_[cause];
}

void Counters::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  api_calls_.clear();
  api_errors_.clear();
  api_total_ = 0;
  media_by_origin_.clear();
  media_by_status_.clear();
  forbidden_.clear();
  media_requests_ = 0;
  bytes_served_ = 0;
}

uint64_t Counters::ApiCalls(const std::string& action) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = api_calls_.find(action);
  return it == api_calls_.end() ? 0 : it->second;
}

json Counters::ToJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  return json{{"api", {{"total", api_total_}, {"calls", api_calls_}, {"errors", api_errors_}}},
              {"media",
               {{"requests", media_requests_},
                {"bytes_served", bytes_served_},
                {"by_origin", media_by_origin_},
                {"by_status", media_by_status_},
                {"forbidden", forbidden_}}}};
}

}  // namespace vodfs::emu
