// The stats' busiest-first cut: pages and carts hold at most the configured
// number of entries, and what is left out is summed exactly.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <set>

#include "presence/presence_json.hpp"
#include "presence/tracker.hpp"
#include "tracker_test_support.hpp"

namespace presence {
namespace {

using test::cart;
using test::SharedRegion;

constexpr std::size_t kRegionBytes = 8 * 1024 * 1024;
constexpr std::string_view kTopic = "cart_tracker";

TrackerConfig config_with_top(std::size_t top) {
  TrackerConfig cfg = test::config();
  cfg.stats_top = top;
  return cfg;
}

class StatsTopTest : public ::testing::Test {
 protected:
  explicit StatsTopTest(std::size_t top = 3)
      : region_(kRegionBytes), tracker_(*region_.open(config_with_top(top), true)) {}

  void track(const std::string& key, CartMeta meta) {
    ASSERT_EQ(tracker_.track(kTopic, key, meta, Owner{100, ++conn_}, 1000).error, TrackError::none);
  }

  SharedRegion region_;
  Tracker tracker_;
  std::uint64_t conn_ = 0;
};

std::uint64_t page_sum(const StatsSnapshot& s) {
  std::uint64_t n = 0;
  for (const auto& [page, count] : s.pages) n += count;
  return n;
}

std::uint64_t cart_sum(const StatsSnapshot& s) {
  std::uint64_t n = 0;
  for (const auto& [product, size, qty] : s.carts) n += qty;
  return n;
}

TEST_F(StatsTopTest, PagesKeepTheBusiestAndSumTheRest) {
  // /p0 has 1 connection, /p1 2, ... /p7 8.
  for (int page = 0; page < 8; ++page) {
    for (int i = 0; i <= page; ++i) {
      track("cart-" + std::to_string(page) + "-" + std::to_string(i),
            cart("/p" + std::to_string(page)));
    }
  }
  const StatsSnapshot s = tracker_.stats(kTopic);
  EXPECT_EQ(s.connections, 36u);
  using Pages = std::vector<std::pair<std::string, std::uint64_t>>;
  EXPECT_EQ(s.pages, (Pages{{"/p5", 6}, {"/p6", 7}, {"/p7", 8}}));
  EXPECT_EQ(s.pages_other, (PagesOther{5, 1 + 2 + 3 + 4 + 5}));
  EXPECT_EQ(page_sum(s) + s.pages_other.connections, s.connections);
}

TEST_F(StatsTopTest, TiesAreCutByNameWhateverTheOrderOfArrival) {
  for (const char* page : {"/d", "/b", "/e", "/a", "/c"})
    track(std::string("k") + page, cart(page));
  const StatsSnapshot s = tracker_.stats(kTopic);
  using Pages = std::vector<std::pair<std::string, std::uint64_t>>;
  EXPECT_EQ(s.pages, (Pages{{"/a", 1}, {"/b", 1}, {"/c", 1}}));
  EXPECT_EQ(s.pages_other, (PagesOther{2, 2}));
}

TEST_F(StatsTopTest, NothingLeftOutMeansNoOtherBuckets) {
  track("a", cart("/", {{"air-max-90", "10", 2}}));
  track("b", cart("/sale", {{"pegasus", "9", 1}}));
  const StatsSnapshot s = tracker_.stats(kTopic);
  EXPECT_EQ(s.pages.size(), 2u);
  EXPECT_EQ(s.pages_other, PagesOther{});
  EXPECT_EQ(s.carts_other, CartsOther{});
  const auto doc = nlohmann::json::parse(encode_stats(s, 1));
  EXPECT_FALSE(doc.contains("pages_other"));
  EXPECT_FALSE(doc.contains("carts_other"));
}

TEST_F(StatsTopTest, CartsKeepTheBusiestProductsWithAllTheirSizes) {
  // Product totals over sizes: a 3+3=6 (two sizes), b 5, c 4, d 1, e 2.
  track("k1", cart("/", {{"a", "9", 3}, {"a", "10", 3}, {"b", "9", 5}}));
  track("k2", cart("/", {{"c", "8", 4}, {"d", "8", 1}, {"e", "12", 2}}));
  const StatsSnapshot s = tracker_.stats(kTopic);
  using Carts = std::vector<std::tuple<std::string, std::string, std::uint64_t>>;
  EXPECT_EQ(s.carts, (Carts{{"a", "10", 3}, {"a", "9", 3}, {"b", "9", 5}, {"c", "8", 4}}));
  EXPECT_EQ(s.carts_other, (CartsOther{2, 3}));
  const auto doc = nlohmann::json::parse(encode_stats(s, 1));
  EXPECT_EQ(doc["carts"].size(), 3u);
  EXPECT_EQ(doc["carts_other"], (nlohmann::json{{"products", 2}, {"qty", 3}}));
  EXPECT_FALSE(doc.contains("pages_other"));
}

TEST_F(StatsTopTest, AShownProductShowsItsBusiestSizesAndCountsTheRest) {
  // One product in kStatsSizesPerProduct + 5 sizes: size "s<i>" holds i + 1 shoes.
  std::vector<CartItem> items;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < kStatsSizesPerProduct + 5; ++i) {
    const auto qty = static_cast<std::uint32_t>(i % kMaxQty + 1);
    items.push_back({"air-max-90", "s" + std::to_string(i), qty});
    total += qty;
  }
  track("k", cart("/", items));
  const StatsSnapshot s = tracker_.stats(kTopic);
  ASSERT_EQ(s.carts.size(), kStatsSizesPerProduct);
  EXPECT_EQ(s.carts_other.products, 0u);
  EXPECT_EQ(s.carts_other.qty, 1u + 2 + 3 + 4 + 5);  // the five smallest sizes
  EXPECT_EQ(cart_sum(s) + s.carts_other.qty, total);
  const auto doc = nlohmann::json::parse(encode_stats(s, 1));
  EXPECT_EQ(doc["carts_other"], (nlohmann::json{{"products", 0}, {"qty", 15}}));
}

class StatsTopDefaultTest : public StatsTopTest {
 protected:
  StatsTopDefaultTest() : StatsTopTest(kDefaultStatsTop) {}
};

// The attack of the issue, at unit scale: every shopper on a page of its own
// with products of its own. The cut holds the configured entries and every
// total stays exact, checked against a count made here.
TEST_F(StatsTopDefaultTest, ShopperChosenStringsCannotGrowTheStats) {
  std::mt19937 random(7);
  std::map<std::string, std::uint64_t> pages;
  std::map<std::string, std::uint64_t> products;
  std::uint64_t qty = 0;
  for (int shopper = 0; shopper < 300; ++shopper) {
    std::vector<CartItem> items;
    for (int i = 0; i < 20; ++i) {
      const std::string product = "p" + std::to_string(shopper) + "-" + std::to_string(i);
      const auto n = static_cast<std::uint32_t>(random() % kMaxQty + 1);
      items.push_back({product, std::to_string(random() % 3 + 8), n});
      products[product] += n;
      qty += n;
    }
    const std::string page = "/attack/" + std::to_string(random() % 200);
    ++pages[page];
    track("cart-" + std::to_string(shopper), cart(page, items));
  }
  const StatsSnapshot s = tracker_.stats(kTopic);
  ASSERT_GT(pages.size(), kDefaultStatsTop);
  EXPECT_EQ(s.pages.size(), kDefaultStatsTop);
  EXPECT_EQ(s.pages_other.pages, pages.size() - kDefaultStatsTop);
  EXPECT_EQ(page_sum(s) + s.pages_other.connections, 300u);
  std::set<std::string> shown_products;
  for (const auto& [product, size, n] : s.carts) shown_products.insert(product);
  EXPECT_EQ(shown_products.size(), kDefaultStatsTop);
  EXPECT_EQ(s.carts_other.products, products.size() - kDefaultStatsTop);
  EXPECT_EQ(cart_sum(s) + s.carts_other.qty, qty);
  // The busiest: no page left out holds more connections than a page shown.
  std::uint64_t least_shown = UINT64_MAX;
  for (const auto& [page, count] : s.pages) least_shown = std::min(least_shown, count);
  std::vector<std::uint64_t> counts;
  for (const auto& [page, count] : pages) counts.push_back(count);
  std::sort(counts.rbegin(), counts.rend());
  EXPECT_EQ(least_shown, counts[kDefaultStatsTop - 1]);
  EXPECT_LT(encode_stats(s, 1).size(), 8u * 1024);
}

TEST(StatsTopConfig, OpenRefusesACutOutsideItsBounds) {
  SharedRegion region(kRegionBytes);
  std::string error;
  EXPECT_FALSE(region.open(config_with_top(0), true, &error));
  EXPECT_NE(error.find("stats entries"), std::string::npos) << error;
  EXPECT_FALSE(region.open(config_with_top(kMaxStatsTop + 1), true, &error));
  EXPECT_TRUE(region.open(config_with_top(kMaxStatsTop), true, &error)) << error;
}

}  // namespace
}  // namespace presence
