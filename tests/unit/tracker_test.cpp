#include "presence/tracker.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "tracker_test_support.hpp"

namespace presence {
namespace {

using test::cart;
using test::config;
using test::SharedRegion;

constexpr std::size_t kRegionBytes = 4 * 1024 * 1024;
constexpr std::string_view kTopic = "admin:cart_tracker";

class TrackerTest : public ::testing::Test {
 protected:
  TrackerTest() : region_(kRegionBytes), tracker_(*region_.open(config(), true)) {}

  TrackResult track(std::string_view key, CartMeta meta = cart("/"), std::uint32_t pid = 100,
                    std::uint64_t conn = 1, std::int64_t now = 1000) {
    return tracker_.track(kTopic, key, meta, Owner{pid, conn}, now);
  }
  void expect_consistent() {
    std::string why;
    EXPECT_TRUE(tracker_.check_invariants(&why)) << why;
  }
  std::vector<PresenceEntry> list() {
    std::vector<PresenceEntry> out;
    tracker_.snapshot(kTopic, out);
    return out;
  }
  std::vector<std::uint32_t> owner_pids() {
    std::vector<std::uint32_t> pids;
    for (const ProcessIdentity& owner : tracker_.owners()) pids.push_back(owner.pid);
    std::sort(pids.begin(), pids.end());
    return pids;
  }

  SharedRegion region_;
  Tracker tracker_;
};

const CartItem kAirMax10{"air-max-90", "10", 1};
const CartItem kAirMax105x2{"air-max-90", "10.5", 2};
const CartItem kSamba9{"samba", "9", 3};

TEST_F(TrackerTest, TrackListsTheMetaWithItsFields) {
  const TrackResult r = track("cart-1", cart("/products/air-max-90", {kAirMax10}), 100, 7, 1234);
  ASSERT_EQ(r.error, TrackError::none);
  EXPECT_FALSE(r.phx_ref.empty());
  const auto entries = list();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].topic, kTopic);
  EXPECT_EQ(entries[0].key, "cart-1");
  EXPECT_EQ(entries[0].meta.phx_ref, r.phx_ref);
  EXPECT_EQ(entries[0].meta.phx_ref_prev, "");
  EXPECT_EQ(entries[0].meta.meta, cart("/products/air-max-90", {kAirMax10}));
  EXPECT_EQ(entries[0].meta.page_loaded_at_ms, 1234);
  EXPECT_EQ(tracker_.get(r.handle)->phx_ref, r.phx_ref);
  expect_consistent();
}

TEST_F(TrackerTest, RefsAreUniqueAndOnlyTopicsTracked) {
  std::set<std::string> refs;
  for (int i = 0; i < 50; ++i) refs.insert(track("cart-" + std::to_string(i % 5)).phx_ref);
  EXPECT_EQ(refs.size(), 50u);
  std::vector<PresenceEntry> other;
  tracker_.snapshot("another-topic", other);
  EXPECT_TRUE(other.empty());
  EXPECT_EQ(list().size(), 50u);
}

TEST_F(TrackerTest, UpdateReplacesTheMetaWithANewRefAndKeepsPageLoadedAt) {
  const TrackResult first = track("cart-1", cart("/a"), 100, 1, 1000);
  const TrackResult same_page = tracker_.update(first.handle, cart("/a", {kSamba9}), 2000);
  ASSERT_EQ(same_page.error, TrackError::none);
  EXPECT_NE(same_page.phx_ref, first.phx_ref);
  auto view = tracker_.get(same_page.handle);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->phx_ref_prev, first.phx_ref);
  EXPECT_EQ(view->page_loaded_at_ms, 1000);
  EXPECT_EQ(view->meta.items, std::vector<CartItem>{kSamba9});

  const TrackResult new_page = tracker_.update(same_page.handle, cart("/b"), 3000);
  view = tracker_.get(new_page.handle);
  EXPECT_EQ(view->phx_ref_prev, same_page.phx_ref);
  EXPECT_EQ(view->page_loaded_at_ms, 3000);
  EXPECT_EQ(list().size(), 1u);
  EXPECT_FALSE(tracker_.get(first.handle));
  EXPECT_EQ(tracker_.update(first.handle, cart("/c"), 4000).error, TrackError::not_found);
  expect_consistent();
}

