#include "vodfs/auth/url_signer.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>

#include "vodfs/auth/crypto.h"
#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"
#include "vodfs/util/url.h"

namespace vodfs::auth {
namespace {

constexpr int64_t kUtc8 = 8 * 3600;

bool IsHexString(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c));
  });
}

std::optional<int64_t> ParseHexTimestamp(std::string_view s) {
  if (s.empty() || s.size() > 15 || !IsHexString(s)) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                                                        : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
    v = v * 16 + d;
  }
  return v;
}

std::string HexTimestamp(int64_t t) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%llx", static_cast<unsigned long long>(t));
  return buf;
}

// A type C signature in the query (form 2): a 32-digit hex hash and a hex
// timestamp. The parser and the verifier both read a URL that has one as
// signed in the query, whatever its path looks like.
std::optional<int64_t> FormTwoTimestamp(const std::optional<std::string>& hash,
                                        const std::optional<std::string>& timestamp) {
  if (!hash || !timestamp || hash->size() != 32 || !IsHexString(*hash)) return std::nullopt;
  return ParseHexTimestamp(*timestamp);
}

// A time read from a URL, if it is one (1970-01-01 .. 9999-12-31): what
// the URL broker adds lifetimes to cannot overflow.
std::optional<int64_t> UrlTime(std::optional<int64_t> t) {
  constexpr int64_t kLast = 253402300799;
  if (t && (*t < 0 || *t > kLast)) return std::nullopt;
  return t;
}

// Plausible signing times: 2000-01-01 .. 2100-01-01. Guards the detection of
// path-signed URLs against ordinary paths that happen to look similar.
bool PlausibleTime(int64_t t) { return t >= 946684800 && t < 4102444800; }

// Splits "/a/b/rest..." into the first two segments and the remainder
// ("/rest..."). Returns false if there are fewer than three segments.
bool SplitTwoSegments(std::string_view path, std::string_view* a, std::string_view* b,
                      std::string_view* rest) {
  if (path.empty() || path[0] != '/') return false;
  size_t s1 = path.find('/', 1);
  if (s1 == std::string_view::npos) return false;
  size_t s2 = path.find('/', s1 + 1);
  if (s2 == std::string_view::npos) return false;
  *a = path.substr(1, s1 - 1);
  *b = path.substr(s1 + 1, s2 - s1 - 1);
  *rest = path.substr(s2);
  return true;
}

// A signature made at `ts` is expired when ts + delta < now, for every
// timestamp a request may carry (a sum past the range of int64_t is a time
// after any `now`).
bool Expired(int64_t ts, int64_t delta, int64_t now) {
  int64_t until;
  if (__builtin_add_overflow(ts, delta, &until)) return delta < 0;
  return until < now;
}

bool AnyKeyMatches(const std::vector<std::string>& keys, std::string_view given_md5,
                   const std::function<std::string(std::string_view key)>& compute) {
  bool ok = false;
  for (const auto& k : keys) {
    if (k.empty()) continue;
    // Evaluate all keys to keep timing independent of which key matched.
    ok |= ConstantTimeEquals(compute(k), str::ToLower(given_md5));
  }
  return ok;
}

}  // namespace

// ---- OSS -------------------------------------------------------------------

std::string OssStringToSign(std::string_view verb, std::string_view content_md5,
                            std::string_view content_type, std::string_view date_or_expires,
                            const std::map<std::string, std::string>& oss_headers,
                            std::string_view canonical_resource) {
  std::map<std::string, std::string> lower;
  for (const auto& [k, v] : oss_headers) lower[str::ToLower(k)] = std::string(str::Trim(v));
  std::string out;
  out.append(verb).append("\n");
  out.append(content_md5).append("\n");
  out.append(content_type).append("\n");
  out.append(date_or_expires).append("\n");
  for (const auto& [k, v] : lower) out += k + ":" + v + "\n";
  out.append(canonical_resource);
  return out;
}

std::string OssSignature(std::string_view access_key_secret, std::string_view string_to_sign) {
  return str::Base64Encode(HmacSha1(access_key_secret, string_to_sign));
}

namespace {
std::string OssResource(std::string_view bucket_resource, std::string_view security_token) {
  std::string r(bucket_resource);
  if (!security_token.empty()) r += "?security-token=" + std::string(security_token);
  return r;
}
}  // namespace

std::string OssPresignQuery(const OssPresignInput& in) {
  std::string resource = "/" + in.bucket + "/" + in.object;
  std::string sts = OssStringToSign(in.verb, "", "", std::to_string(in.expires), {},
                                    OssResource(resource, in.security_token));
  std::string sig = OssSignature(in.access_key_secret, sts);
  std::string q = "OSSAccessKeyId=" + str::PercentEncode(in.access_key_id) +
                  "&Expires=" + std::to_string(in.expires) + "&Signature=" + str::PercentEncode(sig);
  if (!in.security_token.empty()) q += "&security-token=" + str::PercentEncode(in.security_token);
  return q;
}

