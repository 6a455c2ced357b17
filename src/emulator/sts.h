// The emulator's STS (Security Token Service, version 2015-04-01): the two
// actions the Alibaba credential chain calls for role credentials, served on
// the API port (STS is another host in the cloud; the action and version
// tell the two apart here). Answers and errors are shaped as STS documents
// them; the credentials are minted like the control endpoint's POST /sts,
// so the VOD API accepts them until they expire.
//
// Emulator rules, so that tests can reach each answer:
//  - a role whose name starts with "deny" refuses to be assumed
//    (403 NoPermission), as a role whose trust policy excludes the caller;
//  - an OIDC token is a JWT (three dot-separated parts); its payload's
//    "exp", when present and past, gives AuthenticationFail.OIDCToken.Expired.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "emulator/emulator.h"
#include "vodfs/util/result.h"

namespace vodfs::emu {

inline constexpr const char kStsVersion[] = "2015-04-01";

using StsMint = std::function<StsCredential(int64_t duration_seconds)>;

// AssumeRole, already authenticated (signature, token, timestamp) as any
// API call. `caller` is the AccessKey ID that signed it.
Result<nlohmann::json> StsAssumeRole(const std::map<std::string, std::string>& params, const std::string& caller,
                                     const StsMint& mint, int64_t now);
// AssumeRoleWithOIDC: not signed; the OIDC token is the proof.
Result<nlohmann::json> StsAssumeRoleWithOidc(const std::map<std::string, std::string>& params, const StsMint& mint,
                                             int64_t now);

}  // namespace vodfs::emu
