#include "presence/presence_json.hpp"

#include <nlohmann/json.hpp>
#include <string_view>
#include <unordered_map>

namespace presence {

namespace {

using nlohmann::json;

json meta_json(const MetaView& view, bool with_prev) {
  json items = json::array();
  for (const CartItem& item : view.meta.items) {
    items.push_back({{"product", item.product}, {"size", item.size}, {"qty", item.qty}});
  }
  json meta = {{"phx_ref", view.phx_ref},
               {"page", view.meta.page},
               {"items", std::move(items)},
               {"page_loaded_at", view.page_loaded_at_ms}};
  if (with_prev && !view.phx_ref_prev.empty()) meta["phx_ref_prev"] = view.phx_ref_prev;
  return meta;
}

void add_meta(json& by_key, const std::string& key, json meta) {
  json& entry = by_key[key];
  if (entry.is_null()) entry = {{"metas", json::array()}};
  entry["metas"].push_back(std::move(meta));
}

}  // namespace

std::string encode_presence_state(const std::vector<PresenceEntry>& entries) {
  json state = json::object();
  // phx_ref_prev stays in the meta once updated, as Phoenix stores it, so a
  // fresh presence_state equals the state a client synced through diffs.
  for (const PresenceEntry& e : entries) add_meta(state, e.key, meta_json(e.meta, true));
  return state.dump();
}

std::string encode_presence_diff(const std::vector<Change>& changes) {
  struct Net {
    ChangeKind first;
    const Change* last;
  };
  std::unordered_map<std::string_view, Net> net;
  std::vector<std::string_view> order;
  for (const Change& c : changes) {
    auto [it, inserted] = net.try_emplace(c.meta.phx_ref, Net{c.kind, &c});
    if (inserted) {
      order.push_back(c.meta.phx_ref);
    } else {
      it->second.last = &c;
    }
  }
  json joins = json::object();
  json leaves = json::object();
  for (const std::string_view ref : order) {
    const Net& n = net.at(ref);
    const bool was_present = n.first == ChangeKind::leave;
    const bool is_present = n.last->kind == ChangeKind::join;
    if (was_present == is_present) continue;
    add_meta(is_present ? joins : leaves, n.last->key, meta_json(n.last->meta, true));
  }
  return json{{"joins", std::move(joins)}, {"leaves", std::move(leaves)}}.dump();
}

std::string encode_stats(const StatsSnapshot& stats, std::int64_t ts_ms) {
  json pages = json::object();
  for (const auto& [page, count] : stats.pages) pages[page] = count;
  json carts = json::object();
  for (const auto& [product, size, qty] : stats.carts) carts[product][size] = qty;
  return json{{"shoppers", stats.shoppers}, {"connections", stats.connections},
              {"pages", std::move(pages)},  {"carts", std::move(carts)},
              {"nodes", stats.nodes},       {"ts", ts_ms}}
      .dump();
}

}  // namespace presence
