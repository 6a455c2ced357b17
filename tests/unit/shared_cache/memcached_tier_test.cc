// The shared block tier against real memcached servers of this test: the
// value format and its checks (a damaged or foreign value is a miss, never
// served), consistent hashing over two servers, a server killed in the
// middle of reads (misses, quickly, and every byte served still right),
// the server back, and claims for one origin fetch per fleet.
#include "vodfs/shared_cache/memcached_tier.h"

#include <gtest/gtest.h>
#include <libmemcached/memcached.h>

#include <chrono>
#include <thread>

#include "support/services.h"
#include "vodfs/util/crc64.h"

namespace vodfs::shared_cache {
namespace {

using Steady = std::chrono::steady_clock;
using testing::MemcachedServer;

// Deterministic bytes of block `index` of `object`.
cache::Block MakeBlock(const std::string& object, uint64_t index, size_t size = 65536) {
  std::string bytes(size, '\0');
  uint64_t x = std::hash<std::string>()(object) ^ (index * 0x9e3779b97f4a7c15ULL);
  for (auto& ch : bytes) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    ch = static_cast<char>(x >> 56);
  }
  return cache::BlockData::CopyOf(bytes);
}

std::unique_ptr<MemcachedTier> OpenTier(const std::vector<std::string>& servers, int retry_s = 1) {
  MemcachedOptions o;
  o.servers = servers;
  o.retry_s = retry_s;
  auto t = MemcachedTier::Open(o);
  EXPECT_TRUE(t.ok()) << t.error().ToString();
  return t.ok() ? std::move(t).value() : nullptr;
}

// Writes a raw value under the tier's key for (object, index).
void RawSet(const MemcachedServer& server, const std::string& key, const std::string& value) {
  memcached_st* m = memcached_create(nullptr);
  memcached_server_add(m, "127.0.0.1", static_cast<in_port_t>(server.port()));
  ASSERT_EQ(memcached_set(m, key.data(), key.size(), value.data(), value.size(), 0, 0), MEMCACHED_SUCCESS);
  memcached_free(m);
}

template <typename Pred>
bool Eventually(Pred pred) {
  const auto end = Steady::now() + std::chrono::seconds(5);
  while (Steady::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

TEST(MemcachedUrlTest, ServersAndParameters) {
  auto o = ParseMemcachedUrl("memcached://h1:11211,h2?timeout_ms=7&ttl_s=600");
  ASSERT_TRUE(o.ok()) << o.error().ToString();
  EXPECT_EQ(o->servers, (std::vector<std::string>{"h1:11211", "h2:11211"}));
  EXPECT_EQ(o->timeout_ms, 7);
  EXPECT_EQ(o->ttl_s, 600u);
  auto semi = ParseMemcachedUrl("memcached://h1:1;h2:2");
  ASSERT_TRUE(semi.ok());
  EXPECT_EQ(semi->servers, (std::vector<std::string>{"h1:1", "h2:2"}));
  EXPECT_FALSE(ParseMemcachedUrl("redis://h1").ok());
  EXPECT_FALSE(ParseMemcachedUrl("memcached://").ok());
  EXPECT_FALSE(ParseMemcachedUrl("memcached://h1?speed=9").ok());
}

TEST(MemcachedValueTest, TheHeaderCarriesMagicSizeCrcAndKeyAndIsChecked) {
  const auto b = MakeBlock("obj#v1", 3, 1000);
  const std::string v = EncodeValue("obj#v1", 3, *b);
  ASSERT_EQ(v.size(), kHeaderSize + 1000);
  EXPECT_EQ(v.substr(0, 4), "VFB1");
  std::string why;
  auto back = DecodeValue("obj#v1", 3, v, &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->view(), b->view());
  EXPECT_EQ(back->crc64(), Crc64(b->data(), b->size()));
  // One flipped byte of the block, a truncated value, another block's
  // value, a foreign value: each a miss with its reason.
  std::string flipped = v;
  flipped[kHeaderSize + 500] ^= 1;
  EXPECT_FALSE(DecodeValue("obj#v1", 3, flipped, &why));
  EXPECT_NE(why.find("CRC-64"), std::string::npos);
  EXPECT_FALSE(DecodeValue("obj#v1", 3, v.substr(0, v.size() - 1), &why));
  EXPECT_FALSE(DecodeValue("obj#v1", 4, v, &why));
  EXPECT_NE(why.find("key check"), std::string::npos);
  EXPECT_FALSE(DecodeValue("obj#v2", 3, v, &why));
  EXPECT_FALSE(DecodeValue("obj#v1", 3, "hello, world, this is not a vodfs block", &why));
  EXPECT_FALSE(DecodeValue("obj#v1", 3, "", &why));
  // Keys: printable, short, distinct per version and index.
  const std::string k = MemcachedKey(std::string(1000, 'x') + " \n\x01", 7);
  EXPECT_LE(k.size(), 250u);
  for (char ch : k) EXPECT_TRUE(ch > ' ' && ch < 127) << k;
  EXPECT_NE(MemcachedKey("obj#v1", 3), MemcachedKey("obj#v2", 3));
  EXPECT_NE(MemcachedKey("obj#v1", 3), MemcachedKey("obj#v1", 4));
}

TEST(MemcachedTierTest, BlocksRoundTripAndADamagedValueIsAMissNeverServed) {
  MemcachedServer server;
  auto tier = OpenTier({server.Address()});
  ASSERT_TRUE(tier);
  EXPECT_EQ(tier->Get("obj#v1", 0), nullptr);
  for (uint64_t i = 0; i < 8; ++i) tier->Put("obj#v1", i, MakeBlock("obj#v1", i));
  tier->Flush();
  for (uint64_t i = 0; i < 8; ++i) {
    auto b = tier->Get("obj#v1", i);
    ASSERT_TRUE(b) << i;
    EXPECT_EQ(b->view(), MakeBlock("obj#v1", i)->view());
  }
  // Another version of the object is another key.
  EXPECT_EQ(tier->Get("obj#v2", 0), nullptr);
  // A run in one multi-get: what is there, null where nothing is.
  auto run = tier->GetRun("obj#v1", 6, 4);
  ASSERT_EQ(run.size(), 4u);
  ASSERT_TRUE(run[0] && run[1]);
  EXPECT_EQ(run[0]->view(), MakeBlock("obj#v1", 6)->view());
  EXPECT_EQ(run[1]->view(), MakeBlock("obj#v1", 7)->view());
  EXPECT_FALSE(run[2]);
  EXPECT_FALSE(run[3]);
  // A value damaged in the server (same key, one byte changed).
  std::string damaged = EncodeValue("obj#v1", 5, *MakeBlock("obj#v1", 5));
  damaged[kHeaderSize + 17] ^= 0x40;
  RawSet(server, MemcachedKey("obj#v1", 5), damaged);
  EXPECT_EQ(tier->Get("obj#v1", 5), nullptr);
  RawSet(server, MemcachedKey("obj#v1", 6), "garbage");
  EXPECT_EQ(tier->Get("obj#v1", 6), nullptr);
  // ...and a damaged one in a run is a miss too.
  auto damaged_run = tier->GetRun("obj#v1", 4, 3);
  ASSERT_EQ(damaged_run.size(), 3u);
  EXPECT_TRUE(damaged_run[0]);
  EXPECT_FALSE(damaged_run[1]);
  EXPECT_FALSE(damaged_run[2]);
  const auto s = tier->Stats();
  EXPECT_EQ(s.hits, 8u + 2u + 1u);
  EXPECT_EQ(s.rejected, 4u);
  EXPECT_EQ(s.puts, 8u);
  EXPECT_EQ(s.errors, 0u);
}

TEST(MemcachedTierTest, TwoServersShareTheKeysAndOneKilledCostsOnlyItsShare) {
  MemcachedServer a, b;
  auto tier = OpenTier({a.Address(), b.Address()}, /*retry_s=*/1);
  ASSERT_TRUE(tier);
  constexpr uint64_t kBlocks = 200;
  for (uint64_t i = 0; i < kBlocks; ++i) tier->Put("big#v1", i, MakeBlock("big#v1", i, 4096));
  tier->Flush();
  // Killed in the middle: what is served is right, what is lost is a miss,
  // and no read waits long.
  a.Kill();
  uint64_t hits = 0;
  auto slowest = Steady::duration::zero();
  for (uint64_t i = 0; i < kBlocks; ++i) {
    const auto t0 = Steady::now();
    auto got = tier->Get("big#v1", i);
    slowest = std::max(slowest, Steady::now() - t0);
    if (got) {
      ++hits;
      EXPECT_EQ(got->view(), MakeBlock("big#v1", i, 4096)->view());
    }
  }
  // A run over both servers: the live one's share, right.
  auto run = tier->GetRun("big#v1", 0, kBlocks);
  uint64_t run_hits = 0;
  for (uint64_t i = 0; i < kBlocks; ++i) {
    if (!run[i]) continue;
    ++run_hits;
    EXPECT_EQ(run[i]->view(), MakeBlock("big#v1", i, 4096)->view());
  }
  EXPECT_EQ(run_hits, hits);
  EXPECT_GT(hits, kBlocks / 5) << "the live server's share";
  EXPECT_LT(hits, kBlocks * 4 / 5) << "the dead server's share is lost";
  EXPECT_LT(slowest, std::chrono::milliseconds(200));
  EXPECT_GT(tier->Stats().errors, 0u);
  // The server comes back (empty): after the retry interval it is used
  // again, and blocks put now are served.
  a.Start();
  uint64_t again = 0;
  EXPECT_TRUE(Eventually([&] {
    for (uint64_t i = 0; i < kBlocks; ++i) tier->Put("big#v2", i, MakeBlock("big#v2", i, 4096));
    tier->Flush();
    again = 0;
    for (uint64_t i = 0; i < kBlocks; ++i) {
      auto got = tier->Get("big#v2", i);
      if (got && got->view() == MakeBlock("big#v2", i, 4096)->view()) ++again;
    }
    return again >= kBlocks * 9 / 10;
  })) << again;
}

TEST(MemcachedTierTest, NoServerAtAllIsOnlyMisses) {
  MemcachedOptions o;
  o.servers = {"127.0.0.1:" + std::to_string(testing::FreeLoopbackPort())};
  auto tier = MemcachedTier::Open(o);
  ASSERT_TRUE(tier.ok());
  const auto t0 = Steady::now();
  for (int i = 0; i < 20; ++i) {
    (*tier)->Put("x#v1", static_cast<uint64_t>(i), MakeBlock("x#v1", static_cast<uint64_t>(i), 100));
    EXPECT_EQ((*tier)->Get("x#v1", static_cast<uint64_t>(i)), nullptr);
  }
  EXPECT_LT(Steady::now() - t0, std::chrono::seconds(2));
  // Nobody to ask: this mount fetches (rather than wait for nobody).
  EXPECT_TRUE((*tier)->TryClaim("x#v1", 0).owned());
}

// A server that accepts connections and never answers (SIGSTOP): the
// first requests miss at their timeout, then the server is skipped (a miss
// at once) until its retry time; puts return at once; no error reaches
// the caller; the server resumed is used again.
TEST(MemcachedTierTest, AStalledServerCostsMissesNeverAStall) {
  MemcachedServer server;
  MemcachedOptions o;
  o.servers = {server.Address()};
  o.retry_s = 1;
  auto tier = MemcachedTier::Open(o);
  ASSERT_TRUE(tier.ok());
  (*tier)->Put("s#v1", 0, MakeBlock("s#v1", 0, 4096));
  (*tier)->Flush();
  ASSERT_TRUE((*tier)->Get("s#v1", 0));
  server.Pause();
  auto slowest = Steady::duration::zero();
  const auto all = Steady::now();
  for (uint64_t i = 0; i < 200; ++i) {
    const auto t0 = Steady::now();
    (*tier)->Put("s#v1", i + 1, MakeBlock("s#v1", i + 1, 4096));
    EXPECT_EQ((*tier)->Get("s#v1", i + 1), nullptr);
    slowest = std::max(slowest, Steady::now() - t0);
  }
  EXPECT_LT(slowest, std::chrono::milliseconds(200));
  EXPECT_LT(Steady::now() - all, std::chrono::milliseconds(500)) << "a stalled server is skipped, not waited for";
  EXPECT_GT((*tier)->Stats().skipped, 150u);
  server.Resume();
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // retry_s = 1
  // After its retry time the server is asked again: a block put is served.
  EXPECT_TRUE(Eventually([&] {
    (*tier)->Put("s#v2", 0, MakeBlock("s#v2", 0, 4096));
    (*tier)->Flush();
    return (*tier)->Get("s#v2", 0) != nullptr;
  }));
}

TEST(MemcachedTierTest, OneMountClaimsABlockTheOthersWaitForIt) {
  MemcachedServer server;
  auto first = OpenTier({server.Address()});
  auto second = OpenTier({server.Address()});
  ASSERT_TRUE(first && second);
  {
    auto claim = first->TryClaim("hot#v1", 9);
    EXPECT_TRUE(claim.owned());
    auto other = second->TryClaim("hot#v1", 9);
    EXPECT_FALSE(other.owned());
    // The claimer fetches and puts it meanwhile; the other waits for it.
    std::thread fetcher([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      first->Put("hot#v1", 9, MakeBlock("hot#v1", 9));
    });
    auto got = second->WaitFor("hot#v1", 9, std::chrono::milliseconds(1000));
    fetcher.join();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->view(), MakeBlock("hot#v1", 9)->view());
  }
  // Released with its object: the next claim is won.
  EXPECT_TRUE(second->TryClaim("hot#v1", 9).owned());
  // A wait for a block nobody puts ends at its budget.
  const auto t0 = Steady::now();
  EXPECT_EQ(second->WaitFor("cold#v1", 1, std::chrono::milliseconds(100)), nullptr);
  EXPECT_LT(Steady::now() - t0, std::chrono::milliseconds(500));
  EXPECT_EQ(second->Stats().waits_served, 1u);
  EXPECT_EQ(second->Stats().waits_missed, 1u);
}

}  // namespace
}  // namespace vodfs::shared_cache
