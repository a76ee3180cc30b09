// The region's hash tables are keyed by a random secret per zone: shoppers
// cannot choose strings that pile up in one bucket, which the zone lock would
// then walk on every join. White-box: reads the tables of the region.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "hash.hpp"
#include "presence/tracker.hpp"
#include "presence_store.hpp"
#include "tracker_test_support.hpp"

namespace presence {
namespace {

using test::cart;
using test::SharedRegion;

constexpr std::size_t kRegionBytes = 4 * 1024 * 1024;
constexpr std::string_view kTopic = "cart_tracker";

std::vector<std::uint32_t> page_hashes(SharedRegion& region,
                                       const std::vector<std::string>& pages) {
  shm::PresenceStore s(static_cast<std::byte*>(region.tracker_region()));
  std::vector<std::uint32_t> out;
  for (const auto& page : pages) out.push_back(s.intern_hash(8, shm::InternKind::page, page));
  return out;
}

// The longest chain of the string table.
std::size_t longest_chain(SharedRegion& region) {
  shm::PresenceStore s(static_cast<std::byte*>(region.tracker_region()));
  const auto& h = s.header();
  const auto* buckets = reinterpret_cast<const shm::Offset*>(s.base() + h.intern_buckets);
  std::size_t longest = 0;
  for (std::size_t b = 0; b <= h.intern_mask; ++b) {
    std::size_t n = 0;
    for (shm::Offset r = buckets[b]; r != 0; r = s.at<shm::InternRecord>(r).hash_next) ++n;
    longest = std::max(longest, n);
  }
  return longest;
}

TEST(RegionHash, TwoZonesHashTheSameStringsDifferently) {
  SharedRegion one(kRegionBytes), two(kRegionBytes);
  ASSERT_TRUE(one.open(test::config(), true));
  ASSERT_TRUE(two.open(test::config(), true));
  const std::vector<std::string> pages = {"/", "/products/air-max-90", "/cart", "/checkout"};
  EXPECT_NE(page_hashes(one, pages), page_hashes(two, pages));
}

TEST(RegionHash, TheKeyIsKeptWhenTheZoneIsOpenedAgain) {
  SharedRegion region(kRegionBytes);
  Tracker first = *region.open(test::config(), true);
  ASSERT_EQ(first.track(kTopic, "a", cart("/kept"), Owner{1, 1}, 0).error, TrackError::none);
  const std::vector<std::string> pages = {"/", "/kept"};
  const auto before = page_hashes(region, pages);
  // As a reload does: the same region, attached by a new configuration.
  Tracker again = *region.open(test::config(), false);
  EXPECT_EQ(page_hashes(region, pages), before);
  EXPECT_EQ(again.stats(kTopic).pages.size(), 1u);
  std::string why;
  EXPECT_TRUE(again.check_invariants(&why)) << why;
}

// Strings crafted to share a bucket under a fixed, public hash (the one the
// zone used before it had a key) spread out under the zone's key.
TEST(RegionHash, StringsCraftedForOneBucketDoNotShareOne) {
  SharedRegion region(kRegionBytes);
  TrackerConfig cfg = test::config();
  cfg.stats_top = kMaxStatsTop;
  Tracker t = *region.open(cfg, true);
  ASSERT_EQ(t.track(kTopic, "probe", cart("/probe"), Owner{1, 1}, 0).error, TrackError::none);
  shm::PresenceStore s(static_cast<std::byte*>(region.tracker_region()));
  const std::uint32_t mask = s.header().intern_mask;
  // The topic record is the arena's first block: its offset is known to anyone.
  const shm::Offset topic = s.find_topic(kTopic);
  const std::uint64_t fixed_seed = (std::uint64_t{topic} << 8) | 1u;
  constexpr std::size_t kCrafted = 300;
  std::vector<std::string> crafted;
  for (std::uint64_t i = 0; crafted.size() < kCrafted; ++i) {
    std::string page = "/x" + std::to_string(i);
    if ((static_cast<std::uint32_t>(shm::hash_bytes(page, fixed_seed)) & mask) == 0) {
      crafted.push_back(std::move(page));
    }
  }
  for (std::size_t i = 0; i < crafted.size(); ++i) {
    ASSERT_EQ(t.track(kTopic, "k" + std::to_string(i), cart(crafted[i]), Owner{1, i + 2}, 0).error,
              TrackError::none);
  }
  // 301 strings in the table's slots: a random function puts at most a handful in one.
  EXPECT_LE(longest_chain(region), 8u);
}

}  // namespace
}  // namespace presence