TEST_F(TrackerTest, UntrackRemovesOnceAndStaleHandlesAreRefused) {
  const TrackResult r = track("cart-1");
  const TrackResult other = track("cart-1");
  EXPECT_TRUE(tracker_.untrack(r.handle));
  EXPECT_FALSE(tracker_.untrack(r.handle));
  EXPECT_FALSE(tracker_.get(r.handle));
  EXPECT_FALSE(tracker_.untrack(MetaHandle{}));
  EXPECT_FALSE(tracker_.untrack(MetaHandle{12345, 1}));
  ASSERT_EQ(list().size(), 1u);
  EXPECT_EQ(list()[0].meta.phx_ref, other.phx_ref);
  EXPECT_TRUE(tracker_.untrack(other.handle));
  EXPECT_TRUE(list().empty());
  EXPECT_EQ(tracker_.usage().keys, 0u);
  expect_consistent();
}

TEST_F(TrackerTest, UntrackOwnerRemovesExactlyThatWorkersMetas) {
  for (int i = 0; i < 10; ++i) track("cart-" + std::to_string(i), cart("/"), 100 + i % 3);
  auto pids = owner_pids();
  EXPECT_EQ(pids, (std::vector<std::uint32_t>{100, 101, 102}));
  EXPECT_EQ(tracker_.untrack_owner({101, 0}), 3u);
  EXPECT_EQ(tracker_.untrack_owner({101, 0}), 0u);
  EXPECT_EQ(tracker_.untrack_owner({999, 0}), 0u);
  EXPECT_EQ(list().size(), 7u);
  pids = owner_pids();
  EXPECT_EQ(pids, (std::vector<std::uint32_t>{100, 102}));
  expect_consistent();
}

TEST_F(TrackerTest, OwnerPidsAreBoundedAndSlotsAreReused) {
  for (std::uint32_t pid = 1; pid <= kMaxOwnerPids; ++pid) {
    ASSERT_EQ(track("k" + std::to_string(pid), cart("/"), pid).error, TrackError::none);
  }
  EXPECT_EQ(track("extra", cart("/"), kMaxOwnerPids + 1).error, TrackError::region_full);
  EXPECT_EQ(tracker_.owners().size(), kMaxOwnerPids);
  EXPECT_EQ(tracker_.untrack_owner({1, 0}), 1u);
  EXPECT_EQ(track("extra", cart("/"), kMaxOwnerPids + 1).error, TrackError::none);
  expect_consistent();
}

TEST_F(TrackerTest, AKeyHoldsAtMostItsBoundOfMetas) {
  std::vector<MetaHandle> handles;
  for (std::size_t i = 0; i < kMaxMetasPerKey; ++i) {
    const TrackResult r = track("cart-1", cart("/"), 100, i);
    ASSERT_EQ(r.error, TrackError::none);
    handles.push_back(r.handle);
  }
  EXPECT_EQ(track("cart-1").error, TrackError::key_full);
  // An update of a full key replaces a meta, so it is allowed.
  EXPECT_EQ(tracker_.update(handles[0], cart("/x"), 2000).error, TrackError::none);
  EXPECT_EQ(track("cart-1").error, TrackError::key_full);
  EXPECT_TRUE(tracker_.untrack(handles[1]));
  EXPECT_EQ(track("cart-1").error, TrackError::none);
  expect_consistent();
}

