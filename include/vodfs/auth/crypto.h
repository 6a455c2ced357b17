// Hashes and MACs. This module is the only user of OpenSSL in vodfs.
#pragma once

#include <string>
#include <string_view>

namespace vodfs::auth {

// Raw digests (binary strings).
std::string HmacSha1(std::string_view key, std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);
std::string Sha256(std::string_view data);
std::string Md5(std::string_view data);

// Lower-case hex helpers.
std::string Sha256Hex(std::string_view data);
std::string Md5Hex(std::string_view data);

// Constant-time comparison for signatures.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace vodfs::auth
