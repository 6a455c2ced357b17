// ObjectCrcs: the CRC-64 (x-oss-hash-crc64ecma) of each object the
// origins serve, computed once per object version and remembered, as OSS
// stores it with the object.
//
// Thread-safety: safe to call concurrently; two first requests for one
// object may both compute it.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "emulator/library.h"

namespace vodfs::emu {

class ObjectCrcs {
 public:
  // The CRC-64 of `blob` (the object `key`), or nothing if its bytes
  // cannot be read.
  std::optional<uint64_t> Of(const std::string& key, const Blob& blob);

 private:
  // Objects remembered; a demo library has a few hundred, the bench a few.
  static constexpr size_t kMax = 4096;
  std::mutex mu_;
  std::list<std::string> order_;  // front = most recent
  std::unordered_map<std::string, std::pair<uint64_t, std::list<std::string>::iterator>> crcs_;
};

}  // namespace vodfs::emu
