#include "vodfs/util/lru_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace vodfs {
namespace {

TEST(LruCacheTest, EvictsLeastRecentlyUsedByCharge) {
  LruCache<std::string, int> c(10);
  c.Put("a", 1, 4);
  c.Put("b", 2, 4);
  ASSERT_TRUE(c.Get("a"));  // a is now hot
  c.Put("c", 3, 4);         // over budget: b is the coldest
  EXPECT_TRUE(c.Get("a"));
  EXPECT_FALSE(c.Get("b"));
  EXPECT_TRUE(c.Get("c"));
  EXPECT_EQ(c.usage(), 8u);
  EXPECT_EQ(c.size(), 2u);
}

TEST(LruCacheTest, ReplaceUpdatesChargeAndValue) {
  LruCache<int, std::string> c(100);
  c.Put(1, "x", 10);
  c.Put(1, "y", 30);
  EXPECT_EQ(*c.Get(1), "y");
  EXPECT_EQ(c.usage(), 30u);
}

TEST(LruCacheTest, HeldValuesSurviveEviction) {
  LruCache<int, std::string> c(1);
  auto held = c.Put(1, "first");
  c.Put(2, "second");
  EXPECT_FALSE(c.Get(1));
  EXPECT_EQ(*held, "first");
}

TEST(LruCacheTest, OversizedEntryIsKeptAlone) {
  LruCache<int, int> c(5);
  c.Put(1, 1, 2);
  c.Put(2, 2, 50);
  EXPECT_FALSE(c.Peek(1));
  EXPECT_TRUE(c.Peek(2));
}

TEST(LruCacheTest, EraseIfAndCapacity) {
  LruCache<int, int> c(100);
  for (int i = 0; i < 10; ++i) c.Put(i, i * i);
  EXPECT_EQ(c.EraseIf([](const int& k, const int&) { return k % 2 == 0; }), 5u);
  EXPECT_EQ(c.size(), 5u);
  c.SetCapacity(2);
  EXPECT_EQ(c.size(), 2u);
  EXPECT_TRUE(c.Erase(9));
  EXPECT_FALSE(c.Erase(9));
  c.Clear();
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.usage(), 0u);
}

TEST(LruCacheTest, ConcurrentUseKeepsAccountingExact) {
  LruCache<int, int> c(64);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c, t] {
      for (int i = 0; i < 5000; ++i) {
        c.Put((i * 7 + t) % 200, i);
        c.Get((i * 13) % 200);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(c.usage(), 64u);
  EXPECT_EQ(c.usage(), c.size());
}

}  // namespace
}  // namespace vodfs
