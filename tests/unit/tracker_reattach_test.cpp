// A reload attaches to the region the running configuration formatted: what
// the region is made of (its replica name, its change log) cannot change then.
#include <gtest/gtest.h>

#include "presence/tracker.hpp"
#include "tracker_test_support.hpp"

namespace presence {
namespace {

using test::cart;
using test::config;
using test::SharedRegion;

constexpr std::size_t kRegionBytes = 2 * 1024 * 1024;

TEST(TrackerReattach, ANodeNameOrChangeLogOtherThanTheRegionsIsRefused) {
  SharedRegion region(kRegionBytes);
  std::string error;
  auto formatted = region.open(config("store-a", 1, 256 * 1024), true, &error);
  ASSERT_TRUE(formatted) << error;
  ASSERT_EQ(formatted->track("admin:cart_tracker", "alice", cart("/"), Owner{1, 1}, 0).error,
            TrackError::none);

  EXPECT_FALSE(region.open(config("store-b", 1, 256 * 1024), false, &error));
  EXPECT_NE(error.find("node name"), std::string::npos) << error;
  EXPECT_FALSE(region.open(config("store-a", 1, 512 * 1024), false, &error));
  EXPECT_NE(error.find("change log"), std::string::npos) << error;

  // The same settings (another generation: a reload) keep every presence.
  auto again = region.open(config("store-a", 2, 256 * 1024), false, &error);
  ASSERT_TRUE(again) << error;
  EXPECT_EQ(again->usage().metas, 1u);
  EXPECT_EQ(again->local_replica().generation, 1u);
}

}  // namespace
}  // namespace presence
