// MediaTree's details as the index stores them: what Parse accepts, and
// that what it accepts serialises back to the same details.
#include "ns/media_tree.h"

#include <gtest/gtest.h>

#include <string>

namespace vodfs::ns {
namespace {

// The details of a medium with one file, `field` of the file set to `value`
// (raw JSON).
std::string Details(const std::string& field, const std::string& value) {
  std::string node = R"({"c":1,"d":6,"f":true,"k":"source","l":3677,"m":1513172609,"n":"source.mp4","p":0,)"
                     R"("r":{"def":"","fmt":"","id":"v1","idx":0,"job":"","role":0},"s":2964950,"sk":true,"t":1,"x":[]})";
  const std::string key = "\"" + field + "\":";
  size_t at = node.find(key);
  if (at != std::string::npos) {
    const size_t start = at + key.size();
    node.replace(start, node.find_first_of(",}", start) - start, value);
  }
  return R"({"v":1,"id":"v1","mt":1513173809,"at":1717200000,"nodes":[)" + node + "]}";
}

TEST(MediaTreeTest, DetailsRoundTrip) {
  auto t = MediaTree::Parse(Details("", ""));
  ASSERT_TRUE(t.ok()) << t.error().ToString();
  ASSERT_EQ(t->nodes().size(), 2u);
  const TreeNode* f = t->Child(kSelfLocal, "source.mp4");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->size, 2964950u);
  EXPECT_EQ(f->ref.role, resolve::Role::kSource);
  auto again = MediaTree::Parse(t->Serialize());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->Serialize(), t->Serialize());
}

TEST(MediaTreeTest, NumbersThatAreNotIntegersOfTheirFieldAreDamage) {
  // A float where an integer belongs converted out of range (undefined
  // behaviour) or to another value; so did integers too large for the field.
  for (const auto& [field, value] : std::initializer_list<std::pair<std::string, std::string>>{
           {"idx", "-92233720368547758091"},
           {"idx", "1e300"},
           {"m", "1.5"},
           {"l", "4294967297"},
           {"s", "-1"},
           {"s", "18446744073709551616"},
           {"t", "1.0"}}) {
    auto t = MediaTree::Parse(Details(field, value));
    ASSERT_FALSE(t.ok()) << field << " = " << value;
    EXPECT_EQ(t.error().code, ErrorCode::kDataLoss);
  }
  auto mt = MediaTree::Parse(R"({"v":1,"id":"v1","mt":1e30,"at":0,"nodes":[]})");
  EXPECT_FALSE(mt.ok());
  auto v = MediaTree::Parse(R"({"v":1.9,"id":"v1","mt":0,"at":0,"nodes":[]})");
  EXPECT_FALSE(v.ok());
}

// A node of details: local, parent, key, name, kind (0 dir, 1 file), dir type.
std::string Node(int local, int parent, const std::string& key, int kind, int dir_type = 6) {
  return R"({"c":)" + std::string(kind ? "1" : "0") + R"(,"d":)" + std::to_string(dir_type) + R"(,"f":true,"k":")" +
         key + R"(","l":)" + std::to_string(local) + R"(,"m":0,"n":")" + key + R"(","p":)" + std::to_string(parent) +
         R"(,"s":0,"sk":true,"t":)" + std::to_string(kind) + R"(,"x":[]})";
}

std::string Tree(const std::string& nodes) {
  return R"({"v":1,"id":"v1","mt":0,"at":0,"nodes":[)" + nodes + "]}";
}

TEST(MediaTreeTest, OnlyTreesAreTrees) {
  const int kHls = static_cast<int>(DirType::kHls);
  EXPECT_TRUE(MediaTree::Parse(Tree(Node(1, 0, "snapshots", 0, 7) + "," + Node(2, 1, "1", 1))).ok());
  // A cycle, a directory that is its own parent, a file with children:
  // each was accepted and served as a directory tree.
  EXPECT_FALSE(MediaTree::Parse(Tree(Node(1, 2, "a", 0) + "," + Node(2, 1, "b", 0))).ok());
  EXPECT_FALSE(MediaTree::Parse(Tree(Node(1, 1, "a", 0))).ok());
  EXPECT_FALSE(MediaTree::Parse(Tree(Node(1, 0, "f.mp4", 1) + "," + Node(2, 1, "g.mp4", 1))).ok());
  // Nodes under an HLS directory come with the stream's details: a medium's
  // details holding a directory under one serialised to details that did
  // not parse (the directory is left out, its children are not).
  auto hls = MediaTree::Parse(Tree(Node(1, 0, "hls/j", 0, kHls) + "," + Node(2, 1, "sub", 0) + "," +
                                   Node(3, 2, "x.ts", 1)));
  EXPECT_FALSE(hls.ok());
  EXPECT_FALSE(MediaTree::Parse(Tree(Node(1, 0, "hls/j", 1, kHls))).ok());  // an HLS-typed file
  EXPECT_FALSE(MediaTree::Parse(Tree(Node(1, 0, "snapshots", 1, 7))).ok());
  auto stream = MediaTree::Parse(Tree(Node(1, 0, "hls/j", 0, kHls)));
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE(stream->AttachSerialized(1, Tree(Node(2, 1, "seg.ts", 1))).ok());
  ASSERT_NE(stream->Child(1, "seg.ts"), nullptr);
  EXPECT_TRUE(MediaTree::Parse(stream->Serialize()).ok());
}

}  // namespace
}  // namespace vodfs::ns