TEST_F(TrackerTest, RefusesEveryFieldOnePastItsBound) {
  const auto invalid = [&](std::string_view topic, std::string_view key, const CartMeta& meta,
                           std::uint32_t pid = 100) {
    return tracker_.track(topic, key, meta, Owner{pid, 1}, 0).error == TrackError::invalid_argument;
  };
  const std::string max_topic(kMaxTopicBytes, 't');
  const std::string max_key(kMaxKeyBytes, 'k');
  CartMeta max_meta{std::string(kMaxPageBytes, 'p'), {}};
  for (std::size_t i = 0; i < kMaxItems; ++i) {
    max_meta.items.push_back({std::string(kMaxProductBytes, 'a'),
                              std::string(kMaxSizeBytes, std::to_string(i % 10)[0]), kMaxQty});
  }
  EXPECT_FALSE(invalid(max_topic, max_key, max_meta));
  EXPECT_TRUE(invalid(max_topic + "t", "k", cart("/")));
  EXPECT_TRUE(invalid("", "k", cart("/")));
  EXPECT_TRUE(invalid("t", max_key + "k", cart("/")));
  EXPECT_TRUE(invalid("t", "", cart("/")));
  EXPECT_TRUE(invalid("t", "k", cart(std::string(kMaxPageBytes + 1, 'p'))));
  CartMeta too_many = max_meta;
  too_many.items.push_back(kSamba9);
  EXPECT_TRUE(invalid("t", "k", too_many));
  EXPECT_TRUE(invalid("t", "k", cart("/", {{std::string(kMaxProductBytes + 1, 'a'), "9", 1}})));
  EXPECT_TRUE(invalid("t", "k", cart("/", {{"", "9", 1}})));
  EXPECT_TRUE(invalid("t", "k", cart("/", {{"a", std::string(kMaxSizeBytes + 1, '9'), 1}})));
  EXPECT_TRUE(invalid("t", "k", cart("/", {{"a", "9", kMinQty - 1}})));
  EXPECT_TRUE(invalid("t", "k", cart("/", {{"a", "9", kMaxQty + 1}})));
  EXPECT_TRUE(invalid("t", "k", cart("/"), 0));
  const TrackResult r = track("cart-1");
  EXPECT_EQ(tracker_.update(r.handle, too_many, 0).error, TrackError::invalid_argument);
  auto entries = list();
  EXPECT_EQ(entries.size(), 1u);
  std::vector<PresenceEntry> big;
  tracker_.snapshot(max_topic, big);
  ASSERT_EQ(big.size(), 1u);
  EXPECT_EQ(big[0].meta.meta, max_meta);
  expect_consistent();
}

TEST_F(TrackerTest, AFullRegionRefusesTracksAndHarmsNothingStored) {
  std::vector<TrackResult> stored;
  const std::size_t baseline = tracker_.usage().used_bytes;
  for (int i = 0;; ++i) {
    TrackResult r = track("cart-" + std::to_string(i),
                          cart("/p/" + std::to_string(i % 50), {kAirMax10, kSamba9}), 100, i);
    if (r.error == TrackError::region_full) break;
    ASSERT_EQ(r.error, TrackError::none);
    stored.push_back(std::move(r));
  }
  ASSERT_GT(stored.size(), 1000u);
  EXPECT_EQ(tracker_.usage().track_failures_full, 1u);
  // Unique strings need room too: still refused, and nothing changes.
  const auto before = list();
  EXPECT_EQ(track("new-cart", cart("/new-page", {{"new", "1", 1}})).error, TrackError::region_full);
  EXPECT_EQ(list(), before);
  EXPECT_EQ(before.size(), stored.size());
  for (std::size_t i = 0; i < stored.size(); i += 97) {
    EXPECT_EQ(tracker_.get(stored[i].handle)->phx_ref, stored[i].phx_ref);
  }
  expect_consistent();
  for (const auto& r : stored) ASSERT_TRUE(tracker_.untrack(r.handle));
  EXPECT_EQ(tracker_.usage().used_bytes, baseline);
  EXPECT_EQ(tracker_.usage().metas, 0u);
  expect_consistent();
}

