#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/api_errors.h"
#include "cli/api_stack.h"
#include "cli/commands.h"
#include "vodfs/util/log.h"

namespace vodfs::cli {

int RunApi(const Options& o, std::ostream& out, std::ostream& err) {
  // positional: "api" OPERATION Name=Value...
  if (o.positional.size() < 2) {
    err << "usage: vodfs api OPERATION [Name=Value ...]  (e.g. vodfs api GetPlayInfo VideoId=...)\n";
    return 2;
  }
  const std::string& op = o.positional[1];
  vod::Params params;
  for (size_t i = 2; i < o.positional.size(); ++i) {
    const std::string& kv = o.positional[i];
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      err << "vodfs api: expected Name=Value, got '" << log::Redact(kv) << "'\n";
      return 2;
    }
    params[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  auto stack = BuildApiStack(o, "", SystemClock::Get());
  if (!stack.ok()) {
    err << "vodfs api: " << log::Redact(stack.error().ToString()) << "\n";
    return 1;
  }
  auto r = (*stack)->rpc->Call(op, params);
  if (!r.ok()) {
    // The same explanation as vodfs check's (the key ID as the call used it).
    auto creds = (*stack)->credentials->Get();
    const ApiErrorExplanation x =
        ExplainApiError(r.error(), (*stack)->endpoint, creds.ok() ? creds->access_key_id : std::string());
    err << "vodfs api: " << op << ": " << log::Redact(x.text) << "\n";
    return 1;
  }
  auto j = nlohmann::json::parse(*r, nullptr, false);
  if (j.is_discarded()) {
    out << *r << "\n";
  } else {
    out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  return 0;
}

}  // namespace vodfs::cli