// ---- CDN -------------------------------------------------------------------

std::string_view CdnAuthTypeName(CdnAuthType t) {
  switch (t) {
    case CdnAuthType::kNone: return "none";
    case CdnAuthType::kA: return "A";
    case CdnAuthType::kB: return "B";
    case CdnAuthType::kC: return "C";
  }
  return "none";
}

std::optional<CdnAuthType> ParseCdnAuthType(std::string_view s) {
  std::string l = str::ToLower(s);
  if (l == "none" || l == "off" || l.empty()) return CdnAuthType::kNone;
  if (l == "a" || l == "type_a") return CdnAuthType::kA;
  if (l == "b" || l == "type_b") return CdnAuthType::kB;
  if (l == "c" || l == "type_c") return CdnAuthType::kC;
  return std::nullopt;
}

std::string CdnSignTypeA(std::string_view path, int64_t timestamp, std::string_view rand,
                         std::string_view uid, std::string_view key) {
  std::string ts = std::to_string(timestamp);
  std::string input = std::string(path) + "-" + ts + "-" + std::string(rand) + "-" +
                      std::string(uid) + "-" + std::string(key);
  return ts + "-" + std::string(rand) + "-" + std::string(uid) + "-" + Md5Hex(input);
}

std::string CdnTypeBTimestamp(int64_t unix_seconds) {
  int64_t t = unix_seconds + kUtc8;
  int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  int64_t secs = t - days * 86400;
  int64_t y;
  unsigned m, d;
  timefmt::CivilFromDays(days, &y, &m, &d);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04lld%02u%02u%02u%02u", static_cast<long long>(y), m, d,
                static_cast<unsigned>(secs / 3600), static_cast<unsigned>(secs / 60 % 60));
  return buf;
}

std::optional<int64_t> ParseCdnTypeBTimestamp(std::string_view s) {
  if (s.size() != 12 || !std::all_of(s.begin(), s.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      }))
    return std::nullopt;
  auto num = [&](size_t pos, size_t n) { return std::stoi(std::string(s.substr(pos, n))); };
  int y = num(0, 4), mo = num(4, 2), d = num(6, 2), h = num(8, 2), mi = num(10, 2);
  if (!timefmt::IsCivilDate(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) || h > 23 || mi > 59) {
    return std::nullopt;
  }
  return timefmt::DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
         h * 3600 + mi * 60 - kUtc8;
}

std::string CdnSignTypeB(std::string_view path, int64_t timestamp, std::string_view key) {
  std::string ts = CdnTypeBTimestamp(timestamp);
  std::string md5 = Md5Hex(std::string(key) + ts + std::string(path));
  return "/" + ts + "/" + md5 + std::string(path);
}

std::string CdnSignTypeC(std::string_view path, int64_t timestamp, std::string_view key) {
  std::string ts = HexTimestamp(timestamp);
  std::string md5 = Md5Hex(std::string(key) + std::string(path) + ts);
  return "/" + md5 + "/" + ts + std::string(path);
}

CdnTypeC2 CdnSignTypeC2(std::string_view path, int64_t timestamp, std::string_view key) {
  std::string ts = HexTimestamp(timestamp);
  return {Md5Hex(std::string(key) + std::string(path) + ts), ts};
}

// ---- Parsing -----------------------------------------------------------------

std::string_view SignedUrlKindName(SignedUrlKind k) {
  switch (k) {
    case SignedUrlKind::kUnsigned: return "unsigned";
    case SignedUrlKind::kOss: return "oss";
    case SignedUrlKind::kOssV4: return "oss-v4";
    case SignedUrlKind::kCdnA: return "cdn-a";
    case SignedUrlKind::kCdnB: return "cdn-b";
    case SignedUrlKind::kCdnC: return "cdn-c";
    case SignedUrlKind::kCdnC2: return "cdn-c2";
  }
  return "unsigned";
}

