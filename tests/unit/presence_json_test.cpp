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

TEST(PresenceJson, StateGroupsInterleavedKeysIntoOneMemberEach) {
  // A snapshot need not list a key's metas together; the JSON must still
  // have one member per key, its metas in the order given.
  const std::vector<PresenceEntry> entries = {{"t", "bob", view("r1", "", "/1", {}, 1)},
                                              {"t", "alice", view("r2", "", "/2", {}, 2)},
                                              {"t", "bob", view("r3", "", "/3", {}, 3)},
                                              {"t", "alice", view("r4", "", "/4", {}, 4)}};
  const std::string text = encode_presence_state(entries);
  EXPECT_EQ(text.find("\"bob\""), text.rfind("\"bob\"")) << text;
  const json state = json::parse(text);
  ASSERT_EQ(state.size(), 2u);
  EXPECT_EQ(state["bob"]["metas"][0]["phx_ref"], "r1");
  EXPECT_EQ(state["bob"]["metas"][1]["phx_ref"], "r3");
  EXPECT_EQ(state["alice"]["metas"][0]["phx_ref"], "r2");
  EXPECT_EQ(state["alice"]["metas"][1]["phx_ref"], "r4");
}

TEST(PresenceJson, StringsThatNeedEscapesRoundTrip) {
  const std::string page = std::string("/q?\"a\"\\b\n\t") + '\x01' + "\x7f" + "caf\xc3\xa9";
  const std::vector<PresenceEntry> entries = {
      {"t", "k", view("r1", "", page, {{"air \"max\"", "10\\5", 99}}, -5)}};
  const json state = json::parse(encode_presence_state(entries));
  const json& meta = state["k"]["metas"][0];
  EXPECT_EQ(meta["page"], page);
  EXPECT_EQ(meta["items"][0]["product"], "air \"max\"");
  EXPECT_EQ(meta["items"][0]["size"], "10\\5");
  EXPECT_EQ(meta["items"][0]["qty"], 99);
  EXPECT_EQ(meta["page_loaded_at"], -5);
}

TEST(PresenceJson, DiffOfManyKeysMatchesAJsonTreeBuiltFromTheSameChanges) {
  std::vector<Change> changes;
  json expected = {{"joins", json::object()}, {"leaves", json::object()}};
  for (int i = 0; i < 300; ++i) {
    const std::string key = "cart-" + std::to_string(i % 37);
    const std::string ref = "ref-" + std::to_string(i);
    const bool join = i % 3 != 0;
    MetaView v = view(ref, i % 2 ? "prev-" + std::to_string(i) : "", "/p/" + std::to_string(i),
                      {{"samba", std::to_string(6 + i % 8), static_cast<std::uint32_t>(1 + i % 3)}},
                      1000 + i);
    json meta = {{"phx_ref", ref},
                 {"page", v.meta.page},
                 {"page_loaded_at", v.page_loaded_at_ms},
                 {"items", json::array({{{"product", "samba"},
                                         {"size", v.meta.items[0].size},
                                         {"qty", v.meta.items[0].qty}}})}};
    if (!v.phx_ref_prev.empty()) meta["phx_ref_prev"] = v.phx_ref_prev;
    json& side = expected[join ? "joins" : "leaves"][key];
    if (side.is_null()) side = {{"metas", json::array()}};
    side["metas"].push_back(meta);
    changes.push_back({join ? ChangeKind::join : ChangeKind::leave, "t", key, std::move(v)});
  }
  EXPECT_EQ(json::parse(encode_presence_diff(changes)), expected);
}

TEST(PresenceJson, StatsNestCartsByProductAndSize) {
  StatsSnapshot s;
  s.shoppers = 2;
  s.connections = 3;
  s.pages = {{"/", 2}, {"/products/air-max-90", 1}};
  s.carts = {{"air-max-90", "10", 5}, {"air-max-90", "10.5", 2}, {"samba", "9", 1}};
  s.nodes = {"store-a", "store-b"};
  s.replicas = {{"store-a", true, 2}, {"store-b", true, 1}};
  EXPECT_EQ(json::parse(encode_stats(s, 1764277500123)), json::parse(R"({
    "shoppers": 2, "connections": 3,
    "pages": {"/": 2, "/products/air-max-90": 1},
    "carts": {"air-max-90": {"10": 5, "10.5": 2}, "samba": {"9": 1}},
    "nodes": ["store-a", "store-b"],
    "replicas": [{"node": "store-a", "state": "up", "connections": 2},
                 {"node": "store-b", "state": "up", "connections": 1}],
    "ts": 1764277500123})"));
  EXPECT_EQ(json::parse(encode_stats(StatsSnapshot{}, 0)), json::parse(R"({
    "shoppers": 0, "connections": 0, "pages": {}, "carts": {}, "nodes": [], "replicas": [],
    "ts": 0})"));
}

TEST(PresenceJson, StatsMarkADownNodeAndLeaveItOutOfTheNodesCounted) {
  StatsSnapshot s;
  s.nodes = {"store-a"};
  s.replicas = {{"store-a", true, 4}, {"store-b", false, 7}};
  const json out = json::parse(encode_stats(s, 1));
  EXPECT_EQ(out["nodes"], json::parse(R"(["store-a"])"));
  EXPECT_EQ(out["replicas"], json::parse(R"([{"node": "store-a", "state": "up", "connections": 4},
    {"node": "store-b", "state": "down", "connections": 7}])"));
}

// The names come from the cluster's nodes: escaped like every other string.
TEST(PresenceJson, StatsEscapeNodeNames) {
  StatsSnapshot s;
  s.replicas = {{"store-\"a\"", true, 1}};
  s.nodes = {"store-\"a\""};
  const json out = json::parse(encode_stats(s, 1));
  EXPECT_EQ(out["replicas"][0]["node"], "store-\"a\"");
}

}  // namespace
}  // namespace presence
