#include "vodfs/cache/block_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace vodfs::cache {
namespace {

Block Make(size_t n, char c = 'x') { return std::make_shared<const std::string>(n, c); }

TEST(BlockCacheTest, EvictsColdBlocksByBytes) {
  BlockCache c(10 * 1024, nullptr, 1);
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
  BlockCache c(2 * 1024, nullptr, 1);
  c.Insert({"o", 0}, Make(1024, 'a'));
  Block held = c.Lookup({"o", 0});
  for (int i = 1; i < 10; ++i) c.Insert({"o", static_cast<uint64_t>(i)}, Make(1024));
  EXPECT_TRUE(c.Lookup({"o", 0}));  // still there: a reader holds it
  EXPECT_EQ((*held)[0], 'a');
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
      auto b = c.GetOrLoad({"o", 7}, [&]() -> Result<std::string> {
        ++loads;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a slow origin
        return std::string("payload");
      });
      got[t] = b.ok() ? **b : "error";
    });
  }
  go = true;
  for (auto& t : ts) t.join();
  EXPECT_EQ(loads, 1);
  for (const auto& g : got) EXPECT_EQ(g, "payload");
  EXPECT_GE(c.Stats().collapsed, 1u);
}

TEST(BlockCacheTest, AFailedLoadReachesEveryWaiterAndIsNotCached) {
  BlockCache c(1 << 20);
  ASSERT_TRUE(c.TryBeginLoad({"o", 1}));
  EXPECT_FALSE(c.TryBeginLoad({"o", 1}));  // claimed
  EXPECT_TRUE(c.PresentOrLoading({"o", 1}));
  std::thread waiter([&] {
    auto r = c.Await({"o", 1});
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.code(), ErrorCode::kStale);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let the waiter block
  c.CompleteLoad({"o", 1}, Error(ErrorCode::kStale, "changed"));
  waiter.join();
  EXPECT_FALSE(c.PresentOrLoading({"o", 1}));
  EXPECT_TRUE(c.TryBeginLoad({"o", 1}));  // a later read tries again
  c.CompleteLoad({"o", 1}, Make(10));
  EXPECT_TRUE(c.Lookup({"o", 1}));
}

TEST(BlockCacheTest, AwaitOfAnUnknownBlockIsEmpty) {
  BlockCache c(1 << 20);
  auto r = c.Await({"o", 9});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
}

TEST(BlockCacheTest, EraseObjectAndBudget) {
  BlockCache c(1 << 20, nullptr, 4);
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

// Keeps copies of the bytes, as a disk tier does (holding the blocks
// themselves would pin them in memory).
class CopyingTier final : public SecondTier {
 public:
  Block Get(const BlockKey& k) override {
    std::lock_guard<std::mutex> lock(mu);
    auto it = m.find(k.Flat());
    return it == m.end() ? nullptr : std::make_shared<const std::string>(it->second);
  }
  void Put(const BlockKey& k, const Block& b) override {
    std::lock_guard<std::mutex> lock(mu);
    m[k.Flat()] = *b;
  }
  std::mutex mu;
  std::map<std::string, std::string> m;
};

TEST(BlockCacheTest, SecondTierIsFilledAndConsulted) {
  CopyingTier disk;
  BlockCache c(1024, &disk, 1);
  c.Insert({"o", 0}, Make(1000, 'q'));
  c.Insert({"o", 1}, Make(1000));  // evicts block 0 from memory
  auto b = c.Lookup({"o", 0});
  ASSERT_TRUE(b);
  EXPECT_EQ((*b)[0], 'q');
  EXPECT_EQ(c.Stats().second_tier_hits, 1u);
}

TEST(BlockCacheTest, ManyThreadsKeepAccountingExact) {
  BlockCache c(64 * 1024, nullptr, 4);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        BlockKey k{"o" + std::to_string((i + t) % 5), static_cast<uint64_t>(i % 40)};
        auto r = c.GetOrLoad(k, [] { return Result<std::string>(std::string(1024, 'z')); });
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
