#include "vodfs/util/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "vodfs/util/strings.h"

namespace vodfs {
namespace {

using std::chrono::microseconds;

TEST(LatencyHistogramTest, RecordsIntoTheRightBuckets) {
  LatencyHistogram h;
  h.Record(microseconds(10));        // <= 50 us
  h.Record(microseconds(50));        // <= 50 us (bounds are inclusive)
  h.Record(microseconds(51));        // <= 100 us
  h.Record(microseconds(3'000));     // <= 5 ms
  h.Record(std::chrono::seconds(60));  // +Inf
  auto s = h.Take();
  EXPECT_EQ(s.count, 5u);
  EXPECT_EQ(s.counts[0], 2u);
  EXPECT_EQ(s.counts[1], 1u);
  EXPECT_EQ(s.counts[6], 1u);
  EXPECT_EQ(s.counts[LatencyHistogram::kBuckets - 1], 1u);
  EXPECT_EQ(s.sum_us, 10u + 50 + 51 + 3'000 + 60'000'000);
  EXPECT_DOUBLE_EQ(s.QuantileSeconds(0.5), 100e-6);
  EXPECT_DOUBLE_EQ(s.QuantileSeconds(0.7), 5e-3);
  EXPECT_DOUBLE_EQ(s.QuantileSeconds(1.0), 10.0);  // +Inf reports the largest finite bound
  EXPECT_DOUBLE_EQ(LatencyHistogram().Take().QuantileSeconds(0.99), 0.0);
}

TEST(LatencyHistogramTest, CountsEveryRecordFromManyThreads) {
  LatencyHistogram h;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&h, t] {
      for (int i = 0; i < 10'000; ++i) h.Record(microseconds(100 * (t + 1)));
    });
  }
  for (auto& t : ts) t.join();
  auto s = h.Take();
  EXPECT_EQ(s.count, 40'000u);
  EXPECT_EQ(s.sum_us, 10'000u * (100 + 200 + 300 + 400));
}

TEST(PromWriterTest, WritesTheTextExpositionFormat) {
  PromWriter w;
  w.Counter("vodfs_opens_total", "Files opened.", 3);
  w.Family("vodfs_http_requests_total", "counter", "Requests by status.\nSecond line");
  w.Sample("vodfs_http_requests_total", uint64_t{7}, {{"status", "206"}, {"path", "a\"b\\c\nd"}});
  w.Gauge("vodfs_cache_bytes", "Bytes held.", 1.5);
  EXPECT_EQ(w.text(),
            "# HELP vodfs_opens_total Files opened.\n"
            "# TYPE vodfs_opens_total counter\n"
            "vodfs_opens_total 3\n"
            "# HELP vodfs_http_requests_total Requests by status.\\nSecond line\n"
            "# TYPE vodfs_http_requests_total counter\n"
            "vodfs_http_requests_total{status=\"206\",path=\"a\\\"b\\\\c\\nd\"} 7\n"
            "# HELP vodfs_cache_bytes Bytes held.\n"
            "# TYPE vodfs_cache_bytes gauge\n"
            "vodfs_cache_bytes 1.5\n");
}

TEST(PromWriterTest, HistogramBucketsAreCumulativeAndEndInInf) {
  LatencyHistogram h;
  h.Record(microseconds(40));
  h.Record(microseconds(40));
  h.Record(microseconds(200));
  h.Record(std::chrono::seconds(20));
  PromWriter w;
  w.Family("vodfs_fuse_op_seconds", "histogram", "FUSE op latency.");
  w.Histogram("vodfs_fuse_op_seconds", h.Take(), {{"op", "read"}});
  const std::string t = w.text();
  EXPECT_NE(t.find("vodfs_fuse_op_seconds_bucket{op=\"read\",le=\"5e-05\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("vodfs_fuse_op_seconds_bucket{op=\"read\",le=\"0.00025\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("vodfs_fuse_op_seconds_bucket{op=\"read\",le=\"10\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("vodfs_fuse_op_seconds_bucket{op=\"read\",le=\"+Inf\"} 4\n"), std::string::npos) << t;
  EXPECT_NE(t.find("vodfs_fuse_op_seconds_sum{op=\"read\"} 20.00028\n"), std::string::npos) << t;
  EXPECT_NE(t.find("vodfs_fuse_op_seconds_count{op=\"read\"} 4\n"), std::string::npos) << t;
  // Every bucket line's count never decreases.
  uint64_t last = 0;
  for (const auto& line : str::Split(t, '\n', true)) {
    if (line.find("_bucket{") == std::string::npos) continue;
    const uint64_t n = std::stoull(line.substr(line.rfind(' ') + 1));
    EXPECT_GE(n, last);
    last = n;
  }
}

}  // namespace
}  // namespace vodfs
