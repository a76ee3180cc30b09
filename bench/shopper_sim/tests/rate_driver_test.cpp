#include "rate_driver.hpp"

#include <gtest/gtest.h>

#include "clock.hpp"

namespace presence::sim {
namespace {

TEST(RateDriver, DeliversTheRateOverManyTicks) {
  RateDriver driver(0.25);
  std::uint64_t total = driver.take(0, 1000);
  for (int tick = 1; tick <= 1000; ++tick) total += driver.take(tick * 5 * kNsPerMs, 1000);
  EXPECT_NEAR(static_cast<double>(total), 5000, 1);  // 5 s at 1000/s, up to rounding
}

TEST(RateDriver, FractionsCarryOver) {
  RateDriver driver(1);
  std::uint64_t total = driver.take(0, 3);
  for (int tick = 1; tick <= 110; ++tick) total += driver.take(tick * 10 * kNsPerMs, 3);
  EXPECT_EQ(total, 3u);  // 1.1 s at 3/s, although every tick owes only 0.03
}

TEST(RateDriver, AStallOwesAtMostTheBurst) {
  RateDriver driver(0.25);
  driver.take(0, 1000);
  EXPECT_EQ(driver.take(10 * kNsPerSecond, 1000), 250u);
}

TEST(RateDriver, ZeroRateOwesNothingAndForgetsCredit) {
  RateDriver driver(1);
  driver.take(0, 100);
  EXPECT_EQ(driver.take(kNsPerSecond / 2, 0), 0u);
  EXPECT_EQ(driver.take(kNsPerSecond, 100), 50u);
}

}  // namespace
}  // namespace presence::sim
