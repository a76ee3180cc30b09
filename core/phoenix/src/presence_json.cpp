#include "presence/presence_json.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <string_view>
#include <unordered_map>

#include "presence/phoenix_message.hpp"

namespace presence {

namespace {

using nlohmann::json;
using phoenix::append_json_string;

// presence_state and presence_diff are the admin feed's bulk: thousands of
// metas per broadcast tick at launch rates. They are written straight into
// the output text (no JSON tree, no allocation per value); the tracker has
// already validated every string in them (UTF-8, bounded lengths).

template <typename Int>
void append_int(std::string& out, Int value) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, static_cast<std::size_t>(end - buf));
}

void append_meta(std::string& out, const MetaView& view) {
  out += "{\"phx_ref\":";
  append_json_string(out, view.phx_ref);
  // phx_ref_prev stays in the meta once updated, as Phoenix stores it, so a
  // fresh presence_state equals the state a client synced through diffs.
  if (!view.phx_ref_prev.empty()) {
    out += ",\"phx_ref_prev\":";
    append_json_string(out, view.phx_ref_prev);
  }
  out += ",\"page\":";
  append_json_string(out, view.meta.page);
  out += ",\"items\":[";
  bool first = true;
  for (const CartItem& item : view.meta.items) {
    out += first ? "{\"product\":" : ",{\"product\":";
    first = false;
    append_json_string(out, item.product);
    out += ",\"size\":";
    append_json_string(out, item.size);
    out += ",\"qty\":";
    append_int(out, item.qty);
    out += '}';
  }
  out += "],\"page_loaded_at\":";
  append_int(out, view.page_loaded_at_ms);
  out += '}';
}

struct KeyedMeta {
  std::string_view key;
  const MetaView* meta;
};

// {"<key>": {"metas": [...]}, ...}: one member per key, its metas in the
// order given (a stable sort groups them; keys come out sorted).
void append_by_key(std::string& out, std::vector<KeyedMeta>& metas) {
  std::stable_sort(metas.begin(), metas.end(),
                   [](const KeyedMeta& a, const KeyedMeta& b) { return a.key < b.key; });
  out += '{';
  for (std::size_t i = 0; i < metas.size(); ++i) {
    const bool opens = i == 0 || metas[i].key != metas[i - 1].key;
    if (opens) {
      if (i != 0) out += "]},";
      append_json_string(out, metas[i].key);
      out += ":{\"metas\":[";
    } else {
      out += ',';
    }
    append_meta(out, *metas[i].meta);
  }
  if (!metas.empty()) out += "]}";
  out += '}';
}

}  // namespace

std::string encode_presence_state(const std::vector<PresenceEntry>& entries) {
  std::vector<KeyedMeta> metas;
  metas.reserve(entries.size());
  for (const PresenceEntry& e : entries) metas.push_back({e.key, &e.meta});
  std::string out;
  out.reserve(entries.size() * 256 + 2);
  append_by_key(out, metas);
  return out;
}

void append_presence_diff(std::string& out, const std::vector<Change>& changes) {
  struct Net {
    ChangeKind first;
    const Change* last;
  };
  std::unordered_map<std::string_view, Net> net;
  net.reserve(changes.size());
  std::vector<std::string_view> order;
  order.reserve(changes.size());
  for (const Change& c : changes) {
    auto [it, inserted] = net.try_emplace(c.meta.phx_ref, Net{c.kind, &c});
    if (inserted) {
      order.push_back(c.meta.phx_ref);
    } else {
      it->second.last = &c;
    }
  }
  // Only the net effect per phx_ref: present before and after (or absent
  // before and after) the batch means nothing to send.
  std::vector<KeyedMeta> joins;
  std::vector<KeyedMeta> leaves;
  for (const std::string_view ref : order) {
    const Net& n = net.find(ref)->second;
    const bool was_present = n.first == ChangeKind::leave;
    const bool is_present = n.last->kind == ChangeKind::join;
    if (was_present == is_present) continue;
    (is_present ? joins : leaves).push_back({n.last->key, &n.last->meta});
  }
  out.reserve(out.size() + (joins.size() + leaves.size()) * 256 + 24);
  out += "{\"joins\":";
  append_by_key(out, joins);
  out += ",\"leaves\":";
  append_by_key(out, leaves);
  out += '}';
}

std::string encode_presence_diff(const std::vector<Change>& changes) {
  std::string out;
  append_presence_diff(out, changes);
  return out;
}

std::string encode_stats(const StatsSnapshot& stats, std::int64_t ts_ms) {
  // Bounded by the tracker's cut and once per tick: a JSON tree here merges a
  // product's sizes into one object whatever their order.
  json pages = json::object();
  for (const auto& [page, count] : stats.pages) pages[page] = count;
  json carts = json::object();
  for (const auto& [product, size, qty] : stats.carts) carts[product][size] = qty;
  // At most kMaxReplicas entries: what a node weighs does not depend on its shoppers.
  json replicas = json::array();
  for (const NodeConnections& node : stats.replicas) {
    replicas.push_back({{"node", node.node},
                        {"state", node.up ? "up" : "down"},
                        {"connections", node.connections}});
  }
  json out{{"shoppers", stats.shoppers},
           {"connections", stats.connections},
           {"pages", std::move(pages)},
           {"carts", std::move(carts)},
           {"nodes", stats.nodes},
           {"replicas", std::move(replicas)},
           {"ts", ts_ms}};
  // Only when the cut left something out, so a small store's stats are unchanged.
  if (stats.pages_other.pages != 0) {
    out["pages_other"] = {{"pages", stats.pages_other.pages},
                          {"connections", stats.pages_other.connections}};
  }
  if (stats.carts_other.products != 0 || stats.carts_other.qty != 0) {
    out["carts_other"] = {{"products", stats.carts_other.products}, {"qty", stats.carts_other.qty}};
  }
  return out.dump();
}

}  // namespace presence
