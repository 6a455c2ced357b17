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

// Incremental SHA-256 for large bodies.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  void Update(std::string_view data);
  std::string FinalHex();  // lower-case hex; the hasher is then spent

 private:
  void* ctx_;  // EVP_MD_CTX
};

// Constant-time comparison for signatures.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace vodfs::auth
