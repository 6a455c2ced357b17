#include "ns/media_tree.h"

#include <algorithm>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "vodfs/util/strings.h"

namespace vodfs::ns {

using nlohmann::json;

namespace {

// Version of the serialized details; details of another version are
// fetched again rather than misread.
constexpr int kDetailsVersion = 1;
constexpr uint32_t kLocals = kLastLocal - kFirstLocal + 1;

uint16_t FirstChoice(const std::string& key) {
  return static_cast<uint16_t>(kFirstLocal + str::StableHash64(key, 0x6c6f63616cULL) % kLocals);
}

json RefJson(const resolve::MediaRef& r) {
  return {{"role", static_cast<int>(r.role)}, {"id", r.id}, {"job", r.job_id}, {"def", r.definition},
          {"fmt", r.format}, {"idx", r.index}};
}

template <typename T>
bool Get(const json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end()) return false;
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // Only an integer that T holds: the details never have others, and a
    // float or a value out of range does not convert (to itself or at all).
    if (it->is_number_unsigned()) {
      const uint64_t v = it->get<uint64_t>();
      if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) return false;
      *out = static_cast<T>(v);
      return true;
    }
    if (!it->is_number_integer()) return false;
    const int64_t v = it->get<int64_t>();  // negative: unsigned ones are above
    if (std::is_unsigned_v<T> || v < static_cast<int64_t>(std::numeric_limits<T>::min())) return false;
    *out = static_cast<T>(v);
    return true;
  }
  try {
    *out = it->get<T>();
  } catch (const json::exception&) {
    return false;
  }
  return true;
}

json NodeJson(const TreeNode& n) {
  json x = json::array();
  for (const auto& [k, v] : n.xattrs) x.push_back({k, v});
  json j = {{"l", n.local}, {"p", n.parent}, {"k", n.key}, {"n", n.name}, {"t", static_cast<int>(n.kind)},
            {"d", static_cast<int>(n.dir_type)}, {"c", static_cast<int>(n.content)}, {"s", n.size},
            {"m", n.mtime}, {"sk", n.size_known}, {"x", x}, {"f", n.filled}};
  if (n.content == Content::kMedia || n.dir_type == DirType::kHls) j["r"] = RefJson(n.ref);
  if (!n.text.empty()) j["tx"] = n.text;
  return j;
}

Result<TreeNode> NodeFrom(const json& j) {
  auto bad = [](const std::string& why) { return Error(ErrorCode::kDataLoss, "damaged details in the index: " + why); };
  if (!j.is_object()) return bad("a node is not an object");
  TreeNode n;
  int local = -1, parent = -1, kind = -1, dir = -1, content = -1;
  if (!Get(j, "l", &local) || !Get(j, "p", &parent) || !Get(j, "k", &n.key) || !Get(j, "n", &n.name) ||
      !Get(j, "t", &kind) || !Get(j, "d", &dir) || !Get(j, "c", &content) || !Get(j, "s", &n.size) ||
      !Get(j, "m", &n.mtime) || !Get(j, "sk", &n.size_known) || !Get(j, "f", &n.filled)) {
    return bad("a node lacks a field");
  }
  if (local < 0 || local > 0xFFFF || parent < 0 || parent > 0xFFFF || kind < 0 || kind > 2 || dir < 0 ||
      dir > static_cast<int>(DirType::kById) || content < 0 || content > 3) {
    return bad("a node has a value out of range");
  }
  n.local = static_cast<uint16_t>(local);
  n.parent = static_cast<uint16_t>(parent);
  n.kind = static_cast<Kind>(kind);
  n.dir_type = static_cast<DirType>(dir);
  n.content = static_cast<Content>(content);
  // Directory types are for directories (an HLS-typed file was filled with
  // segments as if it were a directory).
  if (n.kind != Kind::kDir && n.dir_type != DirType::kMedia) return bad("a file has a directory's type");
  if (auto r = j.find("r"); r != j.end()) {
    int role = 0;
    if (!r->is_object() || !Get(*r, "role", &role) || role < 0 || role > static_cast<int>(resolve::Role::kImage) ||
        !Get(*r, "id", &n.ref.id) || !Get(*r, "job", &n.ref.job_id) || !Get(*r, "def", &n.ref.definition) ||
        !Get(*r, "fmt", &n.ref.format) || !Get(*r, "idx", &n.ref.index)) {
      return bad("a node's reference is not valid");
    }
    n.ref.role = static_cast<resolve::Role>(role);
  }
  if (auto t = j.find("tx"); t != j.end()) {
    if (!t->is_string()) return bad("a node's text is not a string");
    n.text = t->get<std::string>();
  }
  if (auto x = j.find("x"); x != j.end() && x->is_array()) {
    for (const auto& kv : *x) {
      if (!kv.is_array() || kv.size() != 2 || !kv[0].is_string() || !kv[1].is_string()) return bad("bad attribute");
      n.xattrs.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
    }
  }
  return n;
}

}  // namespace

