// A zone full of shoppers refuses new ones, never the ones already online:
// an update needs no room when it fits its meta's block and names strings the
// zone holds already, and otherwise takes the reserve new tracks leave alone.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "presence/tracker.hpp"
#include "tracker_test_support.hpp"

namespace presence {
namespace {

using test::cart;
using test::config;
using test::SharedRegion;

constexpr std::string_view kTopic = "admin:cart_tracker";
constexpr std::size_t kRegionBytes = 2 * 1024 * 1024;

// A meta at every bound, whose strings no other meta holds.
CartMeta maximal_meta(const std::string& tag) {
  CartMeta meta;
  meta.page = "/" + tag + std::string(kMaxPageBytes - 1 - tag.size(), 'p');
  for (std::size_t i = 0; i < kMaxItems; ++i) {
    std::string product = tag + "-" + std::to_string(i);
    product += std::string(kMaxProductBytes - product.size(), 'x');
    meta.items.push_back(CartItem{product, std::string(kMaxSizeBytes, 's'), kMaxQty});
  }
  return meta;
}

std::string maximal_key(std::size_t i) {
  std::string key = "cart-" + std::to_string(i);
  return key + std::string(kMaxKeyBytes - key.size(), 'k');
}

class TrackerFullZoneTest : public ::testing::Test {
 protected:
  TrackerFullZoneTest() : region_(kRegionBytes), tracker_(*region_.open(config(), true)) {}

  // Tracks shoppers with a page and one item each, sharing few strings, until refused.
  void fill() {
    for (std::uint64_t i = 0;; ++i) {
      TrackResult r = tracker_.track(
          kTopic, "cart-" + std::to_string(i),
          cart("/p/" + std::to_string(i % 20), {{"air-max-90", std::to_string(i % 5), 1}}),
          Owner{100, i}, 1000);
      if (r.error == TrackError::region_full) break;
      ASSERT_EQ(r.error, TrackError::none);
      online_.push_back(std::move(r));
    }
    ASSERT_GT(online_.size(), 1000u);
  }
  void expect_consistent() {
    std::string why;
    EXPECT_TRUE(tracker_.check_invariants(&why)) << why;
  }

