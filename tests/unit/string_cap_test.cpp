// The zone's cap on distinct strings (pages, product-size pairs) and the
// catalogue of products and sizes: both refuse a local meta with a clear
// error and leave everything stored as it was.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "presence/catalog.hpp"
#include "presence/replication.hpp"
#include "presence/tracker.hpp"
#include "tracker_test_support.hpp"

namespace presence {
namespace {

using test::cart;
using test::SharedRegion;

constexpr std::size_t kRegionBytes = 4 * 1024 * 1024;
constexpr std::string_view kTopic = "cart_tracker";

TrackerConfig capped(std::size_t max_strings) {
  TrackerConfig cfg = test::config();
  cfg.max_strings = max_strings;
  return cfg;
}

void expect_consistent(Tracker& t) {
  std::string why;
  EXPECT_TRUE(t.check_invariants(&why)) << why;
}

TEST(StringCap, AJoinOnePastTheCapIsRefusedAndChangesNothing) {
  SharedRegion region(kRegionBytes);
  Tracker t = *region.open(capped(10), true);
  // A page and four items: five strings a shopper; two shoppers fill the cap.
  auto meta = [](const std::string& who) {
    std::vector<CartItem> items;
    for (int i = 0; i < 4; ++i) items.push_back({who + "-shoe", std::to_string(8 + i), 1});
    return cart("/" + who, items);
  };
  ASSERT_EQ(t.track(kTopic, "a", meta("a"), Owner{1, 1}, 0).error, TrackError::none);
  ASSERT_EQ(t.track(kTopic, "b", meta("b"), Owner{1, 2}, 0).error, TrackError::none);
  EXPECT_EQ(t.usage().strings, 10u);
  const StatsSnapshot before = t.stats(kTopic);

  // One new string past the cap: a new page with known items.
  CartMeta one_new = meta("a");
  one_new.page = "/new";
  EXPECT_EQ(t.track(kTopic, "c", one_new, Owner{1, 3}, 0).error, TrackError::strings_full);
  EXPECT_EQ(t.usage().strings, 10u);
  EXPECT_EQ(t.usage().track_failures_strings, 1u);
  EXPECT_EQ(t.usage().metas, 2u);
  EXPECT_EQ(t.stats(kTopic), before);
  expect_consistent(t);

  // Strings already held are shared, not counted again.
  EXPECT_EQ(t.track(kTopic, "c", meta("a"), Owner{1, 3}, 0).error, TrackError::none);
  EXPECT_EQ(t.usage().strings, 10u);
  expect_consistent(t);
}

TEST(StringCap, AnUpdateWithANewStringAtTheCapKeepsTheOldMeta) {
  SharedRegion region(kRegionBytes);
  Tracker t = *region.open(capped(2), true);
  const TrackResult a = t.track(kTopic, "a", cart("/a", {{"shoe", "9", 1}}), Owner{1, 1}, 0);
  ASSERT_EQ(a.error, TrackError::none);
  const TrackResult moved = t.update(a.handle, cart("/b", {{"shoe", "9", 1}}), 1);
  EXPECT_EQ(moved.error, TrackError::strings_full);
  ASSERT_TRUE(t.get(a.handle));
  EXPECT_EQ(t.get(a.handle)->meta, cart("/a", {{"shoe", "9", 1}}));
  expect_consistent(t);
  // Leaving frees the strings for others.
  EXPECT_TRUE(t.untrack(a.handle));
  EXPECT_EQ(t.usage().strings, 0u);
  EXPECT_EQ(t.track(kTopic, "b", cart("/b", {{"shoe", "9", 1}}), Owner{1, 2}, 0).error,
            TrackError::none);
  expect_consistent(t);
}

TEST(StringCap, TheDefaultCapIsTheStringTableAndItIsBounded) {
  SharedRegion region(kRegionBytes);
  Tracker t = *region.open(test::config(), true);
  const TrackerUsage usage = t.usage();
  EXPECT_GE(usage.max_strings, 1024u);
  EXPECT_EQ(usage.max_strings & (usage.max_strings - 1), 0u);  // the table's slots
  std::string error;
  EXPECT_FALSE(region.open(capped(kMaxStringsLimit + 1), false, &error));
  EXPECT_NE(error.find("string cap"), std::string::npos) << error;
}

// A peer's metas were held to its own cap: a merge is never refused for ours,
// which would leave the replicas apart; local metas then wait for room.
TEST(StringCap, AMergeIsNotHeldToTheLocalCap) {
  SharedRegion region_a(kRegionBytes), region_b(kRegionBytes);
  TrackerConfig cfg_a = capped(100);
  cfg_a.node_name = "store-a";
  TrackerConfig cfg_b = capped(1);
  cfg_b.node_name = "store-b";
  Tracker a = *region_a.open(cfg_a, true);
  Tracker b = *region_b.open(cfg_b, true);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(a.track(kTopic, "k" + std::to_string(i), cart("/" + std::to_string(i)),
                      Owner{1, static_cast<std::uint64_t>(i)}, 0)
                  .error,
              TrackError::none);
  }
  ASSERT_EQ(Replication(b).merge(Replication(a).extract_delta(0)), MergeStatus::ok);
  EXPECT_EQ(b.usage().strings, 3u);
  EXPECT_EQ(b.stats(kTopic).connections, 3u);
  EXPECT_EQ(b.track(kTopic, "local", cart("/mine"), Owner{1, 9}, 0).error,
            TrackError::strings_full);
  EXPECT_EQ(b.track(kTopic, "local", cart("/1"), Owner{1, 9}, 0).error, TrackError::none);
  expect_consistent(b);
}

TEST(StringCap, RepairCountsTheStringsAgain) {
  SharedRegion region(kRegionBytes);
  Tracker t = *region.open(capped(100), true);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(t.track(kTopic, "k" + std::to_string(i), cart("/" + std::to_string(i % 3)),
                      Owner{1, static_cast<std::uint64_t>(i)}, 0)
                  .error,
              TrackError::none);
  }
  EXPECT_EQ(t.usage().strings, 3u);
  t.repair();
  EXPECT_EQ(t.usage().strings, 3u);
  expect_consistent(t);
}

