#include "vodfs/fetch/fetcher.h"

#include <gtest/gtest.h>

#include "support/fakes.h"
#include "vodfs/util/crc64.h"

namespace vodfs::fetch {
namespace {

using testing::FakeOrigin;

class OriginResolver final : public resolve::UrlResolver {
 public:
  explicit OriginResolver(FakeOrigin& o) : origin_(o) {}
  Result<std::vector<Resolved>> Resolve(const resolve::MediaRef& ref) override {
    ++calls;
    return std::vector<Resolved>{{ref, origin_.Sign(ref.id)}};
  }
  int calls = 0;

 private:
  FakeOrigin& origin_;
};

class FetcherTest : public ::testing::Test {
 protected:
  FetcherTest() : resolver_(origin_), broker_(resolver_, clock_, nullptr, {}), fetcher_(origin_, broker_, clock_) {
    data_.resize(300000);
    for (size_t i = 0; i < data_.size(); ++i) data_[i] = static_cast<char>(i * 7 + (i >> 9));
    origin_.Put("obj", data_);
    ref_.id = "obj";
  }
  FakeOrigin origin_;
  FakeClock clock_;
  OriginResolver resolver_;
  resolve::UrlBroker broker_;
  RangeFetcher fetcher_;
  resolve::MediaRef ref_;
  std::string data_;
};

TEST_F(FetcherTest, RangesAreExactAndCutAtTheEnd) {
  auto r = fetcher_.Fetch(ref_, 1000, 5000, std::nullopt);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->data, data_.substr(1000, 5000));
  EXPECT_EQ(r->fingerprint.size, data_.size());
  EXPECT_FALSE(r->fingerprint.etag.empty());
  auto tail = fetcher_.Fetch(ref_, 299000, 5000, r->fingerprint);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->data, data_.substr(299000));
  auto past = fetcher_.Fetch(ref_, 400000, 10, r->fingerprint);
  ASSERT_TRUE(past.ok());
  EXPECT_TRUE(past->data.empty());
}

TEST_F(FetcherTest, ProbeGivesTheVersion) {
  auto f = fetcher_.Probe(ref_);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->size, data_.size());
  origin_.Put("empty", "");
  resolve::MediaRef e;
  e.id = "empty";
  auto z = fetcher_.Probe(e);
  ASSERT_TRUE(z.ok()) << z.error().ToString();
  EXPECT_EQ(z->size, 0u);
}

TEST_F(FetcherTest, AnIgnoredRangeIsCutOutOfTheWholeObject) {
  origin_.AddFault({.key = "obj", .ignore_range = true});
  auto r = fetcher_.Fetch(ref_, 100, 200, std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data, data_.substr(100, 200));
  EXPECT_EQ(fetcher_.Stats().ignored_ranges, 1u);
  // ...but a range deep into an object that ignores Range is not worth
  // downloading up to: the answer is abandoned and the range asked again.
  FetchOptions o;
  o.max_skip_on_200 = 1000;
  RangeFetcher small(origin_, broker_, clock_, o);
  origin_.AddFault({.key = "obj", .ignore_range = true});
  const uint64_t before = origin_.bytes_sent();
  auto deep = small.Fetch(ref_, 250000, 100, std::nullopt);
  ASSERT_TRUE(deep.ok());
  EXPECT_EQ(deep->data, data_.substr(250000, 100));
  EXPECT_LT(origin_.bytes_sent() - before, 50000u);
}

TEST_F(FetcherTest, AWrongContentRangeIsNeverUsed) {
  origin_.AddFault({.key = "obj", .shift = 10});
  auto r = fetcher_.Fetch(ref_, 0, 1000, std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data, data_.substr(0, 1000));
  EXPECT_EQ(fetcher_.Stats().bad_ranges, 1u);
  EXPECT_EQ(fetcher_.Stats().retries, 1u);
}

TEST_F(FetcherTest, ARejectedUrlIsReplacedAndTheRangeAskedAgain) {
  auto first = fetcher_.Fetch(ref_, 0, 10, std::nullopt);
  ASSERT_TRUE(first.ok());
  origin_.RevokeAll();  // every URL issued so far now gets 403
  auto r = fetcher_.Fetch(ref_, 50, 10, first->fingerprint);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->data, data_.substr(50, 10));
  EXPECT_EQ(resolver_.calls, 2);
  EXPECT_EQ(fetcher_.Stats().rejections, 1u);
  EXPECT_EQ(clock_.total_slept(), Duration::zero());  // a refusal is not a failure to back off from
}

