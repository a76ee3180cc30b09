#include "presence/presence_json.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace presence {
namespace {

using nlohmann::json;

MetaView view(std::string ref, std::string prev, std::string page, std::vector<CartItem> items,
              std::int64_t loaded) {
  return MetaView{std::move(ref), std::move(prev), CartMeta{std::move(page), std::move(items)},
                  loaded};
}

TEST(PresenceJson, StateGroupsMetasByKeyAndKeepsPrevRefsLikePhoenix) {
  const std::vector<PresenceEntry> entries = {
      {"t", "alice", view("r1", "r0", "/a", {{"air-max-90", "10.5", 2}}, 100)},
      {"t", "alice", view("r2", "", "/b", {}, 200)},
      {"t", "bob", view("r3", "", "", {}, 300)}};
  const json state = json::parse(encode_presence_state(entries));
  const json expected = json::parse(R"({
    "alice": {"metas": [
      {"phx_ref": "r1", "phx_ref_prev": "r0", "page": "/a", "page_loaded_at": 100,
       "items": [{"product": "air-max-90", "size": "10.5", "qty": 2}]},
      {"phx_ref": "r2", "page": "/b", "page_loaded_at": 200, "items": []}]},
    "bob": {"metas": [{"phx_ref": "r3", "page": "", "page_loaded_at": 300, "items": []}]}})");
  EXPECT_EQ(state, expected);
  EXPECT_EQ(encode_presence_state({}), "{}");
}

TEST(PresenceJson, DiffCarriesJoinsLeavesAndPrevRefs) {
  const std::vector<Change> changes = {
      {ChangeKind::leave, "t", "alice", view("r1", "", "/a", {}, 100)},
      {ChangeKind::join, "t", "alice", view("r2", "r1", "/b", {{"samba", "9", 1}}, 200)}};
  const json diff = json::parse(encode_presence_diff(changes));
  EXPECT_EQ(diff["leaves"]["alice"]["metas"][0]["phx_ref"], "r1");
  EXPECT_FALSE(diff["leaves"]["alice"]["metas"][0].contains("phx_ref_prev"));
  EXPECT_EQ(diff["joins"]["alice"]["metas"][0]["phx_ref"], "r2");
  EXPECT_EQ(diff["joins"]["alice"]["metas"][0]["phx_ref_prev"], "r1");
  EXPECT_EQ(diff["joins"]["alice"]["metas"][0]["items"][0]["product"], "samba");
}

TEST(PresenceJson, DiffKeepsOnlyTheNetEffectOfEachRef) {
  const std::vector<Change> changes = {
      // joins and leaves inside the batch: nothing to say
      {ChangeKind::join, "t", "alice", view("r1", "", "/a", {}, 1)},
      {ChangeKind::leave, "t", "alice", view("r1", "", "/a", {}, 1)},
      // leaves and comes back (replica down then up): nothing to say
      {ChangeKind::leave, "t", "bob", view("r2", "", "/b", {}, 1)},
      {ChangeKind::join, "t", "bob", view("r2", "", "/b", {}, 1)},
      {ChangeKind::join, "t", "carol", view("r3", "", "/c", {}, 1)},
      {ChangeKind::leave, "t", "dave", view("r4", "", "/d", {}, 1)}};
  const json diff = json::parse(encode_presence_diff(changes));
  EXPECT_EQ(diff, json::parse(R"({
    "joins": {"carol": {"metas": [{"phx_ref": "r3", "page": "/c", "page_loaded_at": 1, "items": []}]}},
    "leaves": {"dave": {"metas": [{"phx_ref": "r4", "page": "/d", "page_loaded_at": 1, "items": []}]}}})"));
  EXPECT_EQ(json::parse(encode_presence_diff({})), json::parse(R"({"joins": {}, "leaves": {}})"));
}

TEST(PresenceJson, StatsNestCartsByProductAndSize) {
  StatsSnapshot s;
  s.shoppers = 2;
  s.connections = 3;
  s.pages = {{"/", 2}, {"/products/air-max-90", 1}};
  s.carts = {{"air-max-90", "10", 5}, {"air-max-90", "10.5", 2}, {"samba", "9", 1}};
  s.nodes = {"store-a", "store-b"};
  EXPECT_EQ(json::parse(encode_stats(s, 1764277500123)), json::parse(R"({
    "shoppers": 2, "connections": 3,
    "pages": {"/": 2, "/products/air-max-90": 1},
    "carts": {"air-max-90": {"10": 5, "10.5": 2}, "samba": {"9": 1}},
    "nodes": ["store-a", "store-b"], "ts": 1764277500123})"));
  EXPECT_EQ(json::parse(encode_stats(StatsSnapshot{}, 0)), json::parse(R"({
    "shoppers": 0, "connections": 0, "pages": {}, "carts": {}, "nodes": [], "ts": 0})"));
}

}  // namespace
}  // namespace presence
