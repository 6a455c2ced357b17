#include "vodfs/auth/rpc_signer.h"

#include <algorithm>

#include "vodfs/auth/crypto.h"
#include "vodfs/util/strings.h"

namespace vodfs::auth {

std::string CanonicalizedQuery(const RpcParams& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    out += str::PercentEncode(name);
    out.push_back('=');
    out += str::PercentEncode(value);
  }
  return out;
}

std::string RpcV2StringToSign(std::string_view http_method, const RpcParams& params) {
  RpcParams p = params;
  p.erase("Signature");
  std::string out(http_method);
  out += "&";
  out += str::PercentEncode("/");
  out += "&";
  out += str::PercentEncode(CanonicalizedQuery(p));
  return out;
}

std::string RpcV2Signature(std::string_view access_key_secret, std::string_view string_to_sign) {
  std::string key(access_key_secret);
  key.push_back('&');
  return str::Base64Encode(HmacSha1(key, string_to_sign));
}

void RpcV2Sign(std::string_view http_method, std::string_view access_key_secret,
               RpcParams& params) {
  params.erase("Signature");
  params["Signature"] =
      RpcV2Signature(access_key_secret, RpcV2StringToSign(http_method, params));
}

RpcV3Signature RpcV3Sign(const RpcV3Request& req, std::string_view access_key_id,
                         std::string_view access_key_secret) {
  RpcV3Signature out;
  std::map<std::string, std::string> signed_hdrs;
  for (const auto& [name, value] : req.headers) {
    std::string lower = str::ToLower(name);
    if (lower == "host" || lower == "content-type" || str::StartsWith(lower, "x-acs-")) {
      signed_hdrs[lower] = std::string(str::Trim(value));
    }
  }
  std::string canonical_headers;
  std::string names;
  for (const auto& [name, value] : signed_hdrs) {
    canonical_headers += name + ":" + value + "\n";
    if (!names.empty()) names += ";";
    names += name;
  }
  std::string payload_hash;
  auto it = signed_hdrs.find("x-acs-content-sha256");
  payload_hash = it != signed_hdrs.end() ? it->second : Sha256Hex(req.body);
  out.canonical_request = req.method + "\n" + req.canonical_uri + "\n" +
                          CanonicalizedQuery(req.query) + "\n" + canonical_headers + "\n" +
                          names + "\n" + payload_hash;
  out.string_to_sign = "ACS3-HMAC-SHA256\n" + Sha256Hex(out.canonical_request);
  out.signed_headers = names;
  out.signature = str::HexEncode(HmacSha256(access_key_secret, out.string_to_sign));
  out.authorization = "ACS3-HMAC-SHA256 Credential=" + std::string(access_key_id) +
                      ",SignedHeaders=" + names + ",Signature=" + out.signature;
  return out;
}

}  // namespace vodfs::auth
