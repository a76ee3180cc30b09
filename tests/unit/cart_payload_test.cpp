#include "presence/cart_payload.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>

namespace presence {
namespace {

using nlohmann::json;

json item(const std::string& product, const std::string& size, json qty = nullptr) {
  json i{{"product", product}, {"size", size}};
  if (!qty.is_null()) i["qty"] = qty;
  return i;
}

// "p" + std::to_string(n) would do, but GCC 12 at -O3 reports a false
// -Wrestrict overlap in the string insert it inlines; appending does not.
std::string numbered(const char* prefix, std::size_t n) {
  std::string name(prefix);
  name += std::to_string(n);
  return name;
}

void expect_refused(const json& payload, const std::string& reason) {
  const Result<CartMeta> r = parse_join_payload(payload);
  EXPECT_FALSE(r) << payload.dump();
  EXPECT_EQ(r.reason(), reason) << payload.dump();
}

TEST(CartPayload, EmptyJoinGivesTheDefaults) {
  const Result<CartMeta> r = parse_join_payload(json::object());
  ASSERT_TRUE(r) << r.reason();
  EXPECT_EQ(*r, CartMeta{});
}

TEST(CartPayload, ParsesTheContractExample) {
  const auto payload = json::parse(
      R"({"page": "/products/air-max-90", "items": [{"product": "air-max-90", "size": "10.5", "qty": 2}, {"product": "p", "size": "9"}]})");
  const Result<CartMeta> r = parse_join_payload(payload);
  ASSERT_TRUE(r) << r.reason();
  EXPECT_EQ(r->page, "/products/air-max-90");
  ASSERT_EQ(r->items.size(), 2u);
  EXPECT_EQ(r->items[0], (CartItem{"air-max-90", "10.5", 2}));
  EXPECT_EQ(r->items[1], (CartItem{"p", "9", 1}));
}

TEST(CartPayload, PayloadMustBeAnObject) {
  expect_refused(nullptr, "payload must be an object");
  expect_refused(json::array(), "payload must be an object");
  expect_refused("page", "payload must be an object");
}

TEST(CartPayload, RefusesUnknownFields) {
  expect_refused({{"page", "/"}, {"cart", 1}}, "unknown field in payload");
  expect_refused({{"items", {{{"product", "p"}, {"size", "1"}, {"colour", "red"}}}}},
                 "items[0] has an unknown field");
}

TEST(CartPayload, RefusesWrongTypes) {
  expect_refused({{"page", 3}}, "page must be a string");
  expect_refused({{"page", nullptr}}, "page must be a string");
  expect_refused({{"items", json::object()}}, "items must be an array");
  expect_refused({{"items", {1}}}, "items[0] must be an object");
  expect_refused({{"items", {item("p", "1"), {{"product", 5}, {"size", "1"}}}}},
                 "items[1].product must be a string");
  expect_refused({{"items", {{{"product", "p"}, {"size", 10}}}}}, "items[0].size must be a string");
  expect_refused({{"items", {item("p", "1", "2")}}}, "items[0].qty must be an integer");
}

TEST(CartPayload, PageAtTheLimitPassesAndOneMoreFails) {
  EXPECT_TRUE(parse_join_payload({{"page", std::string(kMaxPageBytes, 'p')}}));
  expect_refused({{"page", std::string(kMaxPageBytes + 1, 'p')}}, "page too long");
  EXPECT_TRUE(parse_join_payload({{"page", ""}}));
}

TEST(CartPayload, ProductAndSizeLimits) {
  EXPECT_TRUE(parse_join_payload(
      {{"items", {item(std::string(kMaxProductBytes, 'p'), std::string(kMaxSizeBytes, 's'))}}}));
  expect_refused({{"items", {item(std::string(kMaxProductBytes + 1, 'p'), "1")}}},
                 "items[0].product too long");
  expect_refused({{"items", {item("p", std::string(kMaxSizeBytes + 1, 's'))}}},
                 "items[0].size too long");
  expect_refused({{"items", {item("", "1")}}}, "items[0].product is empty");
  expect_refused({{"items", {item("p", "")}}}, "items[0].size is empty");
  expect_refused({{"items", {{{"size", "1"}}}}}, "items[0].product missing");
  expect_refused({{"items", {{{"product", "p"}}}}}, "items[0].size missing");
}

TEST(CartPayload, QtyRange) {
  EXPECT_EQ(parse_join_payload({{"items", {item("p", "1", kMinQty)}}})->items.at(0).qty, kMinQty);
  EXPECT_EQ(parse_join_payload({{"items", {item("p", "1", kMaxQty)}}})->items.at(0).qty, kMaxQty);
  expect_refused({{"items", {item("p", "1", kMinQty - 1)}}}, "items[0].qty out of range");
  expect_refused({{"items", {item("p", "1", kMaxQty + 1)}}}, "items[0].qty out of range");
  expect_refused({{"items", {item("p", "1", -1)}}}, "items[0].qty out of range");
  expect_refused(
      json::parse(R"({"items":[{"product":"p","size":"1","qty":18446744073709551615}]})"),
      "items[0].qty out of range");
  expect_refused(json::parse(R"({"items":[{"product":"p","size":"1","qty":2.0}]})"),
                 "items[0].qty must be an integer");
  expect_refused(json::parse(R"({"items":[{"product":"p","size":"1","qty":1.5}]})"),
                 "items[0].qty must be an integer");
}

TEST(CartPayload, ItemCountAtTheLimitPassesAndOneMoreFails) {
  json items = json::array();
  for (std::size_t i = 0; i < kMaxItems; ++i) items.push_back(item(numbered("p", i), "1"));
  const Result<CartMeta> r = parse_join_payload({{"items", items}});
  ASSERT_TRUE(r) << r.reason();
  EXPECT_EQ(r->items.size(), kMaxItems);
  items.push_back(item("one-more", "1"));
  expect_refused({{"items", items}}, "too many items");
}

TEST(CartPayload, DuplicatesAreMergedIntoTheFirst) {
  const Result<CartMeta> r = parse_join_payload(
      {{"items", {item("a", "1", 2), item("b", "1"), item("a", "1", 3), item("a", "2")}}});
  ASSERT_TRUE(r) << r.reason();
  ASSERT_EQ(r->items.size(), 3u);
  EXPECT_EQ(r->items[0], (CartItem{"a", "1", 5}));
  EXPECT_EQ(r->items[1], (CartItem{"b", "1", 1}));
  EXPECT_EQ(r->items[2], (CartItem{"a", "2", 1}));
}

TEST(CartPayload, MergedQtyAtTheLimitPassesAndOneMoreFails) {
  EXPECT_EQ(parse_join_payload({{"items", {item("a", "1", kMaxQty - 1), item("a", "1", 1)}}})
                ->items.at(0)
                .qty,
            kMaxQty);
  expect_refused({{"items", {item("a", "1", kMaxQty), item("a", "1", 1)}}},
                 "items[1].qty out of range once merged with the same product and size");
}

TEST(CartPayload, ItemsAreCountedBeforeMerging) {
  json items = json::array();
  for (std::size_t i = 0; i <= kMaxItems; ++i) items.push_back(item("same", "1"));
  expect_refused({{"items", items}}, "too many items");
}

TEST(CartPayload, UpdateKeepsAbsentFields) {
  const CartMeta current{"/home", {CartItem{"a", "1", 2}}};
  const Result<CartMeta> page_only = parse_update_payload({{"page", "/cart"}}, current);
  ASSERT_TRUE(page_only);
  EXPECT_EQ(*page_only, (CartMeta{"/cart", current.items}));
  const Result<CartMeta> items_only = parse_update_payload({{"items", json::array()}}, current);
  ASSERT_TRUE(items_only);
  EXPECT_EQ(*items_only, (CartMeta{"/home", {}}));
  const Result<CartMeta> nothing = parse_update_payload(json::object(), current);
  ASSERT_TRUE(nothing);
  EXPECT_EQ(*nothing, current);
}

TEST(CartPayload, RefusalsCarryACode) {
  EXPECT_EQ(parse_join_payload({{"page", 3}}).code(), Errc::malformed);
  EXPECT_EQ(parse_join_payload({{"cart", 1}}).code(), Errc::malformed);
  EXPECT_EQ(parse_join_payload({{"page", std::string(kMaxPageBytes + 1, 'p')}}).code(),
            Errc::too_large);
  EXPECT_EQ(parse_join_payload({{"items", {item("p", "")}}}).code(), Errc::invalid);
  EXPECT_EQ(parse_join_payload({{"page", "/"}}).code(), Errc::ok);
}

TEST(CartPayload, UpdateRefusesLikeJoin) {
  const CartMeta current{"/home", {}};
  const Result<CartMeta> r =
      parse_update_payload({{"page", "/x"}, {"items", {item("p", "1", 0)}}}, current);
  EXPECT_FALSE(r);
  EXPECT_EQ(r.code(), Errc::invalid);
  EXPECT_EQ(r.reason(), "items[0].qty out of range");
  EXPECT_FALSE(parse_update_payload({{"qty", 1}}, current));
}

// Whatever is accepted lies within the bounds of docs/PROTOCOL.md section 6.
RC_GTEST_PROP(CartPayloadProperty, AcceptedMetasRespectTheBounds, ()) {
  const auto gen_item = rc::gen::apply(
      [](int product, int size, int qty) {
        return item(numbered("p", static_cast<std::size_t>(product)), std::to_string(size), qty);
      },
      rc::gen::inRange(0, 5), rc::gen::inRange(0, 3), rc::gen::inRange(-2, 120));
  const auto items = *rc::gen::container<std::vector<json>>(gen_item);
  const Result<CartMeta> r = parse_join_payload({{"items", items}});
  if (!r) {
    RC_ASSERT(!r.reason().empty());
    return;
  }
  RC_ASSERT(r->items.size() <= kMaxItems);
  std::uint32_t total = 0;
  for (const auto& i : r->items) {
    RC_ASSERT(i.qty >= kMinQty);
    RC_ASSERT(i.qty <= kMaxQty);
    total += i.qty;
  }
  std::uint32_t sent = 0;
  for (const auto& i : items) sent += i["qty"].get<std::uint32_t>();
  RC_ASSERT(total == sent);
}

}  // namespace
}  // namespace presence
