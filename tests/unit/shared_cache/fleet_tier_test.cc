#include "vodfs/shared_cache/fleet_tier.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "support/services.h"

namespace vodfs::shared_cache {
namespace {

using testing::MemcachedServer;

cache::Block MakeBlock(char c, size_t size = 4096) { return cache::BlockData::CopyOf(std::string(size, c)); }

// A disk tier stand-in that keeps copies, as the disk does.
class CopyingTier final : public cache::SecondTier {
 public:
  cache::Block Get(const cache::BlockKey& k) override {
    std::lock_guard<std::mutex> lock(mu);
    auto it = blocks.find(k.Flat());
    return it == blocks.end() ? nullptr : cache::BlockData::CopyOf(it->second);
  }
  using cache::SecondTier::Put;
  void Put(const cache::BlockKey& k, const cache::Block& b, const std::function<bool()>& still_valid) override {
    if (still_valid && !still_valid()) return;
    std::lock_guard<std::mutex> lock(mu);
    blocks[k.Flat()] = std::string(b->view());
  }
  std::mutex mu;
  std::map<std::string, std::string> blocks;
};

std::unique_ptr<MemcachedTier> Open(const MemcachedServer& server) {
  MemcachedOptions o;
  o.servers = {server.Address()};
  auto t = MemcachedTier::Open(o);
  EXPECT_TRUE(t.ok()) << t.error().ToString();
  return t.ok() ? std::move(t).value() : nullptr;
}

TEST(FleetTierTest, WhatOneMountStoredAnotherReadsAndKeepsOnItsDisk) {
  MemcachedServer server;
  auto mc = Open(server);
  ASSERT_TRUE(mc);
  CopyingTier disk_a, disk_b;
  FleetTier a(&disk_a, nullptr, *mc), b(&disk_b, nullptr, *mc);
  for (uint64_t i = 0; i < 4; ++i) a.Put({"o#1", i}, MakeBlock(static_cast<char>('a' + i)));
  mc->Flush();
  auto run = b.GetRun("o#1", 0, 5);
  ASSERT_EQ(run.size(), 5u);
  for (uint64_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(run[i]) << i;
    EXPECT_EQ(run[i]->view(), std::string(4096, static_cast<char>('a' + i)));
  }
  EXPECT_FALSE(run[4]);
  EXPECT_EQ(disk_b.blocks.size(), 4u);  // kept on B's own disk
}

TEST(FleetTierTest, ABlockRefusedAsCondemnedReachesNeitherTierAndADropErasesMemcached) {
  MemcachedServer server;
  auto mc = Open(server);
  ASSERT_TRUE(mc);
  FleetTier t(nullptr, nullptr, *mc);
  t.Put({"o#1", 0}, MakeBlock('x'), [] { return false; });
  t.Put({"o#1", 1}, MakeBlock('y'));
  mc->Flush();
  EXPECT_FALSE(t.Get({"o#1", 0}));
  ASSERT_TRUE(t.Get({"o#1", 1}));
  t.DropObject("o#1", 2);
  EXPECT_FALSE(t.Get({"o#1", 1}));
}

}  // namespace
}  // namespace vodfs::shared_cache
