// A minimal absolute-URL splitter for http(s) URLs, and query helpers.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vodfs {

// Parse accepts host names and IPv4 addresses (without the bytes that
// delimit URL parts: controls, space, brackets, ':') and IPv6 addresses in
// brackets; a parsed URL renders (ToString) to a URL that parses the same.
struct Url {
  std::string scheme;  // "http" or "https", lower-case
  std::string host;    // without brackets for IPv6
  int port = 0;        // 0 = scheme default
  std::string path;    // raw (still percent-encoded), starts with '/'
  std::string query;   // raw, without '?'; empty if none

  static std::optional<Url> Parse(std::string_view text);
  // scheme://host[:port]
  std::string Origin() const;
  std::string ToString() const;
  int EffectivePort() const { return port ? port : (scheme == "https" ? 443 : 80); }
};

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Splits a raw query ("a=1&b=%2F") into decoded pairs, in order.
QueryParams ParseQuery(std::string_view raw, bool plus_is_space = true);
// First value for `name` (OSS rule: the first occurrence wins).
std::optional<std::string> QueryGet(const QueryParams& q, std::string_view name);
// Removes every parameter named in `names` from a raw query, keeping the
// others byte-for-byte.
std::string QueryRemove(std::string_view raw, const std::vector<std::string>& names);

// Resolves `ref` (absolute URL, absolute path or relative path) against an
// absolute base URL, RFC 3986 style (no dot-segment games beyond "./", "../").
std::optional<std::string> ResolveUrl(std::string_view base, std::string_view ref);

}  // namespace vodfs
