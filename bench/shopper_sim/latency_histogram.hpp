// A log-bucketed latency histogram in the manner of HdrHistogram: each power of two is split into
// 16 linear sub-buckets, so any percentile is within 6.25% of the true value, recording is a few
// instructions, and histograms from several processes merge by adding their buckets.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

namespace presence::sim {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 4;
  static constexpr std::uint64_t kSubBuckets = 1u << kSubBucketBits;
  // 2^40 ns is about 18 minutes; anything slower lands in the last bucket (max stays exact).
  static constexpr int kMaxExponent = 40;
  static constexpr std::size_t kBuckets = kSubBuckets * (kMaxExponent - kSubBucketBits + 2);

  void record(std::int64_t ns) noexcept;
  void merge(const LatencyHistogram& other) noexcept;

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t max_ns() const noexcept { return max_ns_; }
  // The highest value of the bucket holding the p-th percentile (0 < p <= 100), never above max.
  std::uint64_t percentile_ns(double p) const noexcept;

  // {"count","p50","p90","p99","max","mean"} in milliseconds: what the report shows.
  nlohmann::json summary_ms() const;
  // Sparse buckets for the pipe between processes; from_json refuses anything malformed.
  nlohmann::json to_json() const;
  static std::optional<LatencyHistogram> from_json(const nlohmann::json& j) noexcept;

  static std::size_t bucket_of(std::uint64_t ns) noexcept;
  static std::uint64_t bucket_upper_ns(std::size_t bucket) noexcept;

 private:
  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ns_ = 0;
  // Sum for the mean; 2^64 ns is 584 years of summed latency, far beyond any bounded run.
  std::uint64_t sum_ns_ = 0;
};

}  // namespace presence::sim
