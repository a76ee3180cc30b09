#include "latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace presence::sim {

std::size_t LatencyHistogram::bucket_of(std::uint64_t ns) noexcept {
  if (ns < kSubBuckets) return static_cast<std::size_t>(ns);
  const int exponent = std::min(static_cast<int>(std::bit_width(ns)) - 1, kMaxExponent);
  if (exponent == kMaxExponent && (ns >> kMaxExponent) > 1) return kBuckets - 1;
  const int shift = exponent - kSubBucketBits;
  const std::uint64_t sub = (ns >> shift) - kSubBuckets;
  return static_cast<std::size_t>(kSubBuckets * static_cast<std::uint64_t>(shift + 1) + sub);
}

std::uint64_t LatencyHistogram::bucket_upper_ns(std::size_t bucket) noexcept {
  if (bucket < kSubBuckets) return bucket;
  const std::uint64_t shift = bucket / kSubBuckets - 1;
  const std::uint64_t sub = bucket % kSubBuckets;
  return ((kSubBuckets + sub + 1) << shift) - 1;
}

void LatencyHistogram::record(std::int64_t ns) noexcept {
  const std::uint64_t value = ns < 0 ? 0 : static_cast<std::uint64_t>(ns);
  ++buckets_[bucket_of(value)];
  ++count_;
  max_ns_ = std::max(max_ns_, value);
  sum_ns_ += value;
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
  for (std::size_t i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ns_ = std::max(max_ns_, other.max_ns_);
  sum_ns_ += other.sum_ns_;
}

std::uint64_t LatencyHistogram::percentile_ns(double p) const noexcept {
  if (count_ == 0) return 0;
  const double wanted = std::ceil(static_cast<double>(count_) * std::clamp(p, 0.0, 100.0) / 100.0);
  const std::uint64_t rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(wanted));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::min(bucket_upper_ns(i), max_ns_);
  }
  return max_ns_;
}

namespace {

double to_ms(std::uint64_t ns) {
  // Three decimals: microsecond resolution is all a 6% histogram can honestly claim.
  return std::round(static_cast<double>(ns) / 1000.0) / 1000.0;
}

}  // namespace

nlohmann::json LatencyHistogram::summary_ms() const {
  return {{"count", count_},
          {"p50", to_ms(percentile_ns(50))},
          {"p90", to_ms(percentile_ns(90))},
          {"p99", to_ms(percentile_ns(99))},
          {"max", to_ms(max_ns_)},
          {"mean", count_ == 0 ? 0.0 : to_ms(sum_ns_ / count_)}};
}

nlohmann::json LatencyHistogram::to_json() const {
  nlohmann::json sparse = nlohmann::json::array();
  for (std::size_t i = 0; i < kBuckets; ++i) {
    if (buckets_[i] != 0) sparse.push_back({i, buckets_[i]});
  }
  return {{"count", count_}, {"max_ns", max_ns_}, {"sum_ns", sum_ns_}, {"buckets", sparse}};
}

std::optional<LatencyHistogram> LatencyHistogram::from_json(const nlohmann::json& j) noexcept {
  try {
    LatencyHistogram h;
    h.count_ = j.at("count").get<std::uint64_t>();
    h.max_ns_ = j.at("max_ns").get<std::uint64_t>();
    h.sum_ns_ = j.at("sum_ns").get<std::uint64_t>();
    std::uint64_t total = 0;
    for (const auto& pair : j.at("buckets")) {
      const auto index = pair.at(0).get<std::size_t>();
      if (index >= kBuckets) return std::nullopt;
      h.buckets_[index] = pair.at(1).get<std::uint64_t>();
      total += h.buckets_[index];
    }
    if (total != h.count_) return std::nullopt;
    return h;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace presence::sim