void MediaTree::Index() {
  at_.clear();
  for (uint32_t i = 0; i < nodes_.size(); ++i) at_[nodes_[i].local] = i;
  for (auto& n : nodes_) n.children.clear();
  for (uint32_t i = 1; i < nodes_.size(); ++i) {
    auto p = at_.find(nodes_[i].parent);
    if (p != at_.end()) nodes_[p->second].children.push_back(nodes_[i].local);
  }
  for (auto& n : nodes_) {
    std::sort(n.children.begin(), n.children.end(),
              [this](uint16_t a, uint16_t b) { return nodes_[at_.at(a)].name < nodes_[at_.at(b)].name; });
  }
}

Status MediaTree::Place(std::vector<NodeSpec> specs) {
  std::unordered_set<uint16_t> used;
  std::map<std::string, uint16_t> by_key;
  for (const auto& n : nodes_) {
    used.insert(n.local);
    by_key[n.key] = n.local;
  }
  std::sort(specs.begin(), specs.end(), [](const NodeSpec& a, const NodeSpec& b) { return a.node.key < b.node.key; });
  if (used.size() + specs.size() > kLocals) {
    return Status(ErrorCode::kResourceExhausted, "medium " + media_id + " has more than " +
                                                      std::to_string(kLocals) + " files; vodfs shows at most that many");
  }
  for (auto& s : specs) {
    if (by_key.count(s.node.key)) return Status(ErrorCode::kInternal, "two nodes of " + media_id + " are " + s.node.key);
    uint16_t l = FirstChoice(s.node.key);
    while (used.count(l)) l = l == kLastLocal ? kFirstLocal : static_cast<uint16_t>(l + 1);
    s.node.local = l;
    used.insert(l);
    by_key[s.node.key] = l;
  }
  for (auto& s : specs) {
    auto p = by_key.find(s.parent_key);
    if (p == by_key.end()) return Status(ErrorCode::kInternal, "no parent " + s.parent_key + " in " + media_id);
    s.node.parent = p->second;
    nodes_.push_back(std::move(s.node));
  }
  Index();
  return Status::Ok();
}

Result<MediaTree> MediaTree::Build(std::string media_id, int64_t modification_time, int64_t fetched_at,
                                   std::vector<NodeSpec> specs) {
  MediaTree t;
  t.media_id = std::move(media_id);
  t.modification_time = modification_time;
  t.fetched_at = fetched_at;
  TreeNode root;
  root.kind = Kind::kDir;
  root.dir_type = DirType::kMedia;
  t.nodes_.push_back(std::move(root));
  VODFS_RETURN_IF_ERROR(t.Place(std::move(specs)));
  return t;
}

Status MediaTree::Attach(uint16_t parent, std::vector<NodeSpec> specs) {
  TreeNode* p = Mutable(parent);
  if (!p) return Status(ErrorCode::kInternal, "no node " + std::to_string(parent) + " in " + media_id);
  const std::string key = p->key;
  p->filled = true;
  for (auto& s : specs) s.parent_key = key;
  return Place(std::move(specs));
}

const TreeNode* MediaTree::Find(uint16_t local) const {
  auto it = at_.find(local);
  return it == at_.end() ? nullptr : &nodes_[it->second];
}

TreeNode* MediaTree::Mutable(uint16_t local) {
  auto it = at_.find(local);
  return it == at_.end() ? nullptr : &nodes_[it->second];
}

const TreeNode* MediaTree::Child(uint16_t parent, std::string_view name) const {
  const TreeNode* p = Find(parent);
  if (!p) return nullptr;
  auto it = std::lower_bound(p->children.begin(), p->children.end(), name,
                             [this](uint16_t l, std::string_view n) { return Find(l)->name < n; });
  if (it == p->children.end()) return nullptr;
  const TreeNode* c = Find(*it);
  return c->name == name ? c : nullptr;
}

size_t MediaTree::Bytes() const {
  size_t b = sizeof(*this) + media_id.size();
  for (const auto& n : nodes_) {
    b += sizeof(TreeNode) + n.key.size() + n.name.size() + n.text.size() + n.children.size() * 2 + 96;
    for (const auto& [k, v] : n.xattrs) b += k.size() + v.size() + 64;
  }
  return b;
}