std::optional<SignedUrlInfo> ParseSignedUrl(std::string_view text, const ParseOptions& opts) {
  auto url = Url::Parse(text);
  if (!url) return std::nullopt;
  SignedUrlInfo info;
  info.origin = url->Origin();
  info.bare_path = url->path;
  info.bare_query = url->query;
  QueryParams q = ParseQuery(url->query, false);

  auto expires = QueryGet(q, "Expires");
  if (QueryGet(q, "OSSAccessKeyId") && QueryGet(q, "Signature") && expires) {
    info.kind = SignedUrlKind::kOss;
    info.oss_expires = UrlTime(str::ParseInt64(*expires));
    info.bare_query =
        QueryRemove(url->query, {"OSSAccessKeyId", "Expires", "Signature", "security-token"});
    return info;
  }
  if (QueryGet(q, "x-oss-signature")) {
    info.kind = SignedUrlKind::kOssV4;
    auto date = QueryGet(q, "x-oss-date");
    auto exp = QueryGet(q, "x-oss-expires");
    if (date && exp && date->size() == 16) {
      // YYYYMMDDTHHMMSSZ
      std::string iso = date->substr(0, 4) + "-" + date->substr(4, 2) + "-" + date->substr(6, 2) +
                        "T" + date->substr(9, 2) + ":" + date->substr(11, 2) + ":" +
                        date->substr(13, 2) + "Z";
      auto t = UrlTime(timefmt::ParseIso8601(iso));
      auto e = UrlTime(str::ParseInt64(*exp));  // seconds after the date
      if (t && e) info.oss_expires = UrlTime(*t + *e);
    }
    info.bare_query = QueryRemove(url->query, {"x-oss-signature", "x-oss-date", "x-oss-expires",
                                               "x-oss-credential", "x-oss-signature-version",
                                               "x-oss-additional-headers", "x-oss-security-token"});
    return info;
  }
  if (auto ak = QueryGet(q, "auth_key")) {
    auto parts = str::Split(*ak, '-');
    if (parts.size() == 4) {
      info.kind = SignedUrlKind::kCdnA;
      info.cdn_timestamp = UrlTime(str::ParseInt64(parts[0]));
      info.cdn_rand = parts[1];
      info.cdn_uid = parts[2];
      info.bare_query = QueryRemove(url->query, {"auth_key"});
      return info;
    }
  }
  if (auto t = FormTwoTimestamp(QueryGet(q, opts.c2_hash_param), QueryGet(q, opts.c2_time_param))) {
    info.kind = SignedUrlKind::kCdnC2;
    info.cdn_timestamp = UrlTime(*t);
    info.bare_query = QueryRemove(url->query, {opts.c2_hash_param, opts.c2_time_param});
    return info;
  }
  std::string_view a, b, rest;
  if (SplitTwoSegments(url->path, &a, &b, &rest)) {
    if (b.size() == 32 && IsHexString(b)) {
      if (auto t = ParseCdnTypeBTimestamp(a); t && PlausibleTime(*t)) {
        info.kind = SignedUrlKind::kCdnB;
        info.cdn_timestamp = *t;
        info.bare_path = std::string(rest);
        return info;
      }
    }
    if (a.size() == 32 && IsHexString(a) && b.size() == 8) {
      if (auto t = ParseHexTimestamp(b); t && PlausibleTime(*t)) {
        info.kind = SignedUrlKind::kCdnC;
        info.cdn_timestamp = *t;
        info.bare_path = std::string(rest);
        return info;
      }
    }
  }
  return info;
}

std::string ResignCdnUrl(const SignedUrlInfo& info, int64_t timestamp, std::string_view key,
                         const ParseOptions& opts) {
  std::string query = info.bare_query;
  auto append = [&query](const std::string& kv) {
    if (!query.empty()) query += "&";
    query += kv;
  };
  std::string path = info.bare_path;
  switch (info.kind) {
    case SignedUrlKind::kCdnA:
      // rand and uid are as the query decoded them: encoded again, a '&'
      // or '%' in them stays part of the value (digits, letters and '-'
      // are left as they are).
      append("auth_key=" +
             str::PercentEncode(CdnSignTypeA(info.bare_path, timestamp, info.cdn_rand, info.cdn_uid, key)));
      break;
    case SignedUrlKind::kCdnB:
      path = CdnSignTypeB(info.bare_path, timestamp, key);
      break;
    case SignedUrlKind::kCdnC:
      path = CdnSignTypeC(info.bare_path, timestamp, key);
      break;
    case SignedUrlKind::kCdnC2: {
      auto c2 = CdnSignTypeC2(info.bare_path, timestamp, key);
      append(opts.c2_hash_param + "=" + c2.hash);
      append(opts.c2_time_param + "=" + c2.timestamp_hex);
      break;
    }
    default:
      break;
  }
  return info.origin + path + (query.empty() ? "" : "?" + query);
}

// ---- Verification ------------------------------------------------------------

std::string_view AuthVerdictName(AuthVerdict v) {
  switch (v) {
    case AuthVerdict::kOk: return "ok";
    case AuthVerdict::kMissing: return "missing";
    case AuthVerdict::kMalformed: return "malformed";
    case AuthVerdict::kExpired: return "expired";
    case AuthVerdict::kBadSignature: return "bad_signature";
  }
  return "?";
}

