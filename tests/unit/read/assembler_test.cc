#include "vodfs/read/assembler.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "vodfs/util/crc64.h"

namespace vodfs::read {
namespace {

std::string Data(size_t n) {
  std::mt19937 g(7);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(g());
  return s;
}

struct Collect final : BlockSink {
  bool OnBlock(uint64_t index, cache::MutableBlock block) override {
    blocks[index] = std::move(block);
    return static_cast<int>(blocks.size()) != stop_after;
  }
  std::map<uint64_t, cache::MutableBlock> blocks;
  int stop_after = -1;
};

TEST(RunAssemblerTest, ChunksOfAnySizeBecomeExactBlocksWithTheirCrc) {
  constexpr uint64_t bs = 4096;
  const std::string d = Data(10 * bs + 123);  // a short last block
  Collect sink;
  RunAssembler a(bs, d.size(), 2, 100, sink);  // from block 2 to the end
  EXPECT_EQ(a.end_block(), 11u);
  std::mt19937 g(1);
  uint64_t off = 2 * bs;
  while (off < d.size()) {
    const size_t n = std::min<size_t>(d.size() - off, 1 + g() % 9000);
    ASSERT_TRUE(a.Consume(off, std::string_view(d).substr(off, n)));
    off += n;
  }
  EXPECT_TRUE(a.complete());
  ASSERT_EQ(sink.blocks.size(), 9u);
  for (uint64_t b = 2; b <= 10; ++b) {
    const auto& blk = sink.blocks.at(b);
    const std::string want = d.substr(b * bs, std::min(bs, d.size() - b * bs));
    EXPECT_EQ(blk->view(), want) << b;
    EXPECT_EQ(blk->crc64(), Crc64(want.data(), want.size())) << b;
  }
  EXPECT_EQ(sink.blocks.at(10)->size(), 123u);
}

TEST(RunAssemblerTest, BytesOutOfPlaceOrPastTheRunAreRefused) {
  constexpr uint64_t bs = 1024;
  const std::string d = Data(4 * bs);
  Collect sink;
  RunAssembler a(bs, d.size(), 1, 2, sink);
  EXPECT_FALSE(a.Consume(0, std::string_view(d).substr(0, 10)));  // before the run
  ASSERT_TRUE(a.Consume(bs, std::string_view(d).substr(bs, 100)));
  EXPECT_FALSE(a.Consume(bs + 200, std::string_view(d).substr(bs + 200, 10)));  // a gap
  ASSERT_TRUE(a.Consume(bs + 100, std::string_view(d).substr(bs + 100, 2 * bs - 100)));
  EXPECT_TRUE(a.complete());
  EXPECT_FALSE(a.Consume(3 * bs, std::string_view(d).substr(3 * bs, 1)));  // past the run
  EXPECT_EQ(sink.blocks.size(), 2u);
}

TEST(RunAssemblerTest, ASinkThatStopsEndsTheRun) {
  constexpr uint64_t bs = 1024;
  const std::string d = Data(8 * bs);
  Collect sink;
  sink.stop_after = 2;
  RunAssembler a(bs, d.size(), 0, 8, sink);
  EXPECT_FALSE(a.Consume(0, d));
  EXPECT_EQ(sink.blocks.size(), 2u);
  EXPECT_EQ(a.next_block(), 2u);
  EXPECT_FALSE(a.Consume(2 * bs, std::string_view(d).substr(2 * bs, 10)));
}

}  // namespace
}  // namespace vodfs::read