std::string MediaTree::Serialize() const {
  json nodes = json::array();
  for (size_t i = 1; i < nodes_.size(); ++i) {
    // An HLS directory's segments are kept with the stream's own details.
    const TreeNode* p = Find(nodes_[i].parent);
    if (p && p->dir_type == DirType::kHls) continue;
    json n = NodeJson(nodes_[i]);
    if (nodes_[i].dir_type == DirType::kHls) n["f"] = false;
    nodes.push_back(std::move(n));
  }
  json j = {{"v", kDetailsVersion}, {"id", media_id}, {"mt", modification_time}, {"at", fetched_at}, {"nodes", nodes}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string MediaTree::SerializeChildren(uint16_t parent) const {
  json nodes = json::array();
  for (const auto& n : nodes_) {
    if (n.parent == parent && n.local != kSelfLocal) nodes.push_back(NodeJson(n));
  }
  json j = {{"v", kDetailsVersion}, {"nodes", nodes}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<MediaTree> MediaTree::Parse(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error(ErrorCode::kDataLoss, "damaged details in the index: not JSON");
  int v = 0;
  if (!Get(j, "v", &v) || v != kDetailsVersion) {
    return Error(ErrorCode::kDataLoss, "details in the index of another format version");
  }
  MediaTree t;
  if (!Get(j, "id", &t.media_id) || !Get(j, "mt", &t.modification_time) || !Get(j, "at", &t.fetched_at)) {
    return Error(ErrorCode::kDataLoss, "damaged details in the index: no identity");
  }
  TreeNode root;
  root.kind = Kind::kDir;
  root.dir_type = DirType::kMedia;
  t.nodes_.push_back(std::move(root));
  auto nodes = j.find("nodes");
  if (nodes == j.end() || !nodes->is_array()) return Error(ErrorCode::kDataLoss, "damaged details in the index: no nodes");
  std::unordered_set<uint16_t> seen = {kSelfLocal};
  for (const auto& n : *nodes) {
    VODFS_ASSIGN_OR_RETURN(TreeNode node, NodeFrom(n));
    if (node.local == kSelfLocal || !seen.insert(node.local).second) {
      return Error(ErrorCode::kDataLoss, "damaged details in the index: a local number is used twice");
    }
    t.nodes_.push_back(std::move(node));
  }
  t.Index();
  // Only the shape Build makes: every node hangs from a directory, and
  // directories lead from it to the root (no cycles); an HLS directory's
  // nodes are kept with the stream's own details (AttachSerialized), so
  // none hangs from one here. Each node is walked once.
  std::unordered_map<uint16_t, bool> reaches_root = {{kSelfLocal, true}};  // false: on this walk
  for (const auto& n : t.nodes_) {
    std::vector<uint16_t> walk;
    for (const TreeNode* up = &n;;) {
      auto known = reaches_root.find(up->local);
      if (known != reaches_root.end()) {
        if (!known->second) return Error(ErrorCode::kDataLoss, "damaged details in the index: a cycle of nodes");
        break;
      }
      reaches_root[up->local] = false;
      walk.push_back(up->local);
      const TreeNode* parent = t.Find(up->parent);
      if (!parent) return Error(ErrorCode::kDataLoss, "damaged details in the index: a node without its parent");
      if (parent->kind != Kind::kDir || parent->dir_type == DirType::kHls) {
        return Error(ErrorCode::kDataLoss, "damaged details in the index: a node under a file or an HLS directory");
      }
      up = parent;
    }
    for (uint16_t l : walk) reaches_root[l] = true;
  }
  return t;
}

Status MediaTree::AttachSerialized(uint16_t parent, std::string_view body) {
  json j = json::parse(body, nullptr, false);
  int v = 0;
  if (j.is_discarded() || !j.is_object() || !Get(j, "v", &v) || v != kDetailsVersion || !j.contains("nodes") ||
      !j["nodes"].is_array()) {
    return Status(ErrorCode::kDataLoss, "damaged HLS details in the index");
  }
  TreeNode* p = Mutable(parent);
  if (!p) return Status(ErrorCode::kInternal, "no HLS directory " + std::to_string(parent));
  std::vector<TreeNode> add;
  for (const auto& n : j["nodes"]) {
    VODFS_ASSIGN_OR_RETURN(TreeNode node, NodeFrom(n));
    if (node.parent != parent || Find(node.local)) {
      return Status(ErrorCode::kDataLoss, "damaged HLS details in the index: a node out of place");
    }
    add.push_back(std::move(node));
  }
  p->filled = true;
  for (auto& n : add) nodes_.push_back(std::move(n));
  Index();
  return Status::Ok();
}

}  // namespace vodfs::ns
