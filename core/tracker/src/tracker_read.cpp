// Reads of the tracker: listings, single metas, the change stream and the
// aggregates, each copied out under the lock and decoded after it.
#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "change_record.hpp"
#include "hash.hpp"
#include "locked_copy.hpp"
#include "presence/phx_ref.hpp"
#include "presence/sodium_ready.hpp"
#include "presence/tracker.hpp"

namespace presence {

using shm::Offset;
using shm::PresenceStore;

std::vector<std::byte>& shm::scratch_buffer() {
  thread_local std::vector<std::byte> buffer;
  return buffer;
}

namespace {

bool visible(PresenceStore& s, Offset meta) {
  return (s.at<shm::BlockHeader>(meta).flags & shm::kMetaVisible) != 0;
}

// Decodes a run of records into `out`, reusing the strings and vectors of the
// elements already there (a caller that keeps its vector allocates nothing in
// steady state). Returns the records decoded; `out` is cut to them.
template <class Element, class Fill>
void decode_into(const std::byte* p, std::size_t bytes, std::vector<Element>& out, Fill&& fill) {
  shm::RecordFields fields;
  std::size_t used = 0;
  while (bytes > 0) {
    Element& e = used < out.size() ? out[used] : out.emplace_back();
    const std::size_t n = shm::decode_record(p, bytes, fields, e.topic, e.key, e.meta.meta);
    if (n == 0) break;
    p += n;
    bytes -= n;
    e.meta.phx_ref = phx_ref_of(fields.tag, fields.clock);
    e.meta.phx_ref_prev = shm::phx_ref_prev_of(fields);
    e.meta.page_loaded_at_ms = fields.page_loaded_at_ms;
    fill(e, fields);
    ++used;
  }
  out.resize(used);
}

void decode_entries(const std::byte* p, std::size_t bytes, std::vector<PresenceEntry>& out) {
  decode_into(p, bytes, out, [](PresenceEntry&, const shm::RecordFields&) {});
}

template <class F>
void for_visible_of_key(PresenceStore& s, Offset key, F&& f) {
  for (Offset m = s.at<shm::KeyRecord>(key).meta_head; m != 0;
       m = s.at<shm::MetaRecord>(m).key_next) {
    if (visible(s, m)) f(m);
  }
}

}  // namespace

std::uint64_t Tracker::snapshot(std::string_view topic, std::vector<PresenceEntry>& out) {
  std::uint64_t seq = 0;
  std::uint64_t count = 0;
  auto& buf = shm::scratch_buffer();
  const std::size_t bytes = shm::copy_locked(
      base_, lock_, buf,
      [&](PresenceStore& s) -> std::size_t {
        seq = s.log().head_seq();
        const Offset t = s.find_topic(topic);
        count = t == 0 ? 0 : s.at<shm::TopicRecord>(t).connections;
        return t == 0 ? 0 : s.at<shm::TopicRecord>(t).listing_bytes;
      },
      [&](PresenceStore& s, std::byte* dst) {
        const Offset t = s.find_topic(topic);
        if (t == 0) return;
        shm::LinearSink sink{dst};
        for (Offset k = s.at<shm::TopicRecord>(t).key_head; k != 0;
             k = s.at<shm::KeyRecord>(k).topic_next) {
          for_visible_of_key(s, k, [&](Offset m) {
            s.write_record(s.at<shm::MetaRecord>(m), ChangeKind::join, 0, sink);
          });
        }
      });
  out.reserve(count);
  decode_entries(buf.data(), bytes, out);
  return seq;
}

std::vector<PresenceEntry> Tracker::get_by_key(std::string_view topic, std::string_view key) {
  auto& buf = shm::scratch_buffer();
  auto find = [&](PresenceStore& s) -> Offset {
    const Offset t = s.find_topic(topic);
    return t == 0 ? 0 : s.find_key(t, key);
  };
  const std::size_t bytes = shm::copy_locked(
      base_, lock_, buf,
      [&](PresenceStore& s) {
        std::size_t need = 0;
        if (const Offset k = find(s); k != 0) {
          for_visible_of_key(s, k,
                             [&](Offset m) { need += s.record_size(s.at<shm::MetaRecord>(m)); });
        }
        return need;
      },
      [&](PresenceStore& s, std::byte* dst) {
        shm::LinearSink sink{dst};
        if (const Offset k = find(s); k != 0) {
          for_visible_of_key(s, k, [&](Offset m) {
            s.write_record(s.at<shm::MetaRecord>(m), ChangeKind::join, 0, sink);
          });
        }
      });
  std::vector<PresenceEntry> out;
  decode_entries(buf.data(), bytes, out);
  return out;
}

std::optional<MetaView> Tracker::get(MetaHandle h) {
  auto& buf = shm::scratch_buffer();
  const std::size_t bytes = shm::copy_locked(
      base_, lock_, buf,
      [&](PresenceStore& s) -> std::size_t {
        const Offset m = s.resolve(h);
        return m == 0 ? 0 : s.record_size(s.at<shm::MetaRecord>(m));
      },
      [&](PresenceStore& s, std::byte* dst) {
        shm::LinearSink sink{dst};
        if (const Offset m = s.resolve(h); m != 0) {
          s.write_record(s.at<shm::MetaRecord>(m), ChangeKind::join, 0, sink);
        }
      });
  shm::DecodedRecord r;
  if (bytes == 0 || shm::decode_record(buf.data(), bytes, r) == 0) return std::nullopt;
  return shm::meta_view_of(std::move(r));
}

ChangeStatus Tracker::changes_since(std::uint64_t since, std::size_t max, std::vector<Change>& out,
                                    std::uint64_t* next) {
  bool behind = false;
  shm::ChangeLog::Range range{};
  auto& buf = shm::scratch_buffer();
  const std::size_t bytes = shm::copy_locked(
      base_, lock_, buf,
      [&](PresenceStore& s) -> std::size_t {
        behind = !s.log().range(since, max, &range);
        if (behind) range.last_seq = s.log().head_seq();
        return behind ? 0 : static_cast<std::size_t>(range.end_pos - range.begin_pos);
      },
      [&](PresenceStore& s, std::byte* dst) {
        if (!behind) s.log().copy_out(range.begin_pos, range.end_pos, dst);
      });
  *next = range.last_seq;
  if (behind) {
    out.clear();
    return ChangeStatus::behind;
  }
  decode_into(buf.data(), bytes, out,
              [](Change& c, const shm::RecordFields& fields) { c.kind = fields.kind; });
  return ChangeStatus::ok;
}

namespace {

// The stats copy: counters, then (len, count, bytes) per page and per
// (product, size), then (metas, state, name) per replica up or down.
struct StatsHead {
  std::uint64_t shoppers;
  std::uint64_t connections;
  std::uint32_t pages;
  std::uint32_t items;
  std::uint32_t nodes;
  std::uint32_t reserved;
};
struct StatsString {
  std::uint64_t count;
  std::uint16_t len;
  std::uint8_t split;
  std::uint8_t reserved;
};

template <class Visit>
void visit_stats(PresenceStore& s, std::string_view topic, Visit&& visit) {
  const Offset t = s.find_topic(topic);
  if (t != 0) {
    auto& rec = s.at<shm::TopicRecord>(t);
    for (Offset head : {rec.page_head, rec.item_head}) {
      for (Offset i = head; i != 0; i = s.at<shm::InternRecord>(i).list_next) {
        auto& str = s.at<shm::InternRecord>(i);
        if (str.count != 0) visit(str.kind, str.count, str.split, str.bytes(), str.len);
      }
    }
  }
  // A node's entry: its metas as the count, its state as the split.
  for (auto& r : s.header().replicas) {
    if (r.state == ReplicaState::up || r.state == ReplicaState::down) {
      visit(shm::InternKind{}, r.metas, static_cast<std::uint8_t>(r.state), r.name.data(),
            r.name_len);
    }
  }
}

// The stats' cut, made after the lock: the copied strings are ranked busiest
// first (ties by text, so the cut does not depend on the order the region
// lists them in) with nth_element, linear in the strings copied.
struct Counted {
  std::uint64_t count;
  std::string_view text;
};
struct CountedItem {
  std::uint64_t count;
  std::string_view size;
  std::string_view product;
  std::uint32_t next;  // the next item of the same product + 1, 0 at the end
};
struct ProductTotal {
  std::uint64_t count;
  std::string_view text;
  std::uint32_t first;  // its first item + 1
};
struct StatsScratch {
  std::vector<Counted> pages;
  std::vector<CountedItem> items;
  std::vector<ProductTotal> products;
  std::vector<Counted> sizes;
  std::vector<std::uint32_t> product_slots;  // open addressing: product index + 1, 0 free
};

// Products are grouped by a hash shoppers cannot aim (they name the
// products): SipHash under a key of this process.
const shm::HashKey& grouping_key() {
  static const shm::HashKey key = [] {
    shm::HashKey k{};
    if (presence::sodium_ready()) randombytes_buf(k.data(), k.size());
    return k;
  }();
  return key;
}

template <class T>
bool busier(const T& a, const T& b) {
  return a.count != b.count ? a.count > b.count : a.text < b.text;
}

// Moves the `keep` busiest of `all` to its front; returns the count of the rest.
template <class T>
std::uint64_t keep_busiest(std::vector<T>& all, std::size_t keep) {
  if (all.size() <= keep) return 0;
  std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end(),
                   busier<T>);
  std::uint64_t rest = 0;
  for (std::size_t i = keep; i < all.size(); ++i) rest += all[i].count;
  return rest;
}

void select_pages(StatsScratch& scratch, std::size_t top, StatsSnapshot& out) {
  auto& pages = scratch.pages;
  const std::size_t keep = std::min(top, pages.size());
  out.pages_other.connections = keep_busiest(pages, keep);
  out.pages_other.pages = pages.size() - keep;
  out.pages.reserve(keep);
  for (std::size_t i = 0; i < keep; ++i) out.pages.emplace_back(pages[i].text, pages[i].count);
}

// Products ranked by their shoes over all sizes; a shown product shows its
// busiest kStatsSizesPerProduct sizes.
void select_carts(StatsScratch& scratch, std::size_t top, StatsSnapshot& out) {
  auto& items = scratch.items;
  auto& products = scratch.products;
  auto& slots = scratch.product_slots;
  products.clear();
  // At most half full: linear probing then averages under two probes.
  const std::size_t mask = std::bit_ceil(std::max<std::size_t>(16, items.size() * 2)) - 1;
  slots.assign(mask + 1, 0);
  const shm::HashKey& key = grouping_key();
  for (std::uint32_t i = 0; i < items.size(); ++i) {
    const std::string_view name = items[i].product;
    std::size_t slot = shm::keyed_hash(name, key) & mask;
    while (slots[slot] != 0 && products[slots[slot] - 1].text != name) slot = (slot + 1) & mask;
    if (slots[slot] == 0) {
      products.push_back({0, name, 0});
      slots[slot] = static_cast<std::uint32_t>(products.size());
    }
    ProductTotal& product = products[slots[slot] - 1];
    product.count += items[i].count;
    items[i].next = product.first;
    product.first = i + 1;
  }
  const std::size_t keep = std::min(top, products.size());
  out.carts_other.qty = keep_busiest(products, keep);
  out.carts_other.products = products.size() - keep;
  auto& sizes = scratch.sizes;
  for (std::size_t p = 0; p < keep; ++p) {
    sizes.clear();
    for (std::uint32_t i = products[p].first; i != 0; i = items[i - 1].next) {
      sizes.push_back({items[i - 1].count, items[i - 1].size});
    }
    const std::size_t shown = std::min(kStatsSizesPerProduct, sizes.size());
    out.carts_other.qty += keep_busiest(sizes, shown);
    for (std::size_t i = 0; i < shown; ++i) {
      out.carts.emplace_back(products[p].text, sizes[i].text, sizes[i].count);
    }
  }
}

struct ReplicaCount {
  std::string_view node;
  ReplicaState state;
  std::uint64_t metas;
};

// One entry per node name: a restarted node's old generation may linger
// (down) beside the new one until it is permdowned. A node is up when one of
// its replicas is, and counts the metas of the replicas in the state shown.
void count_by_node(std::vector<ReplicaCount>& replicas, StatsSnapshot& out) {
  std::sort(replicas.begin(), replicas.end(),
            [](const ReplicaCount& a, const ReplicaCount& b) { return a.node < b.node; });
  for (std::size_t i = 0; i < replicas.size();) {
    std::size_t end = i;
    bool up = false;
    while (end < replicas.size() && replicas[end].node == replicas[i].node) {
      up = up || replicas[end].state == ReplicaState::up;
      ++end;
    }
    NodeConnections node{std::string(replicas[i].node), up, 0};
    const ReplicaState shown = up ? ReplicaState::up : ReplicaState::down;
    for (; i < end; ++i) {
      if (replicas[i].state == shown) node.connections += replicas[i].metas;
    }
    if (up) out.nodes.push_back(node.node);
    out.replicas.push_back(std::move(node));
  }
}

}  // namespace

