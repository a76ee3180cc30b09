#include "latency_histogram.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace presence::sim {
namespace {

TEST(LatencyHistogram, SmallValuesAreExact) {
  for (std::uint64_t v = 0; v < LatencyHistogram::kSubBuckets * 2; ++v) {
    EXPECT_EQ(LatencyHistogram::bucket_upper_ns(LatencyHistogram::bucket_of(v)), v);
  }
}

TEST(LatencyHistogram, BucketsAreContiguousAndOrdered) {
  std::uint64_t previous_upper = 0;
  for (std::size_t b = 1; b < LatencyHistogram::kBuckets; ++b) {
    const std::uint64_t upper = LatencyHistogram::bucket_upper_ns(b);
    EXPECT_GT(upper, previous_upper);
    EXPECT_EQ(LatencyHistogram::bucket_of(previous_upper + 1), b);
    EXPECT_EQ(LatencyHistogram::bucket_of(upper), b);
    previous_upper = upper;
  }
}

TEST(LatencyHistogram, ValuesPastTheLastBucketLandInIt) {
  const std::uint64_t top = LatencyHistogram::bucket_upper_ns(LatencyHistogram::kBuckets - 1);
  EXPECT_EQ(LatencyHistogram::bucket_of(top), LatencyHistogram::kBuckets - 1);
  EXPECT_EQ(LatencyHistogram::bucket_of(top + 1), LatencyHistogram::kBuckets - 1);
  EXPECT_EQ(LatencyHistogram::bucket_of(UINT64_MAX), LatencyHistogram::kBuckets - 1);
  LatencyHistogram h;
  h.record(static_cast<std::int64_t>(top) * 4);
  EXPECT_EQ(h.max_ns(), top * 4);  // the max stays exact
  EXPECT_EQ(h.percentile_ns(100), top);
}

TEST(LatencyHistogram, NegativeDurationsCountAsZero) {
  LatencyHistogram h;
  h.record(-5);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.max_ns(), 0u);
}

RC_GTEST_PROP(LatencyHistogram, PercentilesAreWithinTheBucketError,
              (std::vector<std::uint32_t> values)) {
  RC_PRE(!values.empty());
  LatencyHistogram h;
  for (std::uint32_t v : values) h.record(v);
  std::sort(values.begin(), values.end());
  for (double p : {50.0, 90.0, 99.0, 100.0}) {
    const auto rank = static_cast<std::size_t>(
        std::max(1.0, std::ceil(static_cast<double>(values.size()) * p / 100.0)));
    const double exact = values[rank - 1];
    const auto got = static_cast<double>(h.percentile_ns(p));
    RC_ASSERT(got >= exact);
    RC_ASSERT(got <= exact * (1.0 + 1.0 / LatencyHistogram::kSubBuckets) + 1);
  }
  RC_ASSERT(h.max_ns() == values.back());
}

RC_GTEST_PROP(LatencyHistogram, MergingEqualsRecordingEverythingInOne,
              (std::vector<std::uint32_t> a, std::vector<std::uint32_t> b)) {
  LatencyHistogram ha;
  LatencyHistogram hb;
  LatencyHistogram all;
  for (std::uint32_t v : a) ha.record(v), all.record(v);
  for (std::uint32_t v : b) hb.record(v), all.record(v);
  ha.merge(hb);
  RC_ASSERT(ha.to_json() == all.to_json());
}

RC_GTEST_PROP(LatencyHistogram, JsonRoundTrips, (std::vector<std::uint64_t> values)) {
  LatencyHistogram h;
  for (std::uint64_t v : values) h.record(static_cast<std::int64_t>(v >> 2));
  const auto back = LatencyHistogram::from_json(h.to_json());
  RC_ASSERT(back.has_value());
  RC_ASSERT(back->to_json() == h.to_json());
}

TEST(LatencyHistogram, FromJsonRefusesABucketPastTheEndAndWrongCounts) {
  LatencyHistogram h;
  h.record(1000);
  nlohmann::json j = h.to_json();
  nlohmann::json past = j;
  past["buckets"][0][0] = LatencyHistogram::kBuckets;
  EXPECT_FALSE(LatencyHistogram::from_json(past));
  nlohmann::json miscounted = j;
  miscounted["count"] = 2;
  EXPECT_FALSE(LatencyHistogram::from_json(miscounted));
  EXPECT_FALSE(LatencyHistogram::from_json(nlohmann::json::array()));
}

TEST(LatencyHistogram, SummaryIsInMilliseconds) {
  LatencyHistogram h;
  for (int i = 1; i <= 100; ++i) h.record(i * 1'000'000);  // 1..100 ms
  const nlohmann::json s = h.summary_ms();
  EXPECT_EQ(s["count"], 100);
  EXPECT_NEAR(s["p50"].get<double>(), 50, 50 * 0.0625);
  EXPECT_NEAR(s["p99"].get<double>(), 99, 99 * 0.0625);
  EXPECT_DOUBLE_EQ(s["max"].get<double>(), 100);
  EXPECT_NEAR(s["mean"].get<double>(), 50.5, 0.001);
}

}  // namespace
}  // namespace presence::sim
