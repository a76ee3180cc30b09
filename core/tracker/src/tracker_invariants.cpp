// A diagnostic for tests: recomputes every aggregate from the stored metas
// alone and compares with the incrementally maintained ones. Allocates.
#include <map>
#include <sstream>

#include "presence/tracker.hpp"
#include "presence_store.hpp"
#include "tracker_lock.hpp"

namespace presence {

using shm::Offset;

bool Tracker::check_invariants(std::string* why) {
  shm::Locked locked(base_, lock_);
  shm::PresenceStore s(base_);
  auto& h = s.header();
  std::ostringstream err;
  std::map<Offset, std::uint64_t> connections, shoppers, listing, page_counts, item_counts;
  std::map<Offset, std::uint64_t> topic_strings, topic_string_bytes;
  std::map<Offset, Offset> cart;  // key -> most recent visible meta
  std::map<Offset, std::uint64_t> key_visible, key_metas, owner_metas;
  std::uint64_t metas = 0;
  std::uint64_t used = 0;
  s.arena().walk([&](Offset off, shm::BlockHeader& block) {
    if (block.kind != shm::BlockKind::free) used += std::size_t{block.granules} * shm::kGranule;
    if (block.kind != shm::BlockKind::meta) return;
    auto& m = s.at<shm::MetaRecord>(off);
    ++metas;
    ++key_metas[m.key];
    if (m.owner != 0) ++owner_metas[m.owner];
    const bool up = h.replicas[m.replica].state == ReplicaState::up;
    if (up != ((block.flags & shm::kMetaVisible) != 0)) err << "visibility flag wrong; ";
    if (!up) return;
    const Offset topic = s.at<shm::KeyRecord>(m.key).topic;
    ++connections[topic];
    listing[topic] += s.record_size(m);
    if (key_visible[m.key]++ == 0) ++shoppers[topic];
    if (m.page != 0) ++page_counts[m.page];
    Offset& best = cart[m.key];
    if (best == 0 || shm::more_recent(m, s.tag_of(m), s.at<shm::MetaRecord>(best),
                                      s.tag_of(s.at<shm::MetaRecord>(best)))) {
      best = off;
    }
  });
  for (const auto& [key, meta] : cart) {
    auto& m = s.at<shm::MetaRecord>(meta);
    for (std::size_t i = 0; i < m.item_count; ++i)
      item_counts[m.items()[i].item] += m.items()[i].qty;
  }
  if (metas != h.metas) err << "meta count " << h.metas << " != " << metas << "; ";
  if (used != h.arena.allocated_bytes) err << "allocated bytes differ; ";
  std::uint64_t keys = 0;
  std::uint64_t strings = 0;
  s.arena().walk([&](Offset off, shm::BlockHeader& block) {
    if (block.kind == shm::BlockKind::topic) {
      auto& t = s.at<shm::TopicRecord>(off);
      if (t.connections != connections[off]) err << "connections differ; ";
      if (t.shoppers != shoppers[off]) err << "shoppers differ; ";
      if (t.listing_bytes != listing[off]) err << "listing bytes differ; ";
    } else if (block.kind == shm::BlockKind::key) {
      ++keys;
      auto& k = s.at<shm::KeyRecord>(off);
      if (k.metas != key_metas[off] || k.visible != key_visible[off]) err << "key counts differ; ";
      if (k.metas == 0) err << "empty key kept; ";
      if (s.cart_of(k) != cart[off]) err << "cart choice differs; ";
    } else if (block.kind == shm::BlockKind::interned) {
      auto& i = s.at<shm::InternRecord>(off);
      ++strings;
      ++topic_strings[i.topic];
      topic_string_bytes[i.topic] += i.len;
      const auto expected = i.kind == shm::InternKind::page ? page_counts[off] : item_counts[off];
      if (i.count != expected) err << "interned count differs; ";
      if (i.refs == 0) err << "unreferenced string kept; ";
    }
  });
  if (keys != h.keys) err << "key count differs; ";
  if (strings != h.strings) err << "string count differs; ";
  s.arena().walk([&](Offset off, shm::BlockHeader& block) {
    if (block.kind != shm::BlockKind::topic) return;
    auto& t = s.at<shm::TopicRecord>(off);
    if (t.strings != topic_strings[off] || t.string_bytes != topic_string_bytes[off]) {
      err << "topic string totals differ; ";
    }
  });
  for (std::size_t i = 0; i < kMaxOwnerPids; ++i) {
    if (h.owners[i].metas != owner_metas[static_cast<Offset>(i + 1)])
      err << "owner count differs; ";
  }
  const std::string text = err.str();
  if (why != nullptr) *why = text;
  return text.empty();
}

}  // namespace presence
