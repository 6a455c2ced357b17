// Media URL signatures: OSS V1 query-string signatures and CDN URL
// authentication types A, B and C, with parsers that read the expiry (or
// signing timestamp) back out of a URL and verifiers used by the emulator.
//
// Pure functions (time is passed in).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vodfs::auth {

// ---- OSS V1 -------------------------------------------------------------

// VERB\nContent-MD5\nContent-Type\nDate-or-Expires\nCanonicalizedOSSHeaders
// CanonicalizedResource. `oss_headers` keys are lower-cased and sorted here.
std::string OssStringToSign(std::string_view verb, std::string_view content_md5,
                            std::string_view content_type, std::string_view date_or_expires,
                            const std::map<std::string, std::string>& oss_headers,
                            std::string_view canonical_resource);
// Base64(HMAC-SHA1(secret, string_to_sign)) (no '&' suffix, unlike RPC).
std::string OssSignature(std::string_view access_key_secret, std::string_view string_to_sign);

struct OssPresignInput {
  std::string verb = "GET";
  std::string bucket;
  std::string object;  // key without leading '/', not percent-encoded
  int64_t expires = 0;  // absolute Unix seconds
  std::string access_key_id;
  std::string access_key_secret;
  std::string security_token;  // STS; empty if none
};
// "OSSAccessKeyId=...&Expires=...&Signature=...[&security-token=...]"
// (values percent-encoded).
std::string OssPresignQuery(const OssPresignInput& in);

// ---- CDN URL authentication ----------------------------------------------

enum class CdnAuthType { kNone, kA, kB, kC };
std::string_view CdnAuthTypeName(CdnAuthType t);
std::optional<CdnAuthType> ParseCdnAuthType(std::string_view s);

// Type A: returns the auth_key value "<ts>-<rand>-<uid>-<md5>" for `path`
// (starting with '/', percent-encoded form as sent on the wire).
std::string CdnSignTypeA(std::string_view path, int64_t timestamp, std::string_view rand,
                         std::string_view uid, std::string_view key);
// Type B: returns "/<YYYYMMDDHHMM UTC+8>/<md5>" + path.
std::string CdnSignTypeB(std::string_view path, int64_t timestamp, std::string_view key);
// Type C form 1: returns "/<md5>/<hex ts>" + path.
std::string CdnSignTypeC(std::string_view path, int64_t timestamp, std::string_view key);
// Type C form 2 parameter values.
struct CdnTypeC2 {
  std::string hash;
  std::string timestamp_hex;
};
CdnTypeC2 CdnSignTypeC2(std::string_view path, int64_t timestamp, std::string_view key);
// YYYYMMDDHHMM in UTC+8 for a Unix time, and back.
std::string CdnTypeBTimestamp(int64_t unix_seconds);
std::optional<int64_t> ParseCdnTypeBTimestamp(std::string_view s);

// ---- Parsing signed URLs --------------------------------------------------

enum class SignedUrlKind { kUnsigned, kOss, kOssV4, kCdnA, kCdnB, kCdnC, kCdnC2 };
std::string_view SignedUrlKindName(SignedUrlKind k);

struct SignedUrlInfo {
  SignedUrlKind kind = SignedUrlKind::kUnsigned;
  // OSS: absolute expiry from Expires. CDN: the signing timestamp (the URL
  // stays valid until timestamp + the domain's validity window). Unix
  // seconds from 1970 to 9999; a value outside is not read as a time (the
  // kind is still recognised).
  std::optional<int64_t> oss_expires;
  std::optional<int64_t> cdn_timestamp;
  // The object path with the signature removed (type B/C segments stripped),
  // still percent-encoded as on the wire; for re-signing.
  std::string bare_path;
  std::string origin;  // scheme://host[:port]
  // The query without signature parameters (raw).
  std::string bare_query;
  // Type A rand and uid fields, kept when re-signing.
  std::string cdn_rand = "0";
  std::string cdn_uid = "0";
};

struct ParseOptions {
  // Parameter names of type C form 2 (configurable on the CDN).
  std::string c2_hash_param = "KEY1";
  std::string c2_time_param = "KEY2";
};

// Never fails on a well-formed http(s) URL: an unrecognised URL is kUnsigned.
std::optional<SignedUrlInfo> ParseSignedUrl(std::string_view url, const ParseOptions& opts = {});

// Rebuilds a signed CDN URL for `info` with a new timestamp and key.
// REQUIRES: info.kind is one of the CDN kinds.
std::string ResignCdnUrl(const SignedUrlInfo& info, int64_t timestamp, std::string_view key,
                         const ParseOptions& opts = {});

// ---- Verification (the origin side) ---------------------------------------

enum class AuthVerdict { kOk, kMissing, kMalformed, kExpired, kBadSignature };
std::string_view AuthVerdictName(AuthVerdict v);

// Verifies a CDN request. `path` is the raw request path, `query` the raw
// query. For B and C form 1 the signature segments are stripped from `path`
// and the remaining object path is written to *object_path. Either key
// validates. A URL is expired when timestamp + delta < now.
AuthVerdict VerifyCdnRequest(CdnAuthType type, std::string_view path, std::string_view query,
                             const std::vector<std::string>& keys, int64_t delta_seconds,
                             int64_t now, std::string* object_path,
                             const ParseOptions& opts = {});

// Verifies an OSS presigned GET/HEAD: expiry first, then signature.
// `canonical_resource` is /bucket/object (decoded object name).
struct OssCredential {
  std::string access_key_id;
  std::string access_key_secret;
  std::string security_token;  // required when non-empty
};
AuthVerdict VerifyOssRequest(std::string_view verb, std::string_view canonical_resource,
                             std::string_view query,
                             const std::vector<OssCredential>& credentials, int64_t now);

}  // namespace vodfs::auth
