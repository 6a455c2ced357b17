// Alibaba Cloud RPC request signatures: V2 (HMAC-SHA1, signature in the
// parameters) and V3 (ACS3-HMAC-SHA256, signature in an Authorization
// header). Pure functions: no clock, no randomness, no I/O. The caller
// supplies Timestamp and SignatureNonce, which keeps them testable with the
// documented vectors.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace vodfs::auth {

// Parameters sorted by name in byte order, as V2 canonicalisation requires.
using RpcParams = std::map<std::string, std::string>;

// name=value pairs, both percent-encoded, joined with '&', in name order.
// Used for the canonical query string and for the request's query/body.
std::string CanonicalizedQuery(const RpcParams& params);

// METHOD & %2F & percentEncode(CanonicalizedQuery(params minus Signature)).
std::string RpcV2StringToSign(std::string_view http_method, const RpcParams& params);

// Base64(HMAC-SHA1(secret + "&", string_to_sign)).
std::string RpcV2Signature(std::string_view access_key_secret, std::string_view string_to_sign);

// Signs in place: sets params["Signature"]. The caller has already set the
// common parameters (AccessKeyId, SignatureMethod, SignatureNonce, ...).
void RpcV2Sign(std::string_view http_method, std::string_view access_key_secret,
               RpcParams& params);

// --- V3 ---------------------------------------------------------------

struct RpcV3Request {
  std::string method = "POST";
  std::string canonical_uri = "/";
  RpcParams query;                           // query parameters (encoded here)
  std::map<std::string, std::string> headers;  // host, x-acs-*, content-type
  std::string body;                          // exact bytes sent
};

struct RpcV3Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;
  std::string signature;      // lower-case hex
  std::string authorization;  // full Authorization header value
};

// Signs `req`. Header names are matched case-insensitively; host,
// content-type and every x-acs-* header are signed. The request must already
// carry x-acs-content-sha256 (see Sha256Hex of the body).
RpcV3Signature RpcV3Sign(const RpcV3Request& req, std::string_view access_key_id,
                         std::string_view access_key_secret);

}  // namespace vodfs::auth
