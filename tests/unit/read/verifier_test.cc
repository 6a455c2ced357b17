#include "vodfs/read/verifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>

namespace vodfs::read {
namespace {

constexpr uint64_t kBs = 4096;

std::string Data(size_t n, uint32_t seed = 3) {
  std::mt19937 g(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(g());
  return s;
}

uint64_t BlockCrc(const std::string& d, uint64_t b) {
  return Crc64(d.data() + b * kBs, std::min<uint64_t>(kBs, d.size() - b * kBs));
}

// What a disk tier would remember.
class FakeStore final : public cache::VersionStore {
 public:
  std::optional<cache::StoredVersion> Known(const std::string&) const override { return std::nullopt; }
  void Describe(const std::string&, const std::string&, const cache::StoredVersion&) override {}
  bool Verified(const std::string& object) const override { return verified.count(object) > 0; }
  void MarkVerified(const std::string& object, uint64_t) override { verified.insert(object); }
  std::vector<std::pair<uint64_t, uint64_t>> BlockCrcs(const std::string& object, uint64_t) const override {
    auto it = crcs.find(object);
    return it == crcs.end() ? std::vector<std::pair<uint64_t, uint64_t>>{} : it->second;
  }
  void DropObject(const std::string&, uint64_t) override {}
  std::set<std::string> verified;
  std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>> crcs;
};

ObjectId Id(const std::string& d, const std::string& name = "o#1") {
  return {name, d.size(), Crc64(d.data(), d.size()), std::nullopt};
}

TEST(VerifierTest, AnObjectReadInAnyOrderIsVerifiedByItsLastBlock) {
  const std::string d = Data(37 * kBs + 100);
  FakeStore store;
  Verifier v(kBs, &store);
  std::vector<uint64_t> order(38);
  for (uint64_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(9));
  for (size_t k = 0; k + 1 < order.size(); ++k) {
    EXPECT_EQ(v.Note(Id(d), order[k], BlockCrc(d, order[k])).verdict, Verifier::Verdict::kPending);
  }
  EXPECT_EQ(v.Note(Id(d), order.back(), BlockCrc(d, order.back())).verdict, Verifier::Verdict::kVerified);
  EXPECT_TRUE(store.verified.count("o#1"));
  EXPECT_TRUE(v.Verified("o#1"));
  // Never again: later notes are answered at once.
  EXPECT_EQ(v.Note(Id(d), 3, BlockCrc(d, 3)).verdict, Verifier::Verdict::kKnownGood);
  EXPECT_EQ(v.Stats().verified, 1u);
  EXPECT_EQ(v.Stats().tracked, 0u);
}

TEST(VerifierTest, AFlippedByteIsFoundWhenTheObjectCompletes) {
  const std::string d = Data(10 * kBs);
  std::string bad = d;
  bad[5 * kBs + 77] ^= 0x20;
  FakeStore store;
  Verifier v(kBs, &store);
  Verifier::Outcome o;
  for (uint64_t b = 0; b < 10; ++b) o = v.Note(Id(d), b, BlockCrc(bad, b));
  EXPECT_EQ(o.verdict, Verifier::Verdict::kMismatch);
  EXPECT_EQ(o.expected, Crc64(d.data(), d.size()));
  EXPECT_EQ(o.computed, Crc64(bad.data(), bad.size()));
  EXPECT_EQ(v.Failures("o#1"), 1u);
  EXPECT_FALSE(store.verified.count("o#1"));
  // It starts over: the right bytes verify.
  for (uint64_t b = 0; b < 10; ++b) o = v.Note(Id(d), b, BlockCrc(d, b));
  EXPECT_EQ(o.verdict, Verifier::Verdict::kVerified);
  EXPECT_EQ(v.Failures("o#1"), 1u);
}

TEST(VerifierTest, OneBlockSeenWithTwoContentsIsAMismatchAtOnce) {
  const std::string d = Data(10 * kBs);
  Verifier v(kBs, nullptr);
  EXPECT_EQ(v.Note(Id(d), 4, BlockCrc(d, 4)).verdict, Verifier::Verdict::kPending);
  EXPECT_EQ(v.Note(Id(d), 4, BlockCrc(d, 4)).verdict, Verifier::Verdict::kPending);  // the same again
  EXPECT_EQ(v.Note(Id(d), 4, BlockCrc(d, 4) ^ 1).verdict, Verifier::Verdict::kMismatch);
  EXPECT_EQ(v.Failures("o#1"), 1u);
}

TEST(VerifierTest, BytesOfATransferThatBeganBeforeACondemnationAreNotNoted) {
  const std::string d = Data(4 * kBs);
  std::string bad = d;
  bad[kBs + 9] ^= 1;
  Verifier v(kBs, nullptr);
  ObjectId before = Id(d);
  before.epoch = 0;
  for (uint64_t b = 0; b < 4; ++b) v.Note(before, b, BlockCrc(bad, b));
  ASSERT_EQ(v.Failures("o#1"), 1u);
  // A transfer from before the condemnation goes on delivering damaged
  // bytes: they are refused, and leave the new round untouched ...
  EXPECT_EQ(v.Note(before, 1, BlockCrc(bad, 1)).verdict, Verifier::Verdict::kCondemned);
  // ... which the true bytes, fetched afresh, complete.
  ObjectId after = Id(d);
  after.epoch = 1;
  Verifier::Outcome o;
  for (uint64_t b = 0; b < 4; ++b) o = v.Note(after, b, BlockCrc(d, b));
  EXPECT_EQ(o.verdict, Verifier::Verdict::kVerified);
  EXPECT_EQ(v.Failures("o#1"), 1u);
}

TEST(VerifierTest, WithoutTheOriginsCrcNothingCanBeVerified) {
  const std::string d = Data(2 * kBs);
  Verifier v(kBs, nullptr);
  ObjectId id{"o#1", d.size(), std::nullopt, std::nullopt};
  EXPECT_EQ(v.Note(id, 0, BlockCrc(d, 0)).verdict, Verifier::Verdict::kUnverifiable);
  EXPECT_EQ(v.Note(id, 1, 12345).verdict, Verifier::Verdict::kUnverifiable);
  EXPECT_EQ(v.Stats().unverifiable, 2u);
  EXPECT_EQ(v.Failures("o#1"), 0u);
}

TEST(VerifierTest, BlocksAnEarlierMountStoredCountTowardsTheWhole) {
  const std::string d = Data(6 * kBs + 5);
  FakeStore store;
  for (uint64_t b = 0; b < 5; ++b) store.crcs["o#1"].emplace_back(b, BlockCrc(d, b));
  Verifier v(kBs, &store);
  EXPECT_EQ(v.Note(Id(d), 5, BlockCrc(d, 5)).verdict, Verifier::Verdict::kPending);
  EXPECT_EQ(v.Note(Id(d), 6, BlockCrc(d, 6)).verdict, Verifier::Verdict::kVerified);
  // A store that says an object was verified is believed.
  store.verified.insert("p#1");
  EXPECT_EQ(v.Note(Id(d, "p#1"), 0, 999).verdict, Verifier::Verdict::kKnownGood);
}

TEST(VerifierTest, TrackedObjectsAreBoundedAndAForgottenOneStartsOver) {
  const std::string a = Data(3 * kBs, 1), b = Data(3 * kBs, 2);
  Verifier v(kBs, nullptr, 1);
  v.Note(Id(a, "a#1"), 0, BlockCrc(a, 0));
  v.Note(Id(a, "a#1"), 1, BlockCrc(a, 1));
  v.Note(Id(b, "b#1"), 0, BlockCrc(b, 0));  // a is forgotten
  EXPECT_EQ(v.Stats().tracked, 1u);
  EXPECT_EQ(v.Note(Id(a, "a#1"), 2, BlockCrc(a, 2)).verdict, Verifier::Verdict::kPending);
  v.Note(Id(a, "a#1"), 0, BlockCrc(a, 0));
  EXPECT_EQ(v.Note(Id(a, "a#1"), 1, BlockCrc(a, 1)).verdict, Verifier::Verdict::kVerified);
}

}  // namespace
}  // namespace vodfs::read
