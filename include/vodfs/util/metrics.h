// Metrics: a latency histogram cheap enough for every FUSE request, and a
// writer of the Prometheus text exposition format (version 0.0.4).
//
// Thread-safety: LatencyHistogram::Record may be called from any thread
// (relaxed atomics; a snapshot taken meanwhile may be off by the requests
// in flight). PromWriter is single-threaded.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vodfs {

class LatencyHistogram {
 public:
  // Upper bounds of the buckets, in microseconds (the last, +Inf, implied).
  static constexpr std::array<uint64_t, 17> kBoundsUs = {
      50, 100, 250, 500, 1'000, 2'500, 5'000, 10'000, 25'000, 50'000,
      100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000};
  static constexpr size_t kBuckets = kBoundsUs.size() + 1;

  void Record(std::chrono::nanoseconds d);

  struct Snapshot {
    std::array<uint64_t, kBuckets> counts{};  // per bucket, not cumulative
    uint64_t count = 0;
    uint64_t sum_us = 0;
    // The upper bound (seconds) of the bucket holding quantile q in
    // [0, 1]; +Inf lands on the largest finite bound. 0 when empty.
    double QuantileSeconds(double q) const;
    double MeanSeconds() const { return count ? static_cast<double>(sum_us) / 1e6 / static_cast<double>(count) : 0; }
  };
  Snapshot Take() const;

 private:
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<uint64_t> sum_us_{0};
};

// Times a scope into a histogram.
class ScopedLatency {
 public:
  explicit ScopedLatency(LatencyHistogram& h) : h_(h), start_(std::chrono::steady_clock::now()) {}
  ~ScopedLatency() { h_.Record(std::chrono::steady_clock::now() - start_); }
  ScopedLatency(const ScopedLatency&) = delete;
  ScopedLatency& operator=(const ScopedLatency&) = delete;

 private:
  LatencyHistogram& h_;
  std::chrono::steady_clock::time_point start_;
};

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Builds an exposition: each family starts with its HELP and TYPE lines,
// followed by its samples. Names must match [a-zA-Z_:][a-zA-Z0-9_:]*;
// label values are escaped.
class PromWriter {
 public:
  void Family(const std::string& name, const std::string& type, const std::string& help);
  void Sample(const std::string& name, double value, const MetricLabels& labels = {});
  void Sample(const std::string& name, uint64_t value, const MetricLabels& labels = {});
  // A whole histogram family member: _bucket series (cumulative, in
  // seconds), _sum and _count.
  void Histogram(const std::string& name, const LatencyHistogram::Snapshot& s, const MetricLabels& labels = {});
  // Shorthands: a family of one sample.
  void Counter(const std::string& name, const std::string& help, uint64_t value);
  void Gauge(const std::string& name, const std::string& help, double value);

  const std::string& text() const { return out_; }

 private:
  void Line(const std::string& name, const MetricLabels& labels, const std::string& value);
  std::string out_;
};

}  // namespace vodfs
