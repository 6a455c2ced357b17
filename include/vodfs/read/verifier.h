// Verifier: checks each object against its origin's CRC-64 as soon as
// every block of it has been seen, whatever order the blocks came in.
//
// Every block arriving from the origin carries the CRC-64 of its bytes
// (computed as they arrived); the disk tier keeps it with the block. The
// CRC-64s of consecutive blocks combine into the CRC-64 of the object,
// which OSS sends with every answer (x-oss-hash-crc64ecma). Once the last
// missing block is noted, the combination is compared:
//  - equal: the object is verified, and marked so in the version store
//    (never verified again);
//  - different, or one block seen twice with two different contents: the
//    object is corrupt somewhere. The note that found it says so (its read
//    fails with EIO), and Failures(object) counts up, which fails every
//    read of a handle opened before (see Reader).
// An object whose origin sends no CRC-64 cannot be verified, nor can one
// that is never read whole (a partial random read); SEMANTICS.md says so.
//
// State per object: one CRC-64 and one bit per block (16 KiB for a 1 GiB
// object of 64 KiB blocks), for at most `max_objects` objects at a time;
// the least recently noted one is forgotten past that (its verification
// then starts over, seeded with what the version store holds).
//
// Thread-safety: safe to call concurrently.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "vodfs/cache/version_store.h"
#include "vodfs/util/crc64.h"
#include "vodfs/util/mutex.h"

namespace vodfs::read {

// The object a block belongs to: its cache identity, size and the CRC-64
// its origin announced (if any).
struct ObjectId {
  std::string object;
  uint64_t size = 0;
  std::optional<uint64_t> crc64;
  // The object's failure count the bytes were fetched under: bytes of a
  // transfer that began before the object was last condemned are not
  // noted (they may come from the same faulty path). Unset: any.
  std::optional<uint64_t> epoch;
};

struct VerifierStats {
  uint64_t verified = 0;     // objects found whole and right
  uint64_t mismatches = 0;   // objects found corrupt
  uint64_t unverifiable = 0;  // notes of objects without a CRC-64
  uint64_t tracked = 0;      // objects being followed now
};

class Verifier {
 public:
  enum class Verdict {
    kPending,       // blocks still missing
    kVerified,      // this note completed the object, and it is right
    kKnownGood,     // verified earlier
    kMismatch,      // this note completed the object, and it is wrong
    kUnverifiable,  // the origin sent no CRC-64
    kCondemned,     // the object was condemned since the bytes' transfer began: not noted
  };
  struct Outcome {
    Verdict verdict = Verdict::kPending;
    uint64_t expected = 0, computed = 0;  // for kMismatch
  };

  // `store` (may be null): where verified objects are marked and the
  // CRC-64s of stored blocks are found.
  Verifier(uint64_t block_size, cache::VersionStore* store, size_t max_objects = 256);

  // Block `index` of `id` has CRC-64 `crc`.
  Outcome Note(const ObjectId& id, uint64_t index, uint64_t crc);
  // How many times `object` was found corrupt in this process.
  uint64_t Failures(const std::string& object) const;
  bool Verified(const std::string& object) const;
  VerifierStats Stats() const;

 private:
  struct State {
    std::string object;
    std::vector<uint64_t> crc;
    std::vector<bool> have;
    uint64_t count = 0;
    std::list<std::string>::iterator lru;
  };
  uint64_t Combine(const State& s, uint64_t size) const;
  State& StateFor(const ObjectId& id, uint64_t blocks) REQUIRES(mu_);
  void Forget(const std::string& object) REQUIRES(mu_);

  const uint64_t bs_;
  cache::VersionStore* store_;
  const size_t max_objects_;
  const Crc64Shift shift_;  // appends one whole block
  mutable Mutex mu_;
  std::unordered_map<std::string, State> states_ GUARDED_BY(mu_);
  std::list<std::string> lru_ GUARDED_BY(mu_);  // front = most recently noted
  // Objects verified in this process (the store keeps them across mounts);
  // bounded like the states.
  std::unordered_map<std::string, std::list<std::string>::iterator> good_ GUARDED_BY(mu_);
  std::list<std::string> good_lru_ GUARDED_BY(mu_);
  std::unordered_map<std::string, uint64_t> failures_ GUARDED_BY(mu_);
  VerifierStats stats_ GUARDED_BY(mu_);
};

}  // namespace vodfs::read
