// Crash repair: a worker killed inside a critical section leaves the region
// half-updated. The next locker keeps every committed meta whose references
// are sound, and rebuilds everything else (indexes, lists, free lists,
// refcounts, aggregates) from them. Readers of the change stream resync.
#include <algorithm>
#include <cstring>

#include "presence/tracker.hpp"
#include "presence_store.hpp"
#include "tracker_lock.hpp"

namespace presence::shm {

namespace {

bool is_block(PresenceStore& s, Offset off, BlockKind kind) {
  const auto& a = s.header().arena;
  return off >= a.begin && off < a.bump && (off - a.begin) % kGranule == 0 &&
         s.at<BlockHeader>(off).kind == kind;
}

bool sound(PresenceStore& s, MetaRecord& m) {
  auto& h = s.header();
  if (m.replica >= kMaxReplicas || h.replicas[m.replica].state == ReplicaState{}) return false;
  if (m.owner > kMaxOwnerPids || (m.owner != 0 && h.owners[m.owner - 1u].pid == 0)) return false;
  if (!is_block(s, m.key, BlockKind::key)) return false;
  const Offset topic = s.at<KeyRecord>(m.key).topic;
  if (!is_block(s, topic, BlockKind::topic)) return false;
  auto interned = [&](Offset off, InternKind kind) {
    return is_block(s, off, BlockKind::interned) && s.at<InternRecord>(off).kind == kind &&
           s.at<InternRecord>(off).topic == topic;
  };
  if (m.page != 0 && !interned(m.page, InternKind::page)) return false;
  const ItemRef* items = m.items();
  for (std::size_t i = 0; i < m.item_count; ++i) {
    if (!interned(items[i].item, InternKind::item)) return false;
  }
  return true;
}

void free_block(Arena& arena, BlockHeader& block, Offset off) {
  block.kind = BlockKind::free;
  block.flags = 0;
  arena.adopt_free(off);
}

// Bottom-up merge sort of the local replica's list by clock (no allocation).
void sort_local_list(PresenceStore& s) {
  auto& r = s.header().replicas[kLocalReplica];
  auto clock = [&](Offset m) { return s.at<MetaRecord>(m).clock; };
  auto next = [&](Offset m) -> Offset& { return s.at<MetaRecord>(m).replica_next; };
  Offset head = r.meta_head;
  for (std::size_t width = 1;; width *= 2) {
    Offset merged = 0;
    Offset* tail = &merged;
    std::size_t merges = 0;
    Offset left = head;
    while (left != 0) {
      ++merges;
      Offset right = left;
      std::size_t left_len = 0;
      while (right != 0 && left_len < width) {
        right = next(right);
        ++left_len;
      }
      std::size_t right_len = width;
      while (left_len > 0 || (right_len > 0 && right != 0)) {
        Offset take;
        if (left_len == 0 || (right_len > 0 && right != 0 && clock(right) < clock(left))) {
          take = right;
          right = next(right);
          --right_len;
        } else {
          take = left;
          left = next(left);
          --left_len;
        }
        *tail = take;
        tail = &next(take);
      }
      left = right;
    }
    *tail = 0;
    head = merged;
    if (merges <= 1) break;
  }
  r.meta_head = head;
  Offset prev = 0;
  for (Offset m = head; m != 0; m = next(m)) {
    s.at<MetaRecord>(m).replica_prev = prev;
    prev = m;
  }
  r.meta_tail = prev;
}

}  // namespace

void repair_region(std::byte* base) noexcept {
  PresenceStore s(base);
  auto& h = s.header();
  Arena& arena = s.arena();
  std::memset(base + h.key_buckets, 0, std::size_t{h.key_mask + 1u} * sizeof(Offset));
  std::memset(base + h.lineage_buckets, 0, std::size_t{h.lineage_mask + 1u} * sizeof(Offset));
  std::memset(base + h.intern_buckets, 0, std::size_t{h.intern_mask + 1u} * sizeof(Offset));
  h.topic_buckets.fill(0);
  for (auto& r : h.replicas) r.meta_head = r.meta_tail = 0, r.metas = 0;
  for (auto& o : h.owners) o.head = 0, o.metas = 0;
  h.metas = 0;
  h.keys = 0;
  h.strings = 0;
  arena.reset_free_lists();

  // Derived fields of the shared records are cleared; unfinished metas dropped.
  arena.walk([&](Offset off, BlockHeader& block) {
    switch (block.kind) {
      case BlockKind::topic: {
        auto& t = s.at<TopicRecord>(off);
        t.refs = 0;
        t.key_head = t.page_head = t.item_head = 0;
        t.strings = 0;
        t.string_bytes = 0;
        t.shoppers = t.connections = t.listing_bytes = 0;
        break;
      }
      case BlockKind::key: {
        auto& k = s.at<KeyRecord>(off);
        k.metas = k.visible = 0;
        k.meta_head = 0;
        break;
      }
      case BlockKind::interned:
        s.at<InternRecord>(off).refs = 0;
        s.at<InternRecord>(off).count = 0;
        break;
      case BlockKind::meta:
        if ((block.flags & kMetaCommitted) == 0) free_block(arena, block, off);
        break;
      default:
        free_block(arena, block, off);
    }
  });
  // Sound metas count their references; the others are dropped.
  arena.walk([&](Offset off, BlockHeader& block) {
    if (block.kind != BlockKind::meta) return;
    auto& m = s.at<MetaRecord>(off);
    if (!sound(s, m)) {
      free_block(arena, block, off);
      return;
    }
    block.flags = kMetaCommitted;
    ++s.at<KeyRecord>(m.key).metas;
    if (m.page != 0) ++s.at<InternRecord>(m.page).refs;
    const ItemRef* items = m.items();
    for (std::size_t i = 0; i < m.item_count; ++i) ++s.at<InternRecord>(items[i].item).refs;
    arena.adopt_live(off);
  });
  // Referenced keys and strings are indexed again; the rest is freed.
  arena.walk([&](Offset off, BlockHeader& block) {
    if (block.kind == BlockKind::key) {
      auto& k = s.at<KeyRecord>(off);
      if (k.metas == 0) return free_block(arena, block, off);
      ++s.at<TopicRecord>(k.topic).refs;
    } else if (block.kind == BlockKind::interned) {
      auto& i = s.at<InternRecord>(off);
      if (i.refs == 0) return free_block(arena, block, off);
      ++s.at<TopicRecord>(i.topic).refs;
    }
  });
  arena.walk([&](Offset off, BlockHeader& block) {
    if (block.kind != BlockKind::topic) return;
    if (s.at<TopicRecord>(off).refs == 0) return free_block(arena, block, off);
    s.link_topic(off);
    arena.adopt_live(off);
  });
  arena.walk([&](Offset off, BlockHeader& block) {
    if (block.kind == BlockKind::key) {
      s.at<KeyRecord>(off).metas = 0;
      s.link_key_record(off);
      ++h.keys;
      arena.adopt_live(off);
    } else if (block.kind == BlockKind::interned) {
      s.link_intern(off);
      ++h.strings;
      arena.adopt_live(off);
    }
  });
  auto& local = h.replicas[kLocalReplica];
  arena.walk([&](Offset off, BlockHeader& block) {
    if (block.kind != BlockKind::meta) return;
    auto& m = s.at<MetaRecord>(off);
    s.link_lineage(off);
    s.link_replica(off);
    s.link_owner(off);
    s.link_key(off);
    ++h.metas;
    if (m.replica == kLocalReplica) local.clock = std::max(local.clock, m.clock);
  });
  sort_local_list(s);
  for (auto& o : h.owners) {
    if (o.metas == 0) o = OwnerSlot{};
  }
  // Aggregates from scratch: visible metas, then one cart per key.
  arena.walk([&](Offset off, BlockHeader& block) {
    if (block.kind != BlockKind::meta) return;
    if (h.replicas[s.at<MetaRecord>(off).replica].state != ReplicaState::up) return;
    block.flags |= kMetaVisible;
    s.count_visible(off, true);
  });
  arena.walk([&](Offset off, BlockHeader& block) {
    if (block.kind != BlockKind::key) return;
    if (const Offset cart = s.cart_of(s.at<KeyRecord>(off)); cart != 0) s.add_cart(cart, true);
  });
  // Removals may have gone unrecorded: peers behind the local clock get a full state.
  h.tomb_floor = local.clock;
  s.log().invalidate();
  s.bump_stats_version();
}

}  // namespace presence::shm

namespace presence {

void Tracker::repair() {
  shm::Locked locked(base_, lock_);
  shm::repair_region(base_);
}

}  // namespace presence