TEST(Catalog, ParsesProductsAndTheirSizes) {
  const auto catalog = Catalog::parse(R"({"air-max-90": ["9", "9.5"], "pegasus": ["10"]})");
  ASSERT_TRUE(catalog) << catalog.reason();
  EXPECT_EQ(catalog->products(), 2u);
  EXPECT_EQ(catalog->entries(), 3u);
  EXPECT_TRUE(catalog->allows("air-max-90", "9.5"));
  EXPECT_TRUE(catalog->allows("pegasus", "10"));
  EXPECT_FALSE(catalog->allows("pegasus", "9"));
  EXPECT_FALSE(catalog->allows("air-max-9", "09.5"));  // the pair, not the concatenation
  EXPECT_FALSE(catalog->allows("blazer", "9"));
  EXPECT_TRUE(catalog->allows(cart("/", {{"pegasus", "10", 2}, {"air-max-90", "9", 1}})));
  EXPECT_FALSE(catalog->allows(cart("/", {{"pegasus", "10", 2}, {"air-max-90", "8", 1}})));
  EXPECT_TRUE(catalog->allows(cart("/anything")));
}

TEST(Catalog, RefusesWhatIsNotACatalogueWithAReason) {
  const struct {
    const char* text;
    const char* reason;
  } cases[] = {
      {"[1, 2]", "must be an object"},
      {"{", "not valid JSON"},
      {R"({"p": "9"})", "non-empty array"},
      {R"({"p": []})", "non-empty array"},
      {R"({"p": [9]})", "every size"},
      {R"({"p": [""]})", "every size"},
      {R"({"p": ["12345678901234567"]})", "every size"},
      {R"({"": ["9"]})", "1 to 64 bytes"},
  };
  for (const auto& c : cases) {
    const auto catalog = Catalog::parse(c.text);
    ASSERT_FALSE(catalog) << c.text;
    EXPECT_NE(catalog.reason().find(c.reason), std::string::npos)
        << c.text << ": " << catalog.reason();
  }
  const std::string long_product(kMaxProductBytes + 1, 'p');
  EXPECT_FALSE(Catalog::parse("{\"" + long_product + "\": [\"9\"]}"));
  EXPECT_TRUE(Catalog::parse("{\"" + long_product.substr(1) + "\": [\"9\"]}"));
  const auto missing = Catalog::load("/nonexistent/catalog.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.code(), Errc::io);
  EXPECT_NE(missing.reason().find("/nonexistent/catalog.json"), std::string::npos);
}

TEST(Catalog, AFileOnePastItsBoundIsRefused) {
  const std::string path = ::testing::TempDir() + "catalog_too_large.json";
  {
    std::ofstream out(path, std::ios::binary);
    out << "{\"p\": [\"9\"]}" << std::string(kMaxCatalogBytes + 1 - 12, ' ');
  }
  const auto catalog = Catalog::load(path);
  ASSERT_FALSE(catalog);
  EXPECT_EQ(catalog.code(), Errc::too_large);
  std::remove(path.c_str());
}

TEST(Catalog, TheTrackerRefusesWhatTheCatalogueDoesNotList) {
  SharedRegion region(kRegionBytes);
  TrackerConfig cfg = test::config();
  cfg.catalog = std::make_shared<const Catalog>(*Catalog::parse(R"({"pegasus": ["9", "10"]})"));
  Tracker t = *region.open(cfg, true);
  const TrackResult ok =
      t.track(kTopic, "a", cart("/any/page", {{"pegasus", "9", 1}}), Owner{1, 1}, 0);
  ASSERT_EQ(ok.error, TrackError::none);
  EXPECT_EQ(t.track(kTopic, "b", cart("/", {{"pegasus", "11", 1}}), Owner{1, 2}, 0).error,
            TrackError::not_in_catalog);
  EXPECT_EQ(t.update(ok.handle, cart("/", {{"my-own-shoe", "9", 1}}), 1).error,
            TrackError::not_in_catalog);
  EXPECT_EQ(t.get(ok.handle)->meta, cart("/any/page", {{"pegasus", "9", 1}}));
  EXPECT_EQ(t.usage().metas, 1u);
  expect_consistent(t);
}

}  // namespace
}  // namespace presence
