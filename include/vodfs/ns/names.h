// File names from untrusted titles.
//
// Rules: '/' becomes U+FF0F (FULLWIDTH SOLIDUS), NUL becomes U+2400 (SYMBOL
// FOR NULL), other control characters become '_', invalid UTF-8 bytes
// become U+FFFD; names are cut to 255 bytes on a UTF-8 boundary; "." and
// ".." are never produced; collisions get a deterministic suffix derived
// from a stable key (an id), never from the order of arrival.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vodfs::ns {

inline constexpr size_t kMaxName = 255;

// Makes `s` safe as (part of) a file name. Does not cut.
std::string SanitizeName(std::string_view s);

// "<title> [<id>]" cut so the whole is at most 255 bytes, or "<id>" when
// the scheme is "id" or the title is empty.
std::string MediaDirName(std::string_view title, std::string_view id, bool id_only);

// "<base>.<ext>" cut to 255 bytes keeping the extension; "." / ".." bases
// become "_" / "__".
std::string FileName(std::string_view base, std::string_view ext);

// A file extension (lower-case, 1..8 alphanumerics) from a file name or a
// URL path; `fallback` if there is none.
std::string ExtensionOf(std::string_view name_or_url, std::string_view fallback);

// "<title> [<id>].<ext>" (or "<id>.<ext>"), cutting only the title.
std::string MediaFileName(std::string_view title, std::string_view id, std::string_view ext, bool id_only);

struct NameRequest {
  std::string name;   // the name wanted
  std::string order;  // who keeps the plain name: the smallest `order`
  std::string tag;    // what the others get as " [<tag>]" before the extension
};

// Resolves collisions deterministically (never by order of arrival).
// Returns names in the input order.
std::vector<std::string> UniqueNames(const std::vector<NameRequest>& wanted);

}  // namespace vodfs::ns
