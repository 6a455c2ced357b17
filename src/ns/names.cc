#include "vodfs/ns/names.h"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <unordered_set>

#include "vodfs/util/strings.h"

namespace vodfs::ns {

std::string SanitizeName(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '/') {
      out += "\xEF\xBC\x8F";  // U+FF0F
      ++i;
    } else if (c == 0) {
      out += "\xE2\x90\x80";  // U+2400
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      out += '_';
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else {
      // Copy one well-formed UTF-8 sequence, or replace one bad byte.
      size_t n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
      if (n && i + n <= s.size() && str::IsValidUtf8(s.substr(i, n))) {
        out.append(s.substr(i, n));
        i += n;
      } else {
        out += "\xEF\xBF\xBD";  // U+FFFD
        ++i;
      }
    }
  }
  return out;
}

namespace {

std::string NoDots(std::string s) {
  if (s == ".") return "_";
  if (s == "..") return "__";
  return s;
}

std::string Cut(const std::string& s, size_t max) { return s.substr(0, str::Utf8PrefixLength(s, max)); }

}  // namespace

std::string MediaDirName(std::string_view title, std::string_view id, bool id_only) {
  const std::string safe_id = SanitizeName(id);
  std::string t = SanitizeName(title);
  if (id_only || std::all_of(t.begin(), t.end(), [](char c) { return c == ' '; })) {
    return NoDots(Cut(safe_id, kMaxName));
  }
  const std::string suffix = " [" + safe_id + "]";
  if (suffix.size() >= kMaxName) return NoDots(Cut(safe_id, kMaxName));
  return Cut(t, kMaxName - suffix.size()) + suffix;
}

std::string FileName(std::string_view base, std::string_view ext) {
  std::string b = SanitizeName(base);
  std::string e = SanitizeName(ext);
  if (e.empty()) return NoDots(Cut(b, kMaxName));
  const std::string dot_ext = "." + e;
  if (dot_ext.size() >= kMaxName) return NoDots(Cut(b + dot_ext, kMaxName));
  b = Cut(b, kMaxName - dot_ext.size());
  if (b.empty()) b = "_";
  return b + dot_ext;
}

std::string ExtensionOf(std::string_view name, std::string_view fallback) {
  size_t q = name.find_first_of("?#");
  if (name.find("://") != std::string_view::npos && q != std::string_view::npos) name = name.substr(0, q);
  size_t slash = name.rfind('/');
  if (slash != std::string_view::npos) name = name.substr(slash + 1);
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return std::string(fallback);
  std::string ext = str::ToLower(name.substr(dot + 1));
  if (ext.empty() || ext.size() > 8 ||
      !std::all_of(ext.begin(), ext.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); })) {
    return std::string(fallback);
  }
  return ext;
}

std::string MediaFileName(std::string_view title, std::string_view id, std::string_view ext, bool id_only) {
  const std::string dot_ext = ext.empty() ? "" : "." + SanitizeName(ext);
  std::string t = SanitizeName(title);
  const std::string safe_id = SanitizeName(id);
  const bool blank = std::all_of(t.begin(), t.end(), [](char c) { return c == ' '; });
  if (id_only || blank) return NoDots(Cut(safe_id, kMaxName - std::min(kMaxName, dot_ext.size())) + dot_ext);
  const std::string suffix = " [" + safe_id + "]" + dot_ext;
  if (suffix.size() >= kMaxName) return NoDots(Cut(safe_id + dot_ext, kMaxName));
  return Cut(t, kMaxName - suffix.size()) + suffix;
}

std::vector<std::string> UniqueNames(const std::vector<NameRequest>& wanted) {
  std::vector<size_t> order(wanted.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return wanted[a].order < wanted[b].order; });
  std::vector<std::string> out(wanted.size());
  // Views of names in `wanted` and `out`, which outlive the set.
  std::unordered_set<std::string_view> taken;
  taken.reserve(wanted.size());
  std::vector<size_t> clashing;
  for (size_t i : order) {
    if (taken.insert(wanted[i].name).second) {
      out[i] = wanted[i].name;
    } else {
      clashing.push_back(i);
    }
  }
  for (size_t i : clashing) {
    const std::string& name = wanted[i].name;
    size_t dot = name.rfind('.');
    const bool has_ext = dot != std::string::npos && dot != 0;
    const std::string stem = has_ext ? name.substr(0, dot) : name;
    const std::string ext = has_ext ? name.substr(dot) : "";
    auto make = [&](const std::string& tag) {
      const std::string t = " [" + SanitizeName(tag) + "]";
      const size_t room = kMaxName > t.size() + ext.size() ? kMaxName - t.size() - ext.size() : 0;
      return NoDots(Cut(Cut(stem, room) + t + ext, kMaxName));
    };
    std::string candidate = make(wanted[i].tag);
    for (int n = 2; taken.contains(candidate); ++n) candidate = make(wanted[i].tag + "-" + std::to_string(n));
    out[i] = std::move(candidate);
    taken.insert(out[i]);
  }
  return out;
}

}  // namespace vodfs::ns