TEST_F(FetcherTest, AlwaysRefusedIsPermissionDenied) {
  origin_.AddFault({.key = "obj", .status = 403, .times = 100});
  auto r = fetcher_.Fetch(ref_, 0, 10, std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("referer"), std::string::npos);
}

TEST_F(FetcherTest, ACutTransferResumesWhereItStopped) {
  std::vector<std::pair<uint64_t, size_t>> chunks;
  std::string got;
  origin_.AddFault({.key = "obj", .cut_after = 70000});
  auto fp = fetcher_.FetchTo(ref_, 1000, 200000, std::nullopt, [&](uint64_t off, std::string_view c) {
    chunks.emplace_back(off, c.size());
    got.append(c);
    return true;
  });
  ASSERT_TRUE(fp.ok()) << fp.error().ToString();
  EXPECT_EQ(got, data_.substr(1000, 200000));
  auto ranges = origin_.ranges();
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0], "1000-200999");
  EXPECT_EQ(ranges[1], "71000-200999");  // only what was missing
  for (size_t i = 1; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].first, chunks[i - 1].first + chunks[i - 1].second);  // in order, no gap
  }
}

TEST_F(FetcherTest, AChangedObjectIsStaleNeverMixed) {
  auto first = fetcher_.Fetch(ref_, 0, 1000, std::nullopt);
  ASSERT_TRUE(first.ok());
  std::string other = data_;
  other[5] ^= 1;
  origin_.Put("obj", other);  // same size, new ETag
  auto r = fetcher_.Fetch(ref_, 0, 1000, first->fingerprint);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), ErrorCode::kStale);
  origin_.Put("obj", data_.substr(0, 100));  // shrank
  auto s = fetcher_.Fetch(ref_, 5000, 10, std::nullopt);
  EXPECT_EQ(s.code(), ErrorCode::kStale);
}

TEST_F(FetcherTest, ServerErrorsAreRetriedWithBackoff) {
  origin_.AddFault({.key = "obj", .status = 503, .times = 2});
  auto r = fetcher_.Fetch(ref_, 0, 100, std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(fetcher_.Stats().retries, 2u);
  EXPECT_GT(clock_.total_slept(), Duration::zero());
  origin_.AddFault({.key = "obj", .status = 503, .times = 100});
  auto e = fetcher_.Fetch(ref_, 0, 100, std::nullopt);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
  origin_.Put("gone", "x");
  origin_.AddFault({.key = "gone", .status = 404});
  resolve::MediaRef gone;
  gone.id = "gone";
  EXPECT_EQ(fetcher_.Fetch(gone, 0, 1, std::nullopt).code(), ErrorCode::kStale);
}

TEST_F(FetcherTest, TheOriginsCrc64IsPartOfTheVersion) {
  auto first = fetcher_.Fetch(ref_, 0, 1000, std::nullopt);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->fingerprint.crc64);
  EXPECT_EQ(*first->fingerprint.crc64, Crc64(data_.data(), data_.size()));
  // An answer without the header still matches (some CDNs drop it) ...
  origin_.AddFault({.key = "obj", .no_crc = true, .times = 2});
  auto bare = fetcher_.Fetch(ref_, 0, 10, std::nullopt);
  ASSERT_TRUE(bare.ok()) << bare.error().ToString();
  EXPECT_FALSE(bare->fingerprint.crc64);
  auto same = fetcher_.Fetch(ref_, 0, 10, first->fingerprint);
  ASSERT_TRUE(same.ok()) << same.error().ToString();
  EXPECT_EQ(same->data, data_.substr(0, 10));
  // ... and one that names another CRC-64 under the same ETag does not.
  Fingerprint other = first->fingerprint;
  other.crc64 = *other.crc64 ^ 1;
  auto r = fetcher_.Fetch(ref_, 0, 10, other);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), ErrorCode::kStale);
}

