// In-region operations on the tracker's records, called with the lock held:
// interning, meta insertion and removal, visibility, aggregates, the change log
// and the tombstone log. Every step is bounded and allocates no process memory.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "change_log.hpp"
#include "presence/tracker_types.hpp"
#include "tracker_layout.hpp"

namespace presence::shm {

inline constexpr std::uint8_t kMetaVisible = 2;

// The most arena room one update can take: a meta block with every item, and
// a new string for its page and for each item.
inline constexpr std::size_t kMaxUpdateBytes =
    Arena::block_bytes(sizeof(MetaRecord) + kMaxItems * sizeof(ItemRef)) +
    Arena::block_bytes(sizeof(InternRecord) + kMaxPageBytes) +
    kMaxItems * Arena::block_bytes(sizeof(InternRecord) + kMaxProductBytes + kMaxSizeBytes);
static_assert(Arena::block_bytes(sizeof(MetaRecord) + kMaxItems * sizeof(ItemRef)) <=
              kMaxBlockBytes);
// Worst-case updates the reserve holds at least, and its share of the arena.
inline constexpr std::size_t kReservedUpdates = 4;
inline constexpr std::size_t kReserveShareDivisor = 64;

// Fresh arena room new metas leave untouched, so that shoppers already online
// can still change their page and cart when the zone is full.
inline std::size_t update_reserve_bytes(const ArenaState& a) noexcept {
  const std::size_t arena = a.end - a.begin;
  return std::min(std::max(kReservedUpdates * kMaxUpdateBytes, arena / kReserveShareDivisor),
                  arena / 4);
}

// Whether an allocation may take the update reserve.
enum class Room { keep_reserve, use_reserve };

// Deterministic "most recently updated first" order of a key's metas.
bool more_recent(const MetaRecord& a, std::uint64_t a_tag, const MetaRecord& b,
                 std::uint64_t b_tag) noexcept;

class PresenceStore {
 public:
  explicit PresenceStore(std::byte* base) noexcept
      : base_(base),
        h_(*reinterpret_cast<Header*>(base)),
        arena_(base, h_.arena),
        log_(base, h_.log) {}

  Header& header() noexcept { return h_; }
  Arena& arena() noexcept { return arena_; }
  ChangeLog& log() noexcept { return log_; }
  std::byte* base() noexcept { return base_; }
  template <class T>
  T& at(Offset off) const noexcept {
    return *reinterpret_cast<T*>(base_ + off);
  }

  struct NewMeta {
    std::uint16_t replica;
    std::uint16_t owner;  // slot + 1, 0 for remote
    std::uint64_t conn;
    std::uint64_t clock;
    std::uint64_t prev_clock;
    std::uint64_t lineage;
    std::int64_t page_loaded_at_ms;
    std::int64_t updated_at_ms;
  };
  // Stores a meta; visible when its replica is up (and `show` is set): then
  // counted and logged as a join. `replacing` lets an update exceed the key bound by one.
  TrackError insert(std::string_view topic, std::string_view key, const CartMeta& meta,
                    const NewMeta& fields, bool show, bool replacing, Offset* out,
                    Room room = Room::keep_reserve) noexcept;
  // A local meta's next version (leave of the old, then join of the new, with
  // the old one's removal remembered at fields.clock). Rewritten in its own
  // block when it fits, so an update needs room only for strings no meta
  // holds yet, or for a larger block; that room may come from the reserve.
  TrackError replace(Offset old, const CartMeta& meta, const NewMeta& fields, Offset* out) noexcept;
  // Removes a meta, logging a leave if it was visible.
  void remove(Offset meta) noexcept;
  void set_visible(Offset meta, bool visible) noexcept;

  Offset find_topic(std::string_view name) noexcept;
  Offset find_key(Offset topic, std::string_view key) noexcept;
  Offset find_lineage(std::uint16_t replica, std::uint64_t lineage) noexcept;
  // The live meta a handle names, or 0.
  Offset resolve(MetaHandle handle) noexcept;
  MetaHandle handle_of(Offset meta) noexcept;

  // Owner slots: find or claim (returns slot + 1, 0 when all are taken).
  std::uint16_t claim_owner(const ProcessIdentity& process) noexcept;
  std::uint16_t find_owner(const ProcessIdentity& process) noexcept;

  std::uint64_t tag_of(const MetaRecord& m) noexcept { return h_.replicas[m.replica].tag; }
  std::size_t record_size(const MetaRecord& m) noexcept;
  template <class Sink>
  void write_record(const MetaRecord& m, ChangeKind kind, std::uint64_t seq, Sink& sink) noexcept;
  void remember_removal(std::uint64_t event_clock, const MetaRecord& m) noexcept;
  void bump_stats_version() noexcept;