TEST_F(TrackerTest, StatsCountShoppersPagesAndTheMostRecentCart) {
  const auto v0 = tracker_.stats_version();
  const TrackResult a1 = track("alice", cart("/", {kAirMax10}), 100, 1, 1000);
  const TrackResult a2 = track("alice", cart("/p/samba", {kSamba9}), 100, 2, 2000);
  track("bob", cart("/", {kAirMax105x2, kAirMax10}), 101, 3, 1500);
  EXPECT_GT(tracker_.stats_version(), v0);
  StatsSnapshot s = tracker_.stats(kTopic);
  EXPECT_EQ(s.shoppers, 2u);
  EXPECT_EQ(s.connections, 3u);
  using Pages = std::vector<std::pair<std::string, std::uint64_t>>;
  using Carts = std::vector<std::tuple<std::string, std::string, std::uint64_t>>;
  EXPECT_EQ(s.pages, (Pages{{"/", 2}, {"/p/samba", 1}}));
  // alice's cart is her most recently updated meta (a2); bob's is his only one.
  EXPECT_EQ(s.carts,
            (Carts{{"air-max-90", "10", 1}, {"air-max-90", "10.5", 2}, {"samba", "9", 3}}));
  EXPECT_EQ(s.nodes, std::vector<std::string>{"store-a"});

  // Updating a1 makes it the most recent: its cart counts now.
  const TrackResult a1b = tracker_.update(a1.handle, cart("/", {kAirMax105x2}), 3000);
  s = tracker_.stats(kTopic);
  EXPECT_EQ(s.carts, (Carts{{"air-max-90", "10", 1}, {"air-max-90", "10.5", 4}}));
  // When it leaves, the next most recent (a2) counts again.
  tracker_.untrack(a1b.handle);
  s = tracker_.stats(kTopic);
  EXPECT_EQ(s.carts,
            (Carts{{"air-max-90", "10", 1}, {"air-max-90", "10.5", 2}, {"samba", "9", 3}}));
  tracker_.untrack(a2.handle);
  s = tracker_.stats(kTopic);
  EXPECT_EQ(s.shoppers, 1u);
  EXPECT_EQ(s.pages, (Pages{{"/", 1}}));
  expect_consistent();
  EXPECT_EQ(tracker_.stats("nobody").connections, 0u);
}

TEST_F(TrackerTest, ChangeStreamShowsJoinsLeavesAndUpdatesInOrder) {
  const std::uint64_t start = tracker_.head_seq();
  const TrackResult a = track("alice", cart("/a"));
  const TrackResult b = track("bob", cart("/b"));
  const TrackResult a2 = tracker_.update(a.handle, cart("/a2"), 2000);
  tracker_.untrack(b.handle);
  std::vector<Change> changes;
  std::uint64_t next = 0;
  ASSERT_EQ(tracker_.changes_since(start, 100, changes, &next), ChangeStatus::ok);
  EXPECT_EQ(next, tracker_.head_seq());
  ASSERT_EQ(changes.size(), 5u);
  EXPECT_EQ(changes[0].kind, ChangeKind::join);
  EXPECT_EQ(changes[0].meta.phx_ref, a.phx_ref);
  EXPECT_EQ(changes[1].meta.phx_ref, b.phx_ref);
  EXPECT_EQ(changes[2].kind, ChangeKind::leave);
  EXPECT_EQ(changes[2].meta.phx_ref, a.phx_ref);
  EXPECT_EQ(changes[3].kind, ChangeKind::join);
  EXPECT_EQ(changes[3].meta.phx_ref, a2.phx_ref);
  EXPECT_EQ(changes[3].meta.phx_ref_prev, a.phx_ref);
  EXPECT_EQ(changes[3].meta.meta.page, "/a2");
  EXPECT_EQ(changes[4].kind, ChangeKind::leave);
  EXPECT_EQ(changes[4].key, "bob");

  ASSERT_EQ(tracker_.changes_since(start, 2, changes, &next), ChangeStatus::ok);
  EXPECT_EQ(changes.size(), 2u);
  EXPECT_EQ(next, start + 2);
  ASSERT_EQ(tracker_.changes_since(next, 100, changes, &next), ChangeStatus::ok);
  EXPECT_EQ(changes.size(), 3u);
  ASSERT_EQ(tracker_.changes_since(next, 100, changes, &next), ChangeStatus::ok);
  EXPECT_TRUE(changes.empty());
  EXPECT_EQ(tracker_.changes_since(next + 1, 100, changes, &next), ChangeStatus::behind);
}

TEST_F(TrackerTest, AReaderPastTheRingIsToldItIsBehind) {
  const std::uint64_t start = tracker_.head_seq();
  const CartMeta big{std::string(kMaxPageBytes, 'p'), {kAirMax10, kSamba9}};
  std::size_t changes_made = 0;
  for (std::size_t bytes = 0; bytes < 2 * 256 * 1024; bytes += 300) {
    const TrackResult r = track("k", big, 100, 1);
    tracker_.untrack(r.handle);
    changes_made += 2;
  }
  std::vector<Change> changes;
  std::uint64_t next = 0;
  EXPECT_EQ(tracker_.changes_since(start, 10, changes, &next), ChangeStatus::behind);
  EXPECT_EQ(next, tracker_.head_seq());
  // A reader that resyncs from a snapshot carries on from its seq.
  std::vector<PresenceEntry> entries;
  const std::uint64_t seq = tracker_.snapshot(kTopic, entries);
  EXPECT_EQ(tracker_.changes_since(seq, 10, changes, &next), ChangeStatus::ok);
  EXPECT_EQ(start + changes_made, tracker_.head_seq());
  // The newest records are still there.
  EXPECT_EQ(tracker_.changes_since(tracker_.head_seq() - 4, 10, changes, &next), ChangeStatus::ok);
  EXPECT_EQ(changes.size(), 4u);
}