StatsSnapshot Tracker::stats(std::string_view topic) {
  auto& buf = shm::scratch_buffer();
  const std::size_t bytes = shm::copy_locked(
      base_, lock_, buf,
      [&](PresenceStore& s) {
        // From the topic's totals: one walk of its strings under the lock, not two.
        std::size_t need = sizeof(StatsHead);
        if (const Offset t = s.find_topic(topic); t != 0) {
          const auto& rec = s.at<shm::TopicRecord>(t);
          need += rec.strings * sizeof(StatsString) + rec.string_bytes;
        }
        return need + s.header().replicas.size() * (sizeof(StatsString) + kMaxNodeNameBytes);
      },
      [&](PresenceStore& s, std::byte* dst) {
        StatsHead head{};
        if (const Offset t = s.find_topic(topic); t != 0) {
          head.shoppers = s.at<shm::TopicRecord>(t).shoppers;
          head.connections = s.at<shm::TopicRecord>(t).connections;
        }
        shm::LinearSink sink{dst + sizeof head};
        visit_stats(s, topic,
                    [&](shm::InternKind kind, std::uint64_t count, std::uint8_t split,
                        const char* p, std::size_t len) {
                      ++(kind == shm::InternKind::page   ? head.pages
                         : kind == shm::InternKind::item ? head.items
                                                         : head.nodes);
                      const StatsString str{count, static_cast<std::uint16_t>(len), split, 0};
                      sink.put(&str, sizeof str);
                      sink.put(p, len);
                    });
        std::memcpy(dst, &head, sizeof head);
      });
  StatsSnapshot out;
  if (bytes < sizeof(StatsHead)) return out;
  StatsHead head;
  std::memcpy(&head, buf.data(), sizeof head);
  out.shoppers = head.shoppers;
  out.connections = head.connections;
  const std::byte* p = buf.data() + sizeof head;
  auto next = [&](StatsString& str) {
    std::memcpy(&str, p, sizeof str);
    p += sizeof str;
    std::string_view text(reinterpret_cast<const char*>(p), str.len);
    p += str.len;
    return text;
  };
  StatsString str;
  thread_local StatsScratch scratch;
  scratch.pages.clear();
  for (std::uint32_t i = 0; i < head.pages; ++i) {
    const auto text = next(str);
    scratch.pages.push_back({str.count, text});
  }
  scratch.items.clear();
  for (std::uint32_t i = 0; i < head.items; ++i) {
    const auto text = next(str);
    scratch.items.push_back({str.count, text.substr(str.split), text.substr(0, str.split), 0});
  }
  thread_local std::vector<ReplicaCount> replicas;
  replicas.clear();
  for (std::uint32_t i = 0; i < head.nodes; ++i) {
    const auto text = next(str);
    replicas.push_back({text, static_cast<ReplicaState>(str.split), str.count});
  }
  count_by_node(replicas, out);
  select_pages(scratch, stats_top_, out);
  select_carts(scratch, stats_top_, out);
  std::sort(out.pages.begin(), out.pages.end());
  std::sort(out.carts.begin(), out.carts.end());
  return out;
}