TEST_F(FetcherTest, ATransferThatSendsNothingIsAskedToGiveUpAtTheStallTimeout) {
  // The stall limit goes with every request, clamped to what is left of
  // the retry budget, so a silent origin ends the fetch within the budget.
  auto r = fetcher_.Fetch(ref_, 0, 100, std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(origin_.last_stall(), std::chrono::seconds(15));
  // With a budget shorter than the stall limit, no attempt may stall past
  // the budget's end: the first gets the whole budget, and one after two
  // failures (at most 0.3 s of backoff) what is left of it.
  FetchOptions short_budget;
  short_budget.retry.budget = std::chrono::seconds(10);
  RangeFetcher f(origin_, broker_, clock_, short_budget);
  ASSERT_TRUE(f.Fetch(ref_, 0, 100, std::nullopt).ok());
  EXPECT_EQ(origin_.last_stall(), std::chrono::seconds(10));
  origin_.AddFault({.key = "obj", .status = 503, .times = 2});
  ASSERT_TRUE(f.Fetch(ref_, 0, 100, std::nullopt).ok());
  EXPECT_EQ(origin_.last_stall(), std::chrono::seconds(9));
}

TEST(FetchFailureTest, StatusesAndErrorsByKind) {
  EXPECT_FALSE(ClassifyStatus(200));
  EXPECT_FALSE(ClassifyStatus(206));
  EXPECT_EQ(ClassifyStatus(401), FetchFailure::kRejected);
  EXPECT_EQ(ClassifyStatus(403), FetchFailure::kRejected);
  EXPECT_EQ(ClassifyStatus(410), FetchFailure::kRejected);
  EXPECT_EQ(ClassifyStatus(404), FetchFailure::kStale);
  EXPECT_EQ(ClassifyStatus(416), FetchFailure::kStale);
  EXPECT_EQ(ClassifyStatus(429), FetchFailure::kRetryable);
  EXPECT_EQ(ClassifyStatus(500), FetchFailure::kRetryable);
  EXPECT_EQ(ClassifyStatus(503), FetchFailure::kRetryable);
  EXPECT_EQ(ClassifyStatus(400), FetchFailure::kFatal);
  EXPECT_EQ(ToErrorCode(FetchFailure::kStale), ErrorCode::kStale);
  EXPECT_EQ(ToErrorCode(FetchFailure::kRejected), ErrorCode::kPermissionDenied);
  EXPECT_EQ(ToErrorCode(FetchFailure::kRetryable), ErrorCode::kUnavailable);
  EXPECT_EQ(ToErrorCode(FetchFailure::kCancelled), ErrorCode::kCancelled);
}

TEST(ContentRangeTest, Parsing) {
  uint64_t f, l;
  std::optional<uint64_t> t;
  EXPECT_TRUE(ParseContentRange("bytes 0-99/1000", &f, &l, &t));
  EXPECT_EQ(f, 0u);
  EXPECT_EQ(l, 99u);
  EXPECT_EQ(t, 1000u);
  EXPECT_TRUE(ParseContentRange("bytes 5-9/*", &f, &l, &t));
  EXPECT_FALSE(t);
  EXPECT_FALSE(ParseContentRange("bytes 9-5/10", &f, &l, &t));
  EXPECT_FALSE(ParseContentRange("bytes 0-99/99", &f, &l, &t));
  EXPECT_FALSE(ParseContentRange("items 0-1/2", &f, &l, &t));
  EXPECT_FALSE(ParseContentRange("bytes x-1/2", &f, &l, &t));
}

TEST(FingerprintTest, Matching) {
  Fingerprint a{100, "\"e1\"", "d1", std::nullopt}, b{100, "\"e1\"", "d2", std::nullopt},
      c{100, "\"e2\"", "d1", std::nullopt}, d{101, "\"e1\"", "d1", std::nullopt};
  EXPECT_TRUE(a.Matches(b));   // same ETag
  EXPECT_FALSE(a.Matches(c));  // ETag differs
  EXPECT_FALSE(a.Matches(d));  // size differs
  Fingerprint noetag{100, "", "d1", std::nullopt};
  EXPECT_TRUE(a.Matches(noetag));
  EXPECT_FALSE(Fingerprint({100, "", "d2", std::nullopt}).Matches(noetag));
  Fingerprint crc1{100, "\"e1\"", "d1", 1}, crc2{100, "\"e1\"", "d1", 2};
  EXPECT_FALSE(crc1.Matches(crc2));  // same ETag, other bytes
  EXPECT_TRUE(crc1.Matches(a));      // one side without it
  EXPECT_NE(crc1.Id(), "");
}

}  // namespace
}  // namespace vodfs::fetch
