#include "presence_store.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <utility>

#include "hash.hpp"
#include "tracker_lock.hpp"

namespace presence::shm {

bool more_recent(const MetaRecord& a, std::uint64_t a_tag, const MetaRecord& b,
                 std::uint64_t b_tag) noexcept {
  if (a.updated_at_ms != b.updated_at_ms) return a.updated_at_ms > b.updated_at_ms;
  if (a_tag != b_tag) return a_tag > b_tag;
  return a.clock > b.clock;
}

namespace {
std::string_view bytes_of(const char* p, std::size_t n) {
  return {p, n};
}
}  // namespace

// The tables' hashes, keyed by the region's secret; the topic and kind are
// mixed in after, so one string of two kinds lands in two buckets.
std::uint32_t PresenceStore::intern_hash(Offset topic, InternKind kind,
                                         std::string_view bytes) noexcept {
  return static_cast<std::uint32_t>(
      mix64(keyed_hash(bytes, h_.hash_key) ^
            ((std::uint64_t{topic} << 8) | static_cast<std::uint8_t>(kind))));
}

std::uint32_t PresenceStore::key_hash(Offset topic, std::string_view key) noexcept {
  return static_cast<std::uint32_t>(
      mix64(keyed_hash(key, h_.hash_key) ^ (std::uint64_t{topic} << 8)));
}

std::uint32_t PresenceStore::topic_hash(std::string_view name) noexcept {
  return static_cast<std::uint32_t>(keyed_hash(name, h_.hash_key));
}

std::uint64_t PresenceStore::lineage_hash(std::uint16_t replica, std::uint64_t lineage) noexcept {
  return keyed_hash(lineage ^ (std::uint64_t{replica} << 48), h_.hash_key);
}

Offset PresenceStore::find_topic(std::string_view name) noexcept {
  for (Offset t = h_.topic_buckets[topic_hash(name) % kTopicBuckets]; t != 0;
       t = at<TopicRecord>(t).hash_next) {
    auto& rec = at<TopicRecord>(t);
    if (bytes_of(rec.bytes(), rec.len) == name) return t;
  }
  return 0;
}

Offset PresenceStore::find_key(Offset topic, std::string_view key) noexcept {
  const std::uint32_t hash = key_hash(topic, key);
  auto* buckets = reinterpret_cast<Offset*>(base_ + h_.key_buckets);
  for (Offset k = buckets[hash & h_.key_mask]; k != 0; k = at<KeyRecord>(k).hash_next) {
    auto& rec = at<KeyRecord>(k);
    if (rec.hash == hash && rec.topic == topic && bytes_of(rec.bytes(), rec.len) == key) return k;
  }
  return 0;
}

Offset PresenceStore::find_lineage(std::uint16_t replica, std::uint64_t lineage) noexcept {
  auto* buckets = reinterpret_cast<Offset*>(base_ + h_.lineage_buckets);
  for (Offset m = buckets[lineage_hash(replica, lineage) & h_.lineage_mask]; m != 0;
       m = at<MetaRecord>(m).lineage_next) {
    auto& rec = at<MetaRecord>(m);
    if (rec.replica == replica && rec.lineage == lineage) return m;
  }
  return 0;
}

Offset PresenceStore::resolve(MetaHandle handle) noexcept {
  const Offset off = handle.slot;
  if (off < h_.arena.begin || off >= h_.arena.bump || (off - h_.arena.begin) % kGranule != 0 ||
      handle.generation == 0) {
    return 0;
  }
  auto& block = at<BlockHeader>(off);
  if (block.kind != BlockKind::meta || (block.flags & kMetaCommitted) == 0 ||
      block.aux != handle.generation) {
    return 0;
  }
  return off;
}

MetaHandle PresenceStore::handle_of(Offset meta) noexcept {
  return MetaHandle{meta, at<BlockHeader>(meta).aux};
}

std::uint16_t PresenceStore::find_owner(const ProcessIdentity& process) noexcept {
  for (std::size_t i = 0; i < kMaxOwnerPids; ++i) {
    const OwnerSlot& o = h_.owners[i];
    if (o.pid == process.pid && o.start_time == process.start_time) {
      return static_cast<std::uint16_t>(i + 1);
    }
  }
  return 0;
}

std::uint16_t PresenceStore::claim_owner(const ProcessIdentity& process) noexcept {
  if (process.pid == 0) return 0;
  if (const std::uint16_t slot = find_owner(process); slot != 0) return slot;
  for (std::size_t i = 0; i < kMaxOwnerPids; ++i) {
    if (h_.owners[i].pid == 0) {
      h_.owners[i] = OwnerSlot{process.pid, 0, process.start_time, 0};
      return static_cast<std::uint16_t>(i + 1);
    }
  }
  return 0;
}

void PresenceStore::link_topic(Offset topic) noexcept {
  auto& rec = at<TopicRecord>(topic);
  Offset& bucket = h_.topic_buckets[topic_hash(bytes_of(rec.bytes(), rec.len)) % kTopicBuckets];
  rec.hash_next = bucket;
  bucket = topic;
}

Offset PresenceStore::allocate(std::size_t bytes, BlockKind kind, Room room) noexcept {
  return arena_.allocate(bytes, kind,
                         room == Room::keep_reserve ? update_reserve_bytes(h_.arena) : 0);
}

Offset PresenceStore::acquire_topic(std::string_view name, Room room) noexcept {
  if (const Offset t = find_topic(name); t != 0) return t;
  const Offset t = allocate(sizeof(TopicRecord) + name.size(), BlockKind::topic, room);
  if (t == 0) return 0;
  auto& rec = at<TopicRecord>(t);
  rec.len = static_cast<std::uint16_t>(name.size());
  std::memcpy(rec.bytes(), name.data(), name.size());
  link_topic(t);
  return t;
}

void PresenceStore::drop_topic_if_unused(Offset topic) noexcept {
  auto& rec = at<TopicRecord>(topic);
  if (rec.refs != 0) return;
  Offset* link = &h_.topic_buckets[topic_hash(bytes_of(rec.bytes(), rec.len)) % kTopicBuckets];
  while (*link != topic) link = &at<TopicRecord>(*link).hash_next;
  *link = rec.hash_next;
  arena_.release(topic);
}

void PresenceStore::link_key_record(Offset key) noexcept {
  auto& rec = at<KeyRecord>(key);
  auto* buckets = reinterpret_cast<Offset*>(base_ + h_.key_buckets);
  rec.hash_next = buckets[rec.hash & h_.key_mask];
  buckets[rec.hash & h_.key_mask] = key;
  auto& topic = at<TopicRecord>(rec.topic);
  rec.topic_prev = 0;
  rec.topic_next = topic.key_head;
  if (topic.key_head != 0) at<KeyRecord>(topic.key_head).topic_prev = key;
  topic.key_head = key;
}

Offset PresenceStore::acquire_key(Offset topic, std::string_view key, Room room) noexcept {
  if (const Offset k = find_key(topic, key); k != 0) return k;
  const Offset k = allocate(sizeof(KeyRecord) + key.size(), BlockKind::key, room);
  if (k == 0) return 0;
  auto& rec = at<KeyRecord>(k);
  rec.topic = topic;
  rec.hash = key_hash(topic, key);
  rec.len = static_cast<std::uint16_t>(key.size());
  std::memcpy(rec.bytes(), key.data(), key.size());
  link_key_record(k);
  ++at<TopicRecord>(topic).refs;
  ++h_.keys;
  return k;
}

void PresenceStore::drop_key_if_unused(Offset key) noexcept {
  auto& rec = at<KeyRecord>(key);
  if (rec.metas != 0) return;
  auto* buckets = reinterpret_cast<Offset*>(base_ + h_.key_buckets);
  Offset* link = &buckets[rec.hash & h_.key_mask];
  while (*link != key) link = &at<KeyRecord>(*link).hash_next;
  *link = rec.hash_next;
  auto& topic = at<TopicRecord>(rec.topic);
  if (rec.topic_prev != 0) {
    at<KeyRecord>(rec.topic_prev).topic_next = rec.topic_next;
  } else {
    topic.key_head = rec.topic_next;
  }
  if (rec.topic_next != 0) at<KeyRecord>(rec.topic_next).topic_prev = rec.topic_prev;
  const Offset topic_off = rec.topic;
  arena_.release(key);
  --h_.keys;
  --topic.refs;
  drop_topic_if_unused(topic_off);
}

void PresenceStore::link_intern(Offset off) noexcept {
  auto& rec = at<InternRecord>(off);
  auto* buckets = reinterpret_cast<Offset*>(base_ + h_.intern_buckets);
  rec.hash_next = buckets[rec.hash & h_.intern_mask];
  buckets[rec.hash & h_.intern_mask] = off;
  auto& topic = at<TopicRecord>(rec.topic);
  Offset& head = rec.kind == InternKind::page ? topic.page_head : topic.item_head;
  rec.list_prev = 0;
  rec.list_next = head;
  if (head != 0) at<InternRecord>(head).list_prev = off;
  head = off;
  ++topic.strings;
  topic.string_bytes += rec.len;
}

Offset PresenceStore::acquire_intern(Offset topic, InternKind kind, std::string_view bytes,
                                     std::uint8_t split, Room room) noexcept {
  const std::uint32_t hash = intern_hash(topic, kind, bytes);
  auto* buckets = reinterpret_cast<Offset*>(base_ + h_.intern_buckets);
  for (Offset r = buckets[hash & h_.intern_mask]; r != 0; r = at<InternRecord>(r).hash_next) {
    auto& rec = at<InternRecord>(r);
    if (rec.hash == hash && rec.topic == topic && rec.kind == kind && rec.split == split &&
        bytes_of(rec.bytes(), rec.len) == bytes) {
      ++rec.refs;
      return r;
    }
  }
  if (h_.strings >= string_limit_) {
    string_refusal_ = TrackError::strings_full;
    return 0;
  }
  const Offset r = allocate(sizeof(InternRecord) + bytes.size(), BlockKind::interned, room);
  if (r == 0) return 0;
  ++h_.strings;
  auto& rec = at<InternRecord>(r);
  rec.topic = topic;
  rec.refs = 1;
  rec.hash = hash;
  rec.kind = kind;
  rec.split = split;
  rec.len = static_cast<std::uint16_t>(bytes.size());
  std::memcpy(rec.bytes(), bytes.data(), bytes.size());
  link_intern(r);
  ++at<TopicRecord>(topic).refs;
  return r;
}

void PresenceStore::release_intern(Offset off) noexcept {
  auto& rec = at<InternRecord>(off);
  if (--rec.refs != 0) return;
  auto* buckets = reinterpret_cast<Offset*>(base_ + h_.intern_buckets);
  Offset* link = &buckets[rec.hash & h_.intern_mask];
  while (*link != off) link = &at<InternRecord>(*link).hash_next;
  *link = rec.hash_next;
  auto& topic = at<TopicRecord>(rec.topic);
  Offset& head = rec.kind == InternKind::page ? topic.page_head : topic.item_head;
  if (rec.list_prev != 0) {
    at<InternRecord>(rec.list_prev).list_next = rec.list_next;
  } else {
    head = rec.list_next;
  }
  if (rec.list_next != 0) at<InternRecord>(rec.list_next).list_prev = rec.list_prev;
  --topic.strings;
  topic.string_bytes -= rec.len;
  const Offset topic_off = rec.topic;
  arena_.release(off);
  --h_.strings;
  --topic.refs;
  drop_topic_if_unused(topic_off);
}

void PresenceStore::release_parts(Offset topic, Offset key, Offset page, const ItemRef* items,
                                  std::size_t count) noexcept {
  // The topic stays referenced by the key (or the interned strings) until the last release.
  auto& topic_rec = at<TopicRecord>(topic);
  ++topic_rec.refs;
  for (std::size_t i = 0; i < count; ++i) release_intern(items[i].item);
  if (page != 0) release_intern(page);
  if (key != 0) drop_key_if_unused(key);
  --topic_rec.refs;
  drop_topic_if_unused(topic);
}

void PresenceStore::link_lineage(Offset meta) noexcept {
  auto& m = at<MetaRecord>(meta);
  auto* buckets = reinterpret_cast<Offset*>(base_ + h_.lineage_buckets);
  Offset& bucket = buckets[lineage_hash(m.replica, m.lineage) & h_.lineage_mask];
  m.lineage_next = bucket;
  bucket = meta;
}

void PresenceStore::link_replica(Offset meta) noexcept {
  auto& m = at<MetaRecord>(meta);
  auto& r = h_.replicas[m.replica];
  m.replica_next = 0;
  m.replica_prev = r.meta_tail;
  if (r.meta_tail != 0) {
    at<MetaRecord>(r.meta_tail).replica_next = meta;
  } else {
    r.meta_head = meta;
  }
  r.meta_tail = meta;
  ++r.metas;
  // A down replica's hidden metas still show as its node's connections.
  if (r.state == ReplicaState::down) bump_stats_version();
}

void PresenceStore::link_owner(Offset meta) noexcept {
  auto& m = at<MetaRecord>(meta);
  if (m.owner == 0) return;
  auto& o = h_.owners[m.owner - 1u];
  m.owner_prev = 0;
  m.owner_next = o.head;
  if (o.head != 0) at<MetaRecord>(o.head).owner_prev = meta;
  o.head = meta;
  ++o.metas;
}

void PresenceStore::link_key(Offset meta) noexcept {
  auto& m = at<MetaRecord>(meta);
  auto& key = at<KeyRecord>(m.key);
  const std::uint64_t tag = tag_of(m);
  Offset prev = 0;
  Offset next = key.meta_head;
  while (next != 0 && more_recent(at<MetaRecord>(next), tag_of(at<MetaRecord>(next)), m, tag)) {
    prev = next;
    next = at<MetaRecord>(next).key_next;
  }
  m.key_prev = prev;
  m.key_next = next;
  if (prev != 0) {
    at<MetaRecord>(prev).key_next = meta;
  } else {
    key.meta_head = meta;
  }
  if (next != 0) at<MetaRecord>(next).key_prev = meta;
  ++key.metas;
}

Offset PresenceStore::cart_of(const KeyRecord& key) noexcept {
  for (Offset m = key.meta_head; m != 0; m = at<MetaRecord>(m).key_next) {
    if ((at<BlockHeader>(m).flags & kMetaVisible) != 0) return m;
  }
  return 0;
}

void PresenceStore::add_cart(Offset meta, bool add) noexcept {
  auto& m = at<MetaRecord>(meta);
  const ItemRef* items = m.items();
  for (std::size_t i = 0; i < m.item_count; ++i) {
    auto& item = at<InternRecord>(items[i].item);
    item.count = add ? item.count + items[i].qty : item.count - items[i].qty;
  }
}

void PresenceStore::count_visible(Offset meta, bool add) noexcept {
  auto& m = at<MetaRecord>(meta);
  auto& key = at<KeyRecord>(m.key);
  auto& topic = at<TopicRecord>(key.topic);
  const std::uint64_t bytes = record_size(m);
  if (add) {
    ++topic.connections;
    topic.listing_bytes += bytes;
    if (key.visible++ == 0) ++topic.shoppers;
    if (m.page != 0) ++at<InternRecord>(m.page).count;
  } else {
    --topic.connections;
    topic.listing_bytes -= bytes;
    if (--key.visible == 0) --topic.shoppers;
    if (m.page != 0) --at<InternRecord>(m.page).count;
  }
}

void PresenceStore::set_visible(Offset meta, bool visible) noexcept {
  auto& block = at<BlockHeader>(meta);
  if (((block.flags & kMetaVisible) != 0) == visible) return;
  auto& key = at<KeyRecord>(at<MetaRecord>(meta).key);
  const Offset old_cart = cart_of(key);
  block.flags =
      static_cast<std::uint8_t>(visible ? block.flags | kMetaVisible : block.flags & ~kMetaVisible);
  count_visible(meta, visible);
  const Offset new_cart = cart_of(key);
  if (old_cart != new_cart) {
    if (old_cart != 0) add_cart(old_cart, false);
    if (new_cart != 0) add_cart(new_cart, true);
  }
  log_change(visible ? ChangeKind::join : ChangeKind::leave, meta);
  bump_stats_version();
}

bool PresenceStore::acquire_strings(Offset topic, const CartMeta& meta, Room room, Offset* page,
                                    ItemRef* items, std::size_t* acquired) noexcept {
  *page = 0;
  *acquired = 0;
  if (!meta.page.empty()) {
    *page = acquire_intern(topic, InternKind::page, meta.page, 0, room);
    if (*page == 0) return false;
  }
  char pair[kMaxProductBytes + kMaxSizeBytes];
  while (*acquired < meta.items.size()) {
    const CartItem& item = meta.items[*acquired];
    std::memcpy(pair, item.product.data(), item.product.size());
    std::memcpy(pair + item.product.size(), item.size.data(), item.size.size());
    ItemRef& ref = items[*acquired];
    ref.qty = item.qty;
    ref.item = acquire_intern(topic, InternKind::item,
                              std::string_view(pair, item.product.size() + item.size.size()),
                              static_cast<std::uint8_t>(item.product.size()), room);
    if (ref.item == 0) return false;
    ++*acquired;
  }
  return true;
}

void PresenceStore::write_meta(Offset meta_off, Offset key, Offset page, const ItemRef* items,
                               std::size_t count, const NewMeta& fields) noexcept {
  auto& m = at<MetaRecord>(meta_off);
  m.clock = fields.clock;
  m.prev_clock = fields.prev_clock;
  m.lineage = fields.lineage;
  m.page_loaded_at_ms = fields.page_loaded_at_ms;
  m.updated_at_ms = fields.updated_at_ms;
  m.conn = fields.conn;
  m.key = key;
  m.page = page;
  m.replica = fields.replica;
  m.owner = fields.owner;
  m.item_count = static_cast<std::uint16_t>(count);
  std::memcpy(m.items(), items, count * sizeof(ItemRef));
  // A new generation: handles of the previous version no longer resolve.
  auto& block = at<BlockHeader>(meta_off);
  block.aux = static_cast<std::uint32_t>(++h_.handle_stamp);
  if (block.aux == 0) block.aux = static_cast<std::uint32_t>(++h_.handle_stamp);
}

TrackError PresenceStore::insert(std::string_view topic, std::string_view key, const CartMeta& meta,
                                 const NewMeta& fields, bool show, bool replacing, Offset* out,
                                 Room room) noexcept {
  const Offset t = acquire_topic(topic, room);
  if (t == 0) return TrackError::region_full;
  ++at<TopicRecord>(t).refs;  // held while the parts are gathered
  ItemRef items[kMaxItems];
  std::size_t acquired = 0;
  Offset page = 0;
  Offset meta_off = 0;
  TrackError error = TrackError::region_full;
  const Offset k = acquire_key(t, key, room);
  if (k != 0) {
    if (at<KeyRecord>(k).metas >= kMaxMetasPerKey + (replacing ? 1u : 0u)) {
      error = TrackError::key_full;
    } else if (acquire_strings(t, meta, room, &page, items, &acquired)) {
      meta_off = allocate(sizeof(MetaRecord) + acquired * sizeof(ItemRef), BlockKind::meta, room);
    }
  }
  --at<TopicRecord>(t).refs;
  if (meta_off == 0) {
    release_parts(t, k, page, items, acquired);
    if (string_refusal_ != TrackError::none)
      error = std::exchange(string_refusal_, TrackError::none);
    return error;
  }
  write_meta(meta_off, k, page, items, acquired, fields);
  at<BlockHeader>(meta_off).flags = kMetaCommitted;
  crash_point(CrashPoint::meta_committed);
  link_lineage(meta_off);
  link_replica(meta_off);
  link_owner(meta_off);
  link_key(meta_off);
  ++h_.metas;
  if (show && h_.replicas[fields.replica].state == ReplicaState::up) set_visible(meta_off, true);
  *out = meta_off;
  return TrackError::none;
}

TrackError PresenceStore::replace(Offset old, const CartMeta& meta, const NewMeta& fields,
                                  Offset* out) noexcept {
  auto& m = at<MetaRecord>(old);
  const Offset k = m.key;
  auto& key = at<KeyRecord>(k);
  const Offset t = key.topic;
  const std::size_t block = std::size_t{at<BlockHeader>(old).granules} * kGranule;
  if (sizeof(MetaRecord) + meta.items.size() * sizeof(ItemRef) > block) {
    // A larger block: stored hidden beside the old version, which then leaves.
    auto& topic = at<TopicRecord>(t);
    Offset next = 0;
    const TrackError err = insert({topic.bytes(), topic.len}, {key.bytes(), key.len}, meta, fields,
                                  false, true, &next, Room::use_reserve);
    if (err != TrackError::none) return err;
    remember_removal(fields.clock, m);
    remove(old);
    set_visible(next, true);
    *out = next;
    return TrackError::none;
  }
  ItemRef items[kMaxItems];
  std::size_t acquired = 0;
  Offset page = 0;
  if (!acquire_strings(t, meta, Room::use_reserve, &page, items, &acquired)) {
    release_parts(t, 0, page, items, acquired);
    if (string_refusal_ != TrackError::none)
      return std::exchange(string_refusal_, TrackError::none);
    return TrackError::region_full;
  }
  const Offset old_page = m.page;
  ItemRef old_items[kMaxItems];
  const std::size_t old_count = m.item_count;
  std::memcpy(old_items, m.items(), old_count * sizeof(ItemRef));
  remember_removal(fields.clock, m);
  set_visible(old, false);
  // Uncommitted while rewritten: a crash from here on drops the meta for good.
  at<BlockHeader>(old).flags = 0;
  unlink_replica(old);
  unlink_key(old);
  write_meta(old, k, page, items, acquired, fields);
  at<BlockHeader>(old).flags = kMetaCommitted;
  link_replica(old);
  link_key(old);
  release_parts(t, 0, old_page, old_items, old_count);
  set_visible(old, true);
  *out = old;
  return TrackError::none;
}

void PresenceStore::unlink_replica(Offset meta) noexcept {
  auto& m = at<MetaRecord>(meta);
  auto& r = h_.replicas[m.replica];
  if (m.replica_prev != 0) {
    at<MetaRecord>(m.replica_prev).replica_next = m.replica_next;
  } else {
    r.meta_head = m.replica_next;
  }
  if (m.replica_next != 0) {
    at<MetaRecord>(m.replica_next).replica_prev = m.replica_prev;
  } else {
    r.meta_tail = m.replica_prev;
  }
  --r.metas;
  if (r.state == ReplicaState::down) bump_stats_version();
}

void PresenceStore::unlink_key(Offset meta) noexcept {
  auto& m = at<MetaRecord>(meta);
  auto& key = at<KeyRecord>(m.key);
  if (m.key_prev != 0) {
    at<MetaRecord>(m.key_prev).key_next = m.key_next;
  } else {
    key.meta_head = m.key_next;
  }
  if (m.key_next != 0) at<MetaRecord>(m.key_next).key_prev = m.key_prev;
  --key.metas;
}

void PresenceStore::unlink_meta(Offset meta) noexcept {
  auto& m = at<MetaRecord>(meta);
  auto* buckets = reinterpret_cast<Offset*>(base_ + h_.lineage_buckets);
  Offset* link = &buckets[lineage_hash(m.replica, m.lineage) & h_.lineage_mask];
  while (*link != meta) link = &at<MetaRecord>(*link).lineage_next;
  *link = m.lineage_next;
  unlink_replica(meta);
  if (m.owner != 0) {
    auto& o = h_.owners[m.owner - 1u];
    if (m.owner_prev != 0) {
      at<MetaRecord>(m.owner_prev).owner_next = m.owner_next;
    } else {
      o.head = m.owner_next;
    }
    if (m.owner_next != 0) at<MetaRecord>(m.owner_next).owner_prev = m.owner_prev;
    if (--o.metas == 0) o = OwnerSlot{};
  }
  unlink_key(meta);
  --h_.metas;
}

void PresenceStore::remove(Offset meta) noexcept {
  auto& m = at<MetaRecord>(meta);
  set_visible(meta, false);
  // Uncommitted first: a crash from here on drops the meta for good.
  at<BlockHeader>(meta).flags = 0;
  unlink_meta(meta);
  crash_point(CrashPoint::meta_unlinked);
  const Offset topic = at<KeyRecord>(m.key).topic;
  release_parts(topic, m.key, m.page, m.items(), m.item_count);
  arena_.release(meta);
}

std::size_t PresenceStore::record_size(const MetaRecord& m) noexcept {
  auto& key = at<KeyRecord>(m.key);
  std::size_t bytes = sizeof(RecordHead) + at<TopicRecord>(key.topic).len + key.len;
  if (m.page != 0) bytes += at<InternRecord>(m.page).len;
  const ItemRef* items = const_cast<MetaRecord&>(m).items();
  for (std::size_t i = 0; i < m.item_count; ++i) {
    bytes += kItemHeadBytes + at<InternRecord>(items[i].item).len;
  }
  return bytes;
}

void PresenceStore::log_change(ChangeKind kind, Offset meta) noexcept {
  const auto& m = at<MetaRecord>(meta);
  log_.append(record_size(m),
              [&](RingSink& sink, std::uint64_t seq) { write_record(m, kind, seq, sink); });
}

void PresenceStore::remember_removal(std::uint64_t event_clock, const MetaRecord& m) noexcept {
  auto* tombs = reinterpret_cast<Tombstone*>(base_ + h_.tombs);
  Tombstone& slot = tombs[h_.tomb_count % h_.tomb_capacity];
  if (h_.tomb_count >= h_.tomb_capacity) h_.tomb_floor = std::max(h_.tomb_floor, slot.event_clock);
  slot = Tombstone{event_clock, m.clock, m.lineage};
  ++h_.tomb_count;
}

void PresenceStore::bump_stats_version() noexcept {
  std::atomic_ref<std::uint64_t>(h_.stats_version).fetch_add(1, std::memory_order_release);
}

}  // namespace presence::shm
