// MediaTree: what one medium's directory holds (its files, snapshot and
// sprite directories, HLS directories and their segments), as the index
// keeps it and the hot set serves it.
//
// Every node has a `local` number (the low 16 bits of its inode number)
// derived from a stable hash of its key (e.g. "stream/<JobId>"), probed in
// key order on a collision: the same details give the same numbers on every
// machine, and a stream added later leaves the others' numbers alone.
//
// Thread-safety: a value type; the hot set shares trees as const.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vodfs/ns/inodes.h"
#include "vodfs/ns/namespace.h"
#include "vodfs/resolve/media_ref.h"
#include "vodfs/util/result.h"

namespace vodfs::ns {

struct TreeNode {
  uint16_t local = kSelfLocal;
  uint16_t parent = kSelfLocal;
  std::string key;   // identity within the medium; "" for the medium's directory
  std::string name;
  Kind kind = Kind::kFile;
  DirType dir_type = DirType::kMedia;
  Content content = Content::kNone;
  uint64_t size = 0;
  int64_t mtime = 0;
  bool size_known = true;  // false: to be probed at the origin
  resolve::MediaRef ref;   // kMedia files, and an HLS directory's playlist
  std::string text;        // kGenerated
  std::vector<std::pair<std::string, std::string>> xattrs;
  std::vector<uint16_t> children;  // in name order
  bool filled = true;              // an HLS directory whose playlist was not read yet: false
};

// A node to be placed in a tree: its parent named by key.
struct NodeSpec {
  TreeNode node;
  std::string parent_key;  // "" = the medium's directory
};

class MediaTree {
 public:
  std::string media_id;
  int64_t modification_time = 0;  // the medium's, when the details were fetched
  int64_t fetched_at = 0;

  // Builds a tree from specs: the root (the medium's directory) first,
  // locals assigned, children in name order. Fails on a duplicate key.
  static Result<MediaTree> Build(std::string media_id, int64_t modification_time, int64_t fetched_at,
                                 std::vector<NodeSpec> specs);
  // Adds children under `parent` (an HLS directory's segments), with locals
  // no node of the tree has; marks the parent filled.
  Status Attach(uint16_t parent, std::vector<NodeSpec> specs);

  const TreeNode* Find(uint16_t local) const;
  const TreeNode* Child(uint16_t parent, std::string_view name) const;
  TreeNode* Mutable(uint16_t local);
  const std::vector<TreeNode>& nodes() const { return nodes_; }
  // What it costs to keep in memory (the hot set's charge).
  size_t Bytes() const;

  // The details as stored in the index (never a URL: references only).
  std::string Serialize() const;
  // The nodes under `parent` only (an HLS directory's details).
  std::string SerializeChildren(uint16_t parent) const;
  static Result<MediaTree> Parse(std::string_view body);
  Status AttachSerialized(uint16_t parent, std::string_view body);

 private:
  Status Place(std::vector<NodeSpec> specs);
  void Index();
  std::vector<TreeNode> nodes_;  // nodes_[0]: the medium's directory
  std::unordered_map<uint16_t, uint32_t> at_;
};

}  // namespace vodfs::ns
