// What a failed API call means for the person at the prompt: the check it
// failed ("credentials", "clock", "permission", ...) and what to do about
// it. vodfs check, vodfs api and the mount all explain failures with this,
// so a wrong secret reads the same everywhere. The service's message, which
// for a bad signature echoes the whole string-to-sign, is never repeated
// (the vod client already cuts it; this does not rely on that).
#pragma once

#include <string>

#include "vodfs/util/result.h"

namespace vodfs::cli {

struct ApiErrorExplanation {
  std::string topic;  // "endpoint", "credentials", "clock", "permission", "api"
  std::string text;   // one or two sentences, ending with the fix
};

// `endpoint` and `key_id` (masked in the text) name what was used.
ApiErrorExplanation ExplainApiError(const Error& e, const std::string& endpoint, const std::string& key_id);

}  // namespace vodfs::cli
