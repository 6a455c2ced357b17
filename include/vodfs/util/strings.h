// Small string and encoding helpers shared by every module.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vodfs::str {

// Percent-encoding as Alibaba Cloud signs it (RFC 3986): A-Z a-z 0-9 - _ . ~
// stay, every other byte becomes %XY with upper-case hex (space -> %20).
std::string PercentEncode(std::string_view s);
// Like PercentEncode but keeps '/' (for URL paths).
std::string PercentEncodePath(std::string_view s);
// Decodes %XY escapes; '+' becomes a space only if `plus_is_space`.
// Returns nullopt for a malformed escape.
std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space = false);

std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);
std::string HexEncode(std::string_view bytes, bool upper = false);
std::optional<std::string> HexDecode(std::string_view hex);

std::vector<std::string> Split(std::string_view s, char sep, bool skip_empty = false);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
std::string_view Trim(std::string_view s);
std::string ToLower(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool StartsWith(std::string_view s, std::string_view prefix);
bool EndsWith(std::string_view s, std::string_view suffix);

// Strict decimal parsers: the whole (trimmed) string must be a number.
std::optional<int64_t> ParseInt64(std::string_view s);
std::optional<uint64_t> ParseUint64(std::string_view s);
std::optional<double> ParseDouble(std::string_view s);
// Parses sizes such as "4096", "64K", "1.5MiB", "2G" (binary units).
std::optional<uint64_t> ParseSize(std::string_view s);
// "1.0 GiB", "512 KiB", "17 B".
std::string FormatSize(uint64_t bytes);

// Valid UTF-8 check (no overlongs, no surrogates).
bool IsValidUtf8(std::string_view s);
// Length of the longest prefix of `s` of at most `max_bytes` that does not
// split a UTF-8 sequence.
size_t Utf8PrefixLength(std::string_view s, size_t max_bytes);

// Random identifiers from a process-wide CSPRNG-seeded generator.
std::string RandomHex(size_t n_chars);
std::string RandomUuid();  // 8-4-4-4-12 lower-case

// 64-bit mixing function (splitmix64 finaliser); deterministic hashing.
inline uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
// FNV-1a based 64-bit hash of a string, mixed; stable across runs and builds.
uint64_t StableHash64(std::string_view s, uint64_t seed = 0);

}  // namespace vodfs::str
