#include "vodfs/util/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace vodfs {

void LatencyHistogram::Record(std::chrono::nanoseconds d) {
  const uint64_t us = d.count() <= 0 ? 0 : static_cast<uint64_t>(d.count()) / 1000;
  const size_t i = static_cast<size_t>(std::lower_bound(kBoundsUs.begin(), kBoundsUs.end(), us) - kBoundsUs.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(us, std::memory_order_relaxed);
}

LatencyHistogram::Snapshot LatencyHistogram::Take() const {
  Snapshot s;
  for (size_t i = 0; i < kBuckets; ++i) {
    s.counts[i] = counts_[i].load(std::memory_order_relaxed);
    s.count += s.counts[i];
  }
  s.sum_us = sum_us_.load(std::memory_order_relaxed);
  return s;
}

double LatencyHistogram::Snapshot::QuantileSeconds(double q) const {
  if (count == 0) return 0;
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(count);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBoundsUs.size(); ++i) {
    seen += counts[i];
    if (static_cast<double>(seen) >= rank && seen > 0) return static_cast<double>(kBoundsUs[i]) / 1e6;
  }
  return static_cast<double>(kBoundsUs.back()) / 1e6;
}

namespace {

std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // The shortest of %.15g and %.17g that reads back as the same double.
  char b[64];
  std::snprintf(b, sizeof(b), "%.15g", v);
  if (std::strtod(b, nullptr) != v) std::snprintf(b, sizeof(b), "%.17g", v);
  return b;
}

std::string Escape(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

std::string EscapeHelp(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

}  // namespace

void PromWriter::Family(const std::string& name, const std::string& type, const std::string& help) {
  out_ += "# HELP " + name + " " + EscapeHelp(help) + "\n";
  out_ += "# TYPE " + name + " " + type + "\n";
}

void PromWriter::Line(const std::string& name, const MetricLabels& labels, const std::string& value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i) out_ += ',';
      out_ += labels[i].first + "=\"" + Escape(labels[i].second) + "\"";
    }
    out_ += '}';
  }
  out_ += ' ' + value + '\n';
}

void PromWriter::Sample(const std::string& name, double value, const MetricLabels& labels) {
  Line(name, labels, Number(value));
}

void PromWriter::Sample(const std::string& name, uint64_t value, const MetricLabels& labels) {
  Line(name, labels, std::to_string(value));
}

void PromWriter::Histogram(const std::string& name, const LatencyHistogram::Snapshot& s, const MetricLabels& labels) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
    cumulative += s.counts[i];
    MetricLabels l = labels;
    l.emplace_back("le", i < LatencyHistogram::kBoundsUs.size()
                             ? Number(static_cast<double>(LatencyHistogram::kBoundsUs[i]) / 1e6)
                             : "+Inf");
    Line(name + "_bucket", l, std::to_string(cumulative));
  }
  Line(name + "_sum", labels, Number(static_cast<double>(s.sum_us) / 1e6));
  Line(name + "_count", labels, std::to_string(s.count));
}

void PromWriter::Counter(const std::string& name, const std::string& help, uint64_t value) {
  Family(name, "counter", help);
  Sample(name, value);
}

void PromWriter::Gauge(const std::string& name, const std::string& help, double value) {
  Family(name, "gauge", help);
  Sample(name, value);
}

}  // namespace vodfs
