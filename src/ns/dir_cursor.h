// Namespace::DirCursor: where the reading of one open directory is.
// Private to the namespace.
#pragma once

#include <string>
#include <vector>

#include "vodfs/ns/namespace.h"

namespace vodfs::ns {

// A directory being read. Small directories are taken whole at open (stable
// offsets); videos/, audio/, images/ and category directories continue from
// the last name returned.
class Namespace::DirCursor {
 public:
  Ino dir = 0;
  DirType type = DirType::kRoot;
  index::MediaKind kind = index::MediaKind::kVideo;
  int64_t category = -1;
  std::vector<NodeInfo> entries;  // whole directories; a category's subcategories
  bool streamed = false;
  uint64_t next = 0;              // offset the next streamed read is expected at
  std::string after;              // the last name returned
};

}  // namespace vodfs::ns
