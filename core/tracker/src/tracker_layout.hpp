// The tracker's records inside the shared region. Everything here is
// position-independent (offsets from the region base) and trivially copyable.
// Primary records are the metas; everything else (indexes, lists, counters,
// free lists) is derived and can be rebuilt from them after a crash.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "hash.hpp"
#include "presence/history.hpp"
#include "presence/replica.hpp"
#include "presence/shm_region.hpp"
#include "presence/tracker_types.hpp"

namespace presence::shm {

inline constexpr std::uint64_t kRegionMagic = 0x5345524e50584e47ull;  // "GNXPNRES"
// 2: activity totals, the history rings, owners known by pid and start time,
// a keyed string hash and the string cap.
inline constexpr std::uint32_t kLayoutVersion = 2;
inline constexpr std::size_t kTopicBuckets = 64;
// Sizing guess used to dimension the hash tables from the region size.
inline constexpr std::size_t kEstimatedBytesPerPresence = 224;
inline constexpr std::size_t kMinArenaBytes = 64 * 1024;
// The change log index has one slot per this many ring bytes (smallest record).
inline constexpr std::size_t kChangeIndexBytesPerSlot = 64;
inline constexpr std::uint16_t kLocalReplica = 0;

// Block flag of a meta whose fields are all written: only committed metas
// survive a repair.
inline constexpr std::uint8_t kMetaCommitted = 1;

enum class InternKind : std::uint8_t { page = 1, item = 2 };

struct ItemRef {
  Offset item;  // InternRecord of kind item (product + size)
  std::uint32_t qty;
};

struct MetaRecord {
  BlockHeader block;  // aux = handle generation
  std::uint64_t clock;
  std::uint64_t prev_clock;
  std::uint64_t lineage;
  std::int64_t page_loaded_at_ms;
  std::int64_t updated_at_ms;
  std::uint64_t conn;
  Offset key;
  Offset page;  // 0: no page
  Offset key_next, key_prev;
  Offset owner_next, owner_prev;
  Offset replica_next, replica_prev;
  Offset lineage_next;
  std::uint16_t replica;
  std::uint16_t owner;  // owner slot + 1; 0 for remote metas
  std::uint16_t item_count;
  std::uint16_t reserved;
  ItemRef* items() noexcept { return reinterpret_cast<ItemRef*>(this + 1); }
};
static_assert(std::is_trivially_copyable_v<MetaRecord> && sizeof(MetaRecord) % 8 == 0);

struct KeyRecord {
  BlockHeader block;
  Offset hash_next;
  Offset topic;
  Offset topic_next, topic_prev;
  Offset meta_head;  // most recently updated first
  std::uint32_t hash;
  std::uint16_t metas;
  std::uint16_t visible;
  std::uint16_t len;
  char* bytes() noexcept { return reinterpret_cast<char*>(this + 1); }
};
static_assert(std::is_trivially_copyable_v<KeyRecord>);

struct TopicRecord {
  BlockHeader block;
  Offset hash_next;
  std::uint32_t refs;  // keys + interned strings of the topic
  Offset key_head;
  Offset page_head;
  Offset item_head;
  std::uint32_t strings;       // interned strings of the topic (pages and items)
  std::uint64_t string_bytes;  // their bytes: the stats copy is sized without a walk
  std::uint64_t shoppers;
  std::uint64_t connections;
  std::uint64_t listing_bytes;  // serialized size of its visible metas
  std::uint16_t len;
  char* bytes() noexcept { return reinterpret_cast<char*>(this + 1); }
};
static_assert(std::is_trivially_copyable_v<TopicRecord>);

// A string shared by metas of one topic: a page (count = open connections) or
// a (product, size) pair (count = quantity in active carts).
struct InternRecord {
  BlockHeader block;
  Offset hash_next;
  Offset topic;
  Offset list_next, list_prev;
  std::uint32_t refs;
  std::uint32_t hash;
  std::uint64_t count;
  InternKind kind;
  std::uint8_t split;  // item: bytes of the product, then the size
  std::uint16_t len;
  char* bytes() noexcept { return reinterpret_cast<char*>(this + 1); }
};
static_assert(std::is_trivially_copyable_v<InternRecord>);

struct OwnerSlot {
  std::uint32_t pid;  // 0: free
  Offset head;
  std::uint64_t start_time;  // with the pid, names the process (a reused pid is another owner)
  std::uint64_t metas;
};
static_assert(std::is_trivially_copyable_v<OwnerSlot>);

struct CloudRangeRecord {
  std::uint64_t first, last;
};

struct ReplicaSlot {
  ReplicaState state;  // 0: unused slot
  std::uint8_t name_len;
  std::uint16_t cloud_len;
  Offset meta_head;  // the local replica's list is in clock order
  Offset meta_tail;
  std::uint32_t reserved;
  std::uint64_t generation;
  std::uint64_t tag;    // hash of name and generation, rendered in phx_refs
  std::uint64_t clock;  // every clock <= this one is seen
  std::uint64_t metas;
  std::array<char, kMaxNodeNameBytes> name;
  std::array<CloudRangeRecord, kMaxCloudRanges> cloud;
};
static_assert(std::is_trivially_copyable_v<ReplicaSlot>);

struct Tombstone {
  std::uint64_t event_clock;
  std::uint64_t removed_clock;
  std::uint64_t lineage;
};
static_assert(std::is_trivially_copyable_v<Tombstone>);

// A byte ring of serialized change records; index[seq % slots] = record position.
struct ChangeLogState {
  Offset index;
  std::uint32_t index_slots;
  Offset ring;
  std::uint32_t ring_bytes;
  std::uint64_t head_seq;  // atomic: last appended seq
  std::uint64_t tail_seq;  // oldest seq still held (head_seq + 1 when empty)
  std::uint64_t head_pos;  // monotonic byte positions
  std::uint64_t tail_pos;
};
static_assert(std::is_trivially_copyable_v<ChangeLogState>);

struct Header {
  std::uint64_t magic;
  std::uint32_t layout_version;
  std::uint32_t op_in_progress;  // set after locking, cleared before unlocking
  std::uint64_t region_bytes;
  std::uint64_t stats_version;  // atomic
  std::uint64_t handle_stamp;
  Offset key_buckets;
  std::uint32_t key_mask;
  Offset lineage_buckets;
  std::uint32_t lineage_mask;
  Offset intern_buckets;
  std::uint32_t intern_mask;
  HashKey hash_key;       // random per region, so bucket chains cannot be aimed at
  std::uint64_t strings;  // interned strings held (pages, product-size pairs)
  std::uint64_t track_failures_strings;
  std::array<Offset, kTopicBuckets> topic_buckets;
  ArenaState arena;
  ChangeLogState log;
  Offset tombs;
  std::uint32_t tomb_capacity;
  std::uint64_t tomb_count;  // appended ever; entry i at tombs[i % capacity]
  std::uint64_t tomb_floor;  // removals with event clock <= floor may be forgotten
  std::uint64_t metas;
  std::uint64_t keys;
  std::uint64_t track_failures_full;
  ActivityTotals activity;  // primary, like the metas: never rebuilt by a repair
  HistoryState history;
  std::uint64_t repairs;
  std::array<OwnerSlot, kMaxOwnerPids> owners;
  std::array<ReplicaSlot, kMaxReplicas> replicas;
};
static_assert(std::is_trivially_copyable_v<Header>);

}  // namespace presence::shm
