#include "vodfs/cache/block_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace vodfs::cache {
namespace {

Block Make(size_t n, char c = 'x') { return BlockData::CopyOf(std::string(n, c)); }

// Spins until `n` threads wait for a load (they register before blocking).
void AwaitWaiters(const BlockCache& c, uint64_t n) {
  while (c.Stats().collapsed < n) std::this_thread::yield();
}

TEST(BlockCacheTest, EvictsColdBlocksByBytes) {
  BlockCache c(10 * 1024, 1);
  for (int i = 0; i < 10; ++i) c.Insert({"o", static_cast<uint64_t>(i)}, Make(1024));
  EXPECT_EQ(c.Stats().bytes, 10u * 1024);
  ASSERT_TRUE(c.Lookup({"o", 0}));  // warm block 0
  c.Insert({"o", 10}, Make(1024));
  EXPECT_TRUE(c.Lookup({"o", 0}));
  EXPECT_FALSE(c.Lookup({"o", 1}));  // the coldest went
  EXPECT_EQ(c.Stats().bytes, 10u * 1024);
  EXPECT_EQ(c.Stats().evictions, 1u);
}

TEST(BlockCacheTest, PinnedBlocksSurviveEviction) {
  BlockCache c(2 * 1024, 1);
  c.Insert({"o", 0}, Make(1024, 'a'));
  Block held = c.Lookup({"o", 0});
  for (int i = 1; i < 10; ++i) c.Insert({"o", static_cast<uint64_t>(i)}, Make(1024));
  EXPECT_TRUE(c.Lookup({"o", 0}));  // still there: a reader holds it
  EXPECT_EQ(held->view()[0], 'a');
  EXPECT_EQ(c.Stats().pinned_bytes, 1024u);
  held.reset();
  for (int i = 10; i < 13; ++i) c.Insert({"o", static_cast<uint64_t>(i)}, Make(1024));
  EXPECT_FALSE(c.Lookup({"o", 0}));
}

TEST(BlockCacheTest, ConcurrentMissesCollapseIntoOneLoad) {
  BlockCache c(1 << 20);
  std::atomic<int> loads{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> ts;
  std::vector<std::string> got(16);
  for (int t = 0; t < 16; ++t) {
    ts.emplace_back([&, t] {
      while (!go) std::this_thread::yield();
      auto b = c.GetOrLoad({"o", 7}, [&]() -> Result<Block> {
        ++loads;
        AwaitWaiters(c, 15);  // a slow origin: everyone else asks meanwhile
        return Block(BlockData::CopyOf("payload"));
      });
      got[t] = b.ok() ? std::string((*b)->view()) : "error";
    });
  }
  go = true;
  for (auto& t : ts) t.join();
  EXPECT_EQ(loads, 1);
  for (const auto& g : got) EXPECT_EQ(g, "payload");
  EXPECT_EQ(c.Stats().collapsed, 15u);
}

TEST(BlockCacheTest, AFailedLoadReachesEveryWaiterAndIsNotCached) {
  BlockCache c(1 << 20);
  auto claim = c.TryClaim({"o", 1});
  ASSERT_TRUE(claim);
  EXPECT_FALSE(c.TryClaim({"o", 1}));  // claimed
  EXPECT_TRUE(c.PresentOrLoading({"o", 1}));
  Result<Block> seen = Block();
  std::thread waiter([&] { seen = c.Await({"o", 1}); });
  AwaitWaiters(c, 1);
  claim->Fail(Error(ErrorCode::kStale, "changed"));
  waiter.join();
  ASSERT_FALSE(seen.ok());
  EXPECT_EQ(seen.code(), ErrorCode::kStale);
  EXPECT_FALSE(c.PresentOrLoading({"o", 1}));
  auto again = c.TryClaim({"o", 1});  // a later read tries again
  ASSERT_TRUE(again);
  again->Complete(Make(10));
  EXPECT_FALSE(again->pending());
  EXPECT_TRUE(c.Lookup({"o", 1}));
}

TEST(BlockCacheTest, AClaimLetGoWithoutAnOutcomeFailsItsWaiters) {
  BlockCache c(1 << 20);
  Result<Block> seen = Block();
  std::thread waiter;
  {
    auto claim = c.TryClaim({"o", 2});
    ASSERT_TRUE(claim);
    waiter = std::thread([&] { seen = c.Await({"o", 2}); });
    AwaitWaiters(c, 1);
  }  // a loader that returned early
  waiter.join();
  ASSERT_FALSE(seen.ok());
  EXPECT_EQ(seen.code(), ErrorCode::kAborted);
  EXPECT_EQ(c.Stats().abandoned, 1u);
  EXPECT_FALSE(c.PresentOrLoading({"o", 2}));
}

TEST(BlockCacheTest, AMovedClaimKeepsItsDuty) {
  BlockCache c(1 << 20);
  auto claim = c.TryClaim({"o", 3});
  ASSERT_TRUE(claim);
  BlockCache::Claim moved = std::move(*claim);
  claim.reset();  // the moved-from claim has nothing to fail
  EXPECT_TRUE(c.PresentOrLoading({"o", 3}));
  EXPECT_EQ(c.Stats().abandoned, 0u);
  moved.Complete(Make(5, 'm'));
  auto b = c.Lookup({"o", 3});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->view(), "mmmmm");
}

TEST(BlockCacheTest, AwaitOfAnUnknownBlockIsEmpty) {
  BlockCache c(1 << 20);
  auto r = c.Await({"o", 9});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
}

TEST(BlockCacheTest, EraseObjectAndBudget) {
  BlockCache c(1 << 20, 4);
  for (int i = 0; i < 8; ++i) {
    c.Insert({"a", static_cast<uint64_t>(i)}, Make(100));
    c.Insert({"b", static_cast<uint64_t>(i)}, Make(100));
  }
  c.EraseObject("a");
  EXPECT_FALSE(c.Lookup({"a", 3}));
  EXPECT_TRUE(c.Lookup({"b", 3}));
  EXPECT_EQ(c.Stats().bytes, 800u);
  c.SetBudget(400);
  EXPECT_LE(c.Stats().bytes, 400u);
}

TEST(BlockCacheTest, ManyThreadsKeepAccountingExact) {
  BlockCache c(64 * 1024, 4);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        BlockKey k{"o" + std::to_string((i + t) % 5), static_cast<uint64_t>(i % 40)};
        auto r = c.GetOrLoad(k, [] { return Result<Block>(Make(1024, 'z')); });
        EXPECT_TRUE(r.ok());
      }
    });
  }
  for (auto& t : ts) t.join();
  auto s = c.Stats();
  EXPECT_LE(s.bytes, 64u * 1024);
  EXPECT_EQ(s.bytes, s.blocks * 1024);
}

}  // namespace
}  // namespace vodfs::cache