  // Linking used by insert and by the repair rebuild.
  void link_lineage(Offset meta) noexcept;
  void link_replica(Offset meta) noexcept;
  void link_owner(Offset meta) noexcept;
  void link_key(Offset meta) noexcept;
  void link_intern(Offset rec) noexcept;
  void link_key_record(Offset key) noexcept;
  void link_topic(Offset topic) noexcept;
  Offset cart_of(const KeyRecord& key) noexcept;
  void add_cart(Offset meta, bool add) noexcept;
  void count_visible(Offset meta, bool add) noexcept;

  std::uint32_t intern_hash(Offset topic, InternKind kind, std::string_view bytes) noexcept;
  std::uint32_t key_hash(Offset topic, std::string_view key) noexcept;
  std::uint32_t topic_hash(std::string_view name) noexcept;
  std::uint64_t lineage_hash(std::uint16_t replica, std::uint64_t lineage) noexcept;

  // Inserts of this store refuse a new string once the region holds `max`
  // (local metas; a peer's are bounded by its own cap).
  void limit_strings(std::uint64_t max) noexcept { string_limit_ = max; }

 private:
  Offset allocate(std::size_t bytes, BlockKind kind, Room room) noexcept;
  Offset acquire_topic(std::string_view name, Room room) noexcept;
  void drop_topic_if_unused(Offset topic) noexcept;
  Offset acquire_key(Offset topic, std::string_view key, Room room) noexcept;
  void drop_key_if_unused(Offset key) noexcept;
  Offset acquire_intern(Offset topic, InternKind kind, std::string_view bytes, std::uint8_t split,
                        Room room) noexcept;
  // The interned page and items of `meta`, referenced once more each; false
  // (with what was acquired in *page, items, *acquired) when the arena is full.
  bool acquire_strings(Offset topic, const CartMeta& meta, Room room, Offset* page, ItemRef* items,
                       std::size_t* acquired) noexcept;
  void write_meta(Offset meta_off, Offset key, Offset page, const ItemRef* items, std::size_t count,
                  const NewMeta& fields) noexcept;
  void release_intern(Offset rec) noexcept;
  void release_parts(Offset topic, Offset key, Offset page, const ItemRef* items,
                     std::size_t count) noexcept;
  void unlink_meta(Offset meta) noexcept;
  void unlink_replica(Offset meta) noexcept;
  void unlink_key(Offset meta) noexcept;
  void log_change(ChangeKind kind, Offset meta) noexcept;

  std::byte* base_;
  Header& h_;
  Arena arena_;
  ChangeLog log_;
  std::uint64_t string_limit_ = UINT64_MAX;
  TrackError string_refusal_ = TrackError::none;
};

template <class Sink>
void PresenceStore::write_record(const MetaRecord& m, ChangeKind kind, std::uint64_t seq,
                                 Sink& sink) noexcept {
  auto& key = at<KeyRecord>(m.key);
  auto& topic = at<TopicRecord>(key.topic);
  RecordHead head{};
  head.bytes = static_cast<std::uint32_t>(record_size(m));
  head.kind = kind == ChangeKind::join ? 0 : 1;
  head.topic_len = topic.len;
  head.key_len = key.len;
  head.page_len = m.page != 0 ? at<InternRecord>(m.page).len : 0;
  head.item_count = m.item_count;
  head.seq = seq;
  head.tag = tag_of(m);
  head.clock = m.clock;
  head.prev_clock = m.prev_clock;
  head.lineage = m.lineage;
  head.page_loaded_at_ms = m.page_loaded_at_ms;
  head.updated_at_ms = m.updated_at_ms;
  sink.put(&head, sizeof head);
  sink.put(topic.bytes(), topic.len);
  sink.put(key.bytes(), key.len);
  if (m.page != 0) sink.put(at<InternRecord>(m.page).bytes(), head.page_len);
  const ItemRef* items = const_cast<MetaRecord&>(m).items();
  for (std::size_t i = 0; i < m.item_count; ++i) {
    auto& item = at<InternRecord>(items[i].item);
    const std::uint8_t item_head[kItemHeadBytes] = {
        item.split, static_cast<std::uint8_t>(item.len - item.split),
        static_cast<std::uint8_t>(items[i].qty)};
    sink.put(item_head, sizeof item_head);
    sink.put(item.bytes(), item.len);
  }
}

}  // namespace presence::shm