  SharedRegion region_;
  Tracker tracker_;
  std::vector<TrackResult> online_;
};

TEST_F(TrackerFullZoneTest, AnExistingShopperChangesPageInAFullZone) {
  fill();
  TrackResult& shopper = online_[online_.size() / 2];
  // A page no one is on yet, then one of the pages held already.
  for (const char* page : {"/a-page-nobody-is-on", "/p/3"}) {
    const TrackResult moved =
        tracker_.update(shopper.handle, cart(page, {{"air-max-90", "1", 1}}), 2000);
    ASSERT_EQ(moved.error, TrackError::none) << page;
    EXPECT_EQ(tracker_.get(moved.handle)->meta.page, page);
    EXPECT_EQ(tracker_.get(moved.handle)->phx_ref_prev, shopper.phx_ref);
    EXPECT_FALSE(tracker_.get(shopper.handle));
    shopper = moved;
  }
  // New shoppers are still refused: the room was the reserve's.
  EXPECT_EQ(tracker_.track(kTopic, "late", cart("/"), Owner{100, 1}, 0).error,
            TrackError::region_full);
  expect_consistent();
}

TEST_F(TrackerFullZoneTest, AnExistingShopperFillsItsCartToTheBoundInAFullZone) {
  fill();
  for (std::size_t n = 0; n < 3; ++n) {
    TrackResult& shopper = online_[n * 97];
    const CartMeta meta = maximal_meta("full-" + std::to_string(n));
    const TrackResult r = tracker_.update(shopper.handle, meta, 2000);
    ASSERT_EQ(r.error, TrackError::none) << "update " << n;
    EXPECT_EQ(tracker_.get(r.handle)->meta, meta);
    shopper = r;
  }
  expect_consistent();
  std::vector<PresenceEntry> list;
  tracker_.snapshot(kTopic, list);
  EXPECT_EQ(list.size(), online_.size());
}

TEST_F(TrackerFullZoneTest, AnUpdateThatFitsItsBlockNeedsNoRoomOnceTheReserveIsGone) {
  fill();
  // Updates to pages no one is on take the reserve until none is left.
  std::size_t n = 0;
  for (; n < online_.size(); ++n) {
    const TrackResult r = tracker_.update(
        online_[n].handle, cart("/unique/" + std::to_string(n), {{"air-max-90", "1", 1}}), 2000);
    if (r.error == TrackError::region_full) break;
    ASSERT_EQ(r.error, TrackError::none);
    online_[n] = r;
  }
  ASSERT_LT(n, online_.size()) << "the reserve never ran out";
  // A page and an item the zone holds, in the same block: still possible.
  for (std::size_t i = n; i < n + 50 && i < online_.size(); ++i) {
    const TrackResult r =
        tracker_.update(online_[i].handle, cart("/p/3", {{"air-max-90", "2", 3}}), 3000);
    ASSERT_EQ(r.error, TrackError::none) << i;
    online_[i] = r;
  }
  expect_consistent();
}

TEST_F(TrackerFullZoneTest, AnUpdateInPlaceLogsLeaveThenJoinAndRetiresTheOldHandle) {
  const TrackResult r = tracker_.track(
      kTopic, "alice", cart("/a", {{"samba", "9", 1}, {"samba", "10", 1}}), Owner{100, 1}, 0);
  ASSERT_EQ(r.error, TrackError::none);
  const std::size_t used = tracker_.usage().used_bytes;
  const TrackResult same =
      tracker_.update(r.handle, cart("/a", {{"samba", "9", 1}, {"samba", "10", 1}}), 1);
  ASSERT_EQ(same.error, TrackError::none);
  EXPECT_EQ(tracker_.usage().used_bytes, used);
  // One item fewer: its string is freed, the block kept.
  const TrackResult u = tracker_.update(same.handle, cart("/a", {{"samba", "9", 2}}), 2);
  ASSERT_EQ(u.error, TrackError::none);
  EXPECT_LT(tracker_.usage().used_bytes, used);
  EXPECT_FALSE(tracker_.get(r.handle));
  EXPECT_FALSE(tracker_.get(same.handle));
  EXPECT_EQ(tracker_.get(u.handle)->phx_ref_prev, same.phx_ref);
  std::vector<Change> changes;
  std::uint64_t next = 0;
  ASSERT_EQ(tracker_.changes_since(0, 10, changes, &next), ChangeStatus::ok);
  ASSERT_EQ(changes.size(), 5u);  // join, then each update's leave and join
  EXPECT_EQ(changes[3].kind, ChangeKind::leave);
  EXPECT_EQ(changes[3].meta.phx_ref, same.phx_ref);
  EXPECT_EQ(changes[3].meta.meta.items.size(), 2u);
  EXPECT_EQ(changes[4].kind, ChangeKind::join);
  EXPECT_EQ(changes[4].meta.phx_ref, u.phx_ref);
  EXPECT_EQ(changes[4].meta.meta.items.size(), 1u);
  const StatsSnapshot stats = tracker_.stats(kTopic);
  ASSERT_EQ(stats.carts.size(), 1u);
  EXPECT_EQ(std::get<2>(stats.carts[0]), 2u);
  expect_consistent();
}

TEST_F(TrackerFullZoneTest, TheWorstCaseMetaFitsTheReserveAndIsMeasured) {
  const std::size_t empty = tracker_.usage().used_bytes;
  const TrackResult first =
      tracker_.track(kTopic, maximal_key(0), maximal_meta("a"), Owner{100, 1}, 0);
  ASSERT_EQ(first.error, TrackError::none);
  const std::size_t with_topic = tracker_.usage().used_bytes;
  const TrackResult second =
      tracker_.track(kTopic, maximal_key(1), maximal_meta("b"), Owner{100, 2}, 0);
  ASSERT_EQ(second.error, TrackError::none);
  // A meta with its own key, page and items, the topic shared.
  const std::size_t worst_meta = tracker_.usage().used_bytes - with_topic;
  RecordProperty("worst_case_meta_bytes", std::to_string(worst_meta));
  std::printf("worst-case bytes per meta: %zu (the first, with its topic: %zu)\n", worst_meta,
              with_topic - empty);
  // An update takes at most the meta's block and strings, never its key.
  EXPECT_LE(worst_meta - Tracker::max_update_bytes(), 256u);
  ASSERT_EQ(tracker_.update(second.handle, maximal_meta("c"), 1).error, TrackError::none);
  EXPECT_GE(tracker_.usage().reserved_bytes, 4 * Tracker::max_update_bytes());
  expect_consistent();
}

}  // namespace
}  // namespace presence