std::vector<ReplicaInfo> Tracker::replicas() {
  // The slots' fields are copied under the lock, the strings made after it.
  struct Copied {
    ReplicaState state;
    std::uint8_t name_len;
    std::uint64_t generation, metas, clock;
    std::array<char, kMaxNodeNameBytes> name;
  };
  std::array<Copied, kMaxReplicas> copied;
  {
    shm::Locked locked(base_, lock_);
    const auto& slots = header().replicas;
    for (std::size_t i = 0; i < kMaxReplicas; ++i) {
      const shm::ReplicaSlot& r = slots[i];
      copied[i] = Copied{r.state, r.name_len, r.generation, r.metas, r.clock, r.name};
    }
  }
  std::vector<ReplicaInfo> out;
  for (std::size_t i = 0; i < kMaxReplicas; ++i) {
    const Copied& r = copied[i];
    if (static_cast<std::uint8_t>(r.state) == 0) continue;
    const std::size_t len = std::min<std::size_t>(r.name_len, kMaxNodeNameBytes);
    out.push_back(ReplicaInfo{ReplicaName{std::string(r.name.data(), len), r.generation}, r.state,
                              r.metas, r.clock, i == shm::kLocalReplica});
  }
  return out;
}

// A read the module needs without the replication library: the name the
// timeline's samples and the stats' nodes carry.
ReplicaName Tracker::local_replica() {
  shm::Locked locked(base_, lock_);
  const shm::ReplicaSlot& slot = header().replicas[shm::kLocalReplica];
  return ReplicaName{std::string(slot.name.data(), slot.name_len), slot.generation};
}

}  // namespace presence