AuthVerdict VerifyCdnRequest(CdnAuthType type, std::string_view path, std::string_view query,
                             const std::vector<std::string>& keys, int64_t delta_seconds,
                             int64_t now, std::string* object_path, const ParseOptions& opts) {
  *object_path = std::string(path);
  QueryParams q = ParseQuery(query, false);
  switch (type) {
    case CdnAuthType::kNone:
      return AuthVerdict::kOk;
    case CdnAuthType::kA: {
      auto ak = QueryGet(q, "auth_key");
      if (!ak) return AuthVerdict::kMissing;
      auto parts = str::Split(*ak, '-');
      if (parts.size() != 4 || parts[3].size() != 32) return AuthVerdict::kMalformed;
      auto ts = str::ParseInt64(parts[0]);
      if (!ts) return AuthVerdict::kMalformed;
      bool ok = AnyKeyMatches(keys, parts[3], [&](std::string_view key) {
        return Md5Hex(std::string(path) + "-" + parts[0] + "-" + parts[1] + "-" + parts[2] + "-" +
                      std::string(key));
      });
      if (!ok) return AuthVerdict::kBadSignature;
      return Expired(*ts, delta_seconds, now) ? AuthVerdict::kExpired : AuthVerdict::kOk;
    }
    case CdnAuthType::kB: {
      std::string_view a, b, rest;
      if (!SplitTwoSegments(path, &a, &b, &rest)) return AuthVerdict::kMissing;
      auto ts = ParseCdnTypeBTimestamp(a);
      if (!ts || b.size() != 32) return AuthVerdict::kMissing;
      *object_path = std::string(rest);
      bool ok = AnyKeyMatches(keys, b, [&](std::string_view key) {
        return Md5Hex(std::string(key) + std::string(a) + std::string(rest));
      });
      if (!ok) return AuthVerdict::kBadSignature;
      return Expired(*ts, delta_seconds, now) ? AuthVerdict::kExpired : AuthVerdict::kOk;
    }
    case CdnAuthType::kC: {
      std::string hash, ts_hex;
      std::string signed_path(path);
      auto h = QueryGet(q, opts.c2_hash_param);
      auto t = QueryGet(q, opts.c2_time_param);
      std::string_view a, b, rest;
      if (FormTwoTimestamp(h, t)) {
        hash = *h;
        ts_hex = *t;
      } else if (SplitTwoSegments(path, &a, &b, &rest) && a.size() == 32 && IsHexString(a)) {
        hash = std::string(a);
        ts_hex = std::string(b);
        signed_path = std::string(rest);
      } else if (h && t) {
        return AuthVerdict::kMalformed;
      } else {
        return AuthVerdict::kMissing;
      }
      auto ts = ParseHexTimestamp(ts_hex);
      if (!ts || hash.size() != 32) return AuthVerdict::kMalformed;
      *object_path = signed_path;
      bool ok = AnyKeyMatches(keys, hash, [&](std::string_view key) {
        return Md5Hex(std::string(key) + signed_path + ts_hex);
      });
      if (!ok) return AuthVerdict::kBadSignature;
      return Expired(*ts, delta_seconds, now) ? AuthVerdict::kExpired : AuthVerdict::kOk;
    }
  }
  return AuthVerdict::kMalformed;
}

AuthVerdict VerifyOssRequest(std::string_view verb, std::string_view canonical_resource,
                             std::string_view query,
                             const std::vector<OssCredential>& credentials, int64_t now) {
  QueryParams q = ParseQuery(query, false);
  auto akid = QueryGet(q, "OSSAccessKeyId");
  auto expires = QueryGet(q, "Expires");
  auto sig = QueryGet(q, "Signature");
  if (!akid || !expires || !sig) return AuthVerdict::kMissing;
  auto exp = str::ParseInt64(*expires);
  if (!exp) return AuthVerdict::kMalformed;
  if (*exp < now) return AuthVerdict::kExpired;
  auto token = QueryGet(q, "security-token");
  for (const auto& cred : credentials) {
    if (cred.access_key_id != *akid) continue;
    if (!cred.security_token.empty() && (!token || *token != cred.security_token))
      return AuthVerdict::kBadSignature;
    std::string sts = OssStringToSign(verb, "", "", *expires, {},
                                      OssResource(canonical_resource, token ? *token : ""));
    return ConstantTimeEquals(OssSignature(cred.access_key_secret, sts), *sig)
               ? AuthVerdict::kOk
               : AuthVerdict::kBadSignature;
  }
  return AuthVerdict::kBadSignature;
}

}  // namespace vodfs::auth
