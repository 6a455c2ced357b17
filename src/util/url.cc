#include "vodfs/util/url.h"

#include <cctype>

#include "vodfs/util/strings.h"

namespace vodfs {
namespace {

// A host name or IPv4 address: none of the bytes that delimit the parts of
// a URL or may not appear in one (controls, space, brackets, ':').
bool IsName(std::string_view host) {
  for (unsigned char c : host) {
    if (c <= 0x20 || c == 0x7f || c == '[' || c == ']' || c == ':') return false;
  }
  return !host.empty();
}

// What brackets hold: an IPv6 address (hex digits, ':' and the '.' of an
// embedded IPv4 address).
bool IsIpv6(std::string_view host) {
  for (char c : host) {
    if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
  }
  return host.find(':') != std::string_view::npos;
}

}  // namespace

std::optional<Url> Url::Parse(std::string_view text) {
  Url u;
  size_t colon = text.find("://");
  if (colon == std::string_view::npos) return std::nullopt;
  u.scheme = str::ToLower(text.substr(0, colon));
  if (u.scheme != "http" && u.scheme != "https") return std::nullopt;
  std::string_view rest = text.substr(colon + 3);
  size_t auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  rest = auth_end == std::string_view::npos ? std::string_view() : rest.substr(auth_end);
  if (authority.find('@') != std::string_view::npos) return std::nullopt;  // no userinfo
  if (authority.empty()) return std::nullopt;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = str::ToLower(authority.substr(1, close - 1));
    if (!IsIpv6(u.host)) return std::nullopt;
    authority = authority.substr(close + 1);
    if (!authority.empty()) {
      if (authority.front() != ':') return std::nullopt;
      auto p = str::ParseInt64(authority.substr(1));
      if (!p || *p <= 0 || *p > 65535) return std::nullopt;
      u.port = static_cast<int>(*p);
    }
  } else {
    size_t pc = authority.rfind(':');
    if (pc != std::string_view::npos) {
      auto p = str::ParseInt64(authority.substr(pc + 1));
      if (!p || *p <= 0 || *p > 65535) return std::nullopt;
      u.port = static_cast<int>(*p);
      authority = authority.substr(0, pc);
    }
    u.host = str::ToLower(authority);
    // Only a host Origin() renders back as it came is a host.
    if (!IsName(u.host)) return std::nullopt;
  }
  size_t hash = rest.find('#');
  if (hash != std::string_view::npos) rest = rest.substr(0, hash);
  size_t q = rest.find('?');
  u.path = std::string(rest.substr(0, q));
  if (q != std::string_view::npos) u.query = std::string(rest.substr(q + 1));
  if (u.path.empty()) u.path = "/";
  return u;
}

std::string Url::Origin() const {
  std::string out = scheme + "://";
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port) out += ":" + std::to_string(port);
  return out;
}

std::string Url::ToString() const {
  std::string out = Origin() + path;
  if (!query.empty()) out += "?" + query;
  return out;
}

QueryParams ParseQuery(std::string_view raw, bool plus_is_space) {
  QueryParams out;
  for (const auto& part : str::Split(raw, '&', true)) {
    size_t eq = part.find('=');
    std::string_view name = std::string_view(part).substr(0, eq);
    std::string_view value =
        eq == std::string::npos ? std::string_view() : std::string_view(part).substr(eq + 1);
    auto n = str::PercentDecode(name, plus_is_space);
    auto v = str::PercentDecode(value, plus_is_space);
    out.emplace_back(n ? *n : std::string(name), v ? *v : std::string(value));
  }
  return out;
}

std::optional<std::string> QueryGet(const QueryParams& q, std::string_view name) {
  for (const auto& [k, v] : q) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::string QueryRemove(std::string_view raw, const std::vector<std::string>& names) {
  std::vector<std::string> kept;
  for (const auto& part : str::Split(raw, '&', true)) {
    size_t eq = part.find('=');
    auto name = str::PercentDecode(std::string_view(part).substr(0, eq));
    bool drop = false;
    for (const auto& n : names) {
      if (name && *name == n) drop = true;
    }
    if (!drop) kept.push_back(part);
  }
  return str::Join(kept, "&");
}

std::optional<std::string> ResolveUrl(std::string_view base, std::string_view ref) {
  if (ref.find("://") != std::string_view::npos) {
    auto u = Url::Parse(ref);
    if (!u) return std::nullopt;
    return std::string(ref);
  }
  auto b = Url::Parse(base);
  if (!b) return std::nullopt;
  if (ref.substr(0, 2) == "//") {
    std::string absolute = b->scheme + ":" + std::string(ref);
    if (!Url::Parse(absolute)) return std::nullopt;
    return absolute;
  }
  std::string path, query;
  size_t q = ref.find('?');
  std::string_view ref_path = ref.substr(0, q);
  if (q != std::string_view::npos) query = std::string(ref.substr(q + 1));
  if (ref_path.empty()) {
    path = b->path;
    if (q == std::string_view::npos) query = b->query;
  } else if (ref_path.front() == '/') {
    path = std::string(ref_path);
  } else {
    std::string dir = b->path.substr(0, b->path.rfind('/') + 1);
    path = dir + std::string(ref_path);
  }
  // Remove dot segments.
  std::vector<std::string> out;
  auto segs = str::Split(path, '/');
  for (size_t i = 1; i < segs.size(); ++i) {
    const std::string& s = segs[i];
    if (s == ".") {
      if (i + 1 == segs.size()) out.emplace_back();
    } else if (s == "..") {
      if (!out.empty()) out.pop_back();
      if (i + 1 == segs.size()) out.emplace_back();
    } else {
      out.push_back(s);
    }
  }
  Url r = *b;
  r.path = "/" + str::Join(out, "/");
  r.query = query;
  return r.ToString();
}

}  // namespace vodfs
