// VersionStore: what a persistent tier remembers of object versions across
// mounts, behind an interface so that the read path does not depend on
// the disk tier that implements it.
//
// For each object version (a block-key object string): the reference it
// belongs to and its version; the CRC-64 of each block it holds; and
// whether the object was verified whole against its origin's CRC-64 (such
// an object is never verified again).
//
// Thread-safety: implementations are safe to call concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vodfs::cache {

// An object version as a persistent tier stores it.
struct StoredVersion {
  uint64_t size = 0;
  std::string etag;
  std::string last_modified;
  std::optional<uint64_t> crc64;  // the origin's CRC-64 of the whole object
};

class VersionStore {
 public:
  virtual ~VersionStore() = default;
  // The newest version held of `ref`, if any.
  virtual std::optional<StoredVersion> Known(const std::string& ref) const = 0;
  // Records the identity of `object` for the blocks stored of it.
  virtual void Describe(const std::string& object, const std::string& ref, const StoredVersion& version) = 0;
  virtual bool Verified(const std::string& object) const = 0;
  // `blocks`: how many blocks the object has.
  virtual void MarkVerified(const std::string& object, uint64_t blocks) = 0;
  // (block index, CRC-64) of each block held of `object`.
  virtual std::vector<std::pair<uint64_t, uint64_t>> BlockCrcs(const std::string& object, uint64_t blocks) const = 0;
  // Forgets every block of `object` (they did not verify).
  virtual void DropObject(const std::string& object, uint64_t blocks) = 0;
};

}  // namespace vodfs::cache