TEST_F(TrackerTest, GetByKeyListsOnlyThatKeyMostRecentFirst) {
  track("alice", cart("/1"), 100, 1, 1000);
  track("alice", cart("/2"), 100, 2, 3000);
  track("bob", cart("/3"), 100, 3, 2000);
  const auto alice = tracker_.get_by_key(kTopic, "alice");
  ASSERT_EQ(alice.size(), 2u);
  EXPECT_EQ(alice[0].meta.meta.page, "/2");
  EXPECT_EQ(alice[1].meta.meta.page, "/1");
  EXPECT_TRUE(tracker_.get_by_key(kTopic, "carol").empty());
  EXPECT_TRUE(tracker_.get_by_key("other", "alice").empty());
}

TEST_F(TrackerTest, UsageCountsMetasKeysAndBytes) {
  const TrackerUsage empty = tracker_.usage();
  EXPECT_EQ(empty.region_bytes, region_.tracker_bytes());
  track("alice");
  track("alice");
  track("bob");
  const TrackerUsage u = tracker_.usage();
  EXPECT_EQ(u.metas, 3u);
  EXPECT_EQ(u.keys, 2u);
  EXPECT_GT(u.used_bytes, empty.used_bytes);
  EXPECT_LT(u.used_bytes, u.region_bytes);
}

TEST(TrackerOpen, AttachKeepsTheDataAndValidatesTheRegion) {
  SharedRegion region(kRegionBytes);
  std::string error;
  {
    auto t = region.open(config(), true, &error);
    ASSERT_TRUE(t) << error;
    t->track(kTopic, "alice", cart("/"), Owner{1, 1}, 0);
  }
  auto again = region.open(config(), false, &error);
  ASSERT_TRUE(again) << error;
  std::vector<PresenceEntry> entries;
  again->snapshot(kTopic, entries);
  EXPECT_EQ(entries.size(), 1u);

  EXPECT_FALSE(Tracker::open(region.tracker_region(), region.tracker_bytes() - 16,
                             region.lock_ops(), config(), false, &error));
  EXPECT_NE(error.find("size"), std::string::npos);
  SharedRegion blank(kRegionBytes);
  EXPECT_FALSE(blank.open(config(), false, &error));
  EXPECT_NE(error.find("magic"), std::string::npos);
  EXPECT_FALSE(Tracker::open(region.tracker_region(), Tracker::min_region_bytes() - 1,
                             region.lock_ops(), config("n", 1, kMinChangeLogBytes), true, &error));
  EXPECT_TRUE(Tracker::open(region.tracker_region(), Tracker::min_region_bytes(), region.lock_ops(),
                            config("n", 1, kMinChangeLogBytes), true, &error))
      << error;
  EXPECT_FALSE(region.open(config("", 1), true, &error));
  EXPECT_FALSE(region.open(config(std::string(kMaxNodeNameBytes + 1, 'n'), 1), true, &error));
  EXPECT_FALSE(region.open(config("n", 1, kMinChangeLogBytes - 1), true, &error));
  TrackerConfig tombs = config();
  tombs.tombstone_log_entries = kMinTombstoneLogEntries - 1;
  EXPECT_FALSE(region.open(tombs, true, &error));
  tombs.tombstone_log_entries = kMinTombstoneLogEntries;
  EXPECT_TRUE(region.open(tombs, true, &error)) << error;
  EXPECT_FALSE(Tracker::open(static_cast<std::byte*>(region.tracker_region()) + 8,
                             region.tracker_bytes() - 8, region.lock_ops(), config(), true,
                             &error));
}

}  // namespace
}  // namespace presence
