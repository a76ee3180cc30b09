// Tracker lifecycle (format / attach) and the writes of local presences.
#include "presence/tracker.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstring>

#include "meta_bounds.hpp"
#include "presence/catalog.hpp"
#include "presence/crash_hook.hpp"
#include "presence/phx_ref.hpp"
#include "presence/sodium_ready.hpp"
#include "presence_store.hpp"
#include "tracker_lock.hpp"

namespace presence {

using shm::Offset;
using shm::PresenceStore;

namespace testing {
namespace {
CrashHook g_crash_hook = nullptr;
}
void set_crash_hook(CrashHook hook) noexcept {
  g_crash_hook = hook;
}
}  // namespace testing

void shm::crash_point(CrashPoint point) noexcept {
  if (testing::g_crash_hook != nullptr) testing::g_crash_hook(static_cast<int>(point));
}

namespace {

constexpr std::size_t kAlign = 16;

std::size_t align_up(std::size_t n) {
  return (n + kAlign - 1) / kAlign * kAlign;
}

struct Layout {
  std::size_t key_buckets, lineage_buckets, intern_buckets, tombs, log_index, log_ring, arena;
  std::size_t history_seconds, history_minutes;
  std::uint32_t key_count, intern_count, index_slots;
  std::size_t arena_end;
};

std::size_t pow2_at_least(std::size_t n) {
  return std::bit_ceil(std::max<std::size_t>(n, 64));
}

// Places the tables, logs and arena; false when `size` cannot hold them.
bool plan_layout(std::size_t size, const TrackerConfig& cfg, Layout* out) {
  const std::size_t log_bytes = cfg.change_log_bytes;
  Layout l{};
  l.index_slots = static_cast<std::uint32_t>(log_bytes / shm::kChangeIndexBytesPerSlot);
  std::size_t at = align_up(sizeof(shm::Header));
  l.tombs = at;
  at = align_up(at + cfg.tombstone_log_entries * sizeof(shm::Tombstone));
  l.history_seconds = at;
  at = align_up(at + cfg.history_seconds * sizeof(HistorySample));
  l.history_minutes = at;
  at = align_up(at + cfg.history_minutes * sizeof(HistorySample));
  l.log_index = at;
  at = align_up(at + std::size_t{l.index_slots} * sizeof(std::uint64_t));
  l.log_ring = at;
  at = align_up(at + log_bytes);
  if (size < at + shm::kMinArenaBytes) return false;
  const std::size_t presences = (size - at) / shm::kEstimatedBytesPerPresence;
  l.key_count = static_cast<std::uint32_t>(pow2_at_least(presences));
  // One string slot per four presences: room for the distinct pages and
  // product-size pairs of a large store at load factor <= 1 (the default cap).
  l.intern_count = static_cast<std::uint32_t>(pow2_at_least(presences / 4));
  l.key_buckets = at;
  at = align_up(at + std::size_t{l.key_count} * sizeof(Offset));
  l.lineage_buckets = at;
  at = align_up(at + std::size_t{l.key_count} * sizeof(Offset));
  l.intern_buckets = at;
  at = align_up(at + std::size_t{l.intern_count} * sizeof(Offset));
  l.arena = at;
  l.arena_end = size / kAlign * kAlign;
  if (l.arena_end < at + shm::kMinArenaBytes) return false;
  *out = l;
  return true;
}

void format_region(std::byte* base, std::size_t size, const TrackerConfig& cfg, const Layout& l) {
  std::memset(base, 0, l.arena);  // header, logs and tables; arena blocks are zeroed on use
  auto& h = *reinterpret_cast<shm::Header*>(base);
  h.layout_version = shm::kLayoutVersion;
  h.region_bytes = size;
  h.key_buckets = static_cast<Offset>(l.key_buckets);
  h.key_mask = l.key_count - 1;
  h.lineage_buckets = static_cast<Offset>(l.lineage_buckets);
  h.lineage_mask = l.key_count - 1;
  h.intern_buckets = static_cast<Offset>(l.intern_buckets);
  h.intern_mask = l.intern_count - 1;
  randombytes_buf(h.hash_key.data(), h.hash_key.size());
  shm::Arena::format(h.arena, static_cast<Offset>(l.arena), static_cast<Offset>(l.arena_end));
  shm::ChangeLog::format(h.log, static_cast<Offset>(l.log_index), l.index_slots,
                         static_cast<Offset>(l.log_ring),
                         static_cast<std::uint32_t>(cfg.change_log_bytes));
  h.tombs = static_cast<Offset>(l.tombs);
  h.tomb_capacity = static_cast<std::uint32_t>(cfg.tombstone_log_entries);
  History::format(h.history, static_cast<Offset>(l.history_seconds),
                  static_cast<std::uint32_t>(cfg.history_seconds),
                  static_cast<Offset>(l.history_minutes),
                  static_cast<std::uint32_t>(cfg.history_minutes));
  auto& local = h.replicas[shm::kLocalReplica];
  local.state = ReplicaState::up;
  local.name_len = static_cast<std::uint8_t>(cfg.node_name.size());
  std::memcpy(local.name.data(), cfg.node_name.data(), cfg.node_name.size());
  local.generation = cfg.generation;
  local.tag = replica_tag(ReplicaName{cfg.node_name, cfg.generation});
  std::atomic_ref<std::uint64_t>(h.magic).store(shm::kRegionMagic, std::memory_order_release);
}

std::string_view stored_name(const shm::Header& h) {
  const auto& local = h.replicas[shm::kLocalReplica];
  return {local.name.data(), local.name_len};
}

bool fail(std::string* error, const char* why) {
  if (error != nullptr) *error = why;
  return false;
}

std::string_view page_of(PresenceStore& s, const shm::MetaRecord& m) {
  if (m.page == 0) return {};
  auto& page = s.at<shm::InternRecord>(m.page);
  return {page.bytes(), page.len};
}

std::uint64_t qty_of(const shm::MetaRecord& m, Offset item) {
  std::uint64_t qty = 0;
  const shm::ItemRef* items = const_cast<shm::MetaRecord&>(m).items();
  for (std::size_t i = 0; i < m.item_count; ++i) {
    if (item == 0 || items[i].item == item) qty += items[i].qty;
  }
  return qty;
}

// A meta's items as they were before an update rewrote it (possibly in place).
struct ItemsBefore {
  std::array<shm::ItemRef, kMaxItems> items;
  std::size_t count = 0;
};

std::uint64_t qty_in(const shm::ItemRef* items, std::size_t n, Offset item) {
  std::uint64_t qty = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (items[i].item == item) qty += items[i].qty;
  }
  return qty;
}

// Shoes a meta's replacement put into and took out of its cart, netted per
// (product, size): a quantity going from 1 to 2 adds one shoe, not two. The
// new strings are acquired before the old ones are released, so an item
// offset means the same (product, size) before and after.
void count_cart_change(ActivityTotals& totals, const ItemsBefore& before,
                       const shm::MetaRecord& after) {
  const shm::ItemRef* old_items = before.items.data();
  const shm::ItemRef* new_items = const_cast<shm::MetaRecord&>(after).items();
  auto first_in = [](const shm::ItemRef* items, std::size_t n, Offset item) {
    for (std::size_t i = 0; i < n; ++i) {
      if (items[i].item == item) return i;
    }
    return n;
  };
  for (std::size_t i = 0; i < after.item_count; ++i) {
    const Offset item = new_items[i].item;
    if (first_in(new_items, i, item) != i) continue;
    const std::uint64_t now = qty_in(new_items, after.item_count, item);
    const std::uint64_t was = qty_in(old_items, before.count, item);
    if (now > was) totals.cart_added += now - was;
    if (was > now) totals.cart_removed += was - now;
  }
  for (std::size_t i = 0; i < before.count; ++i) {
    const Offset item = old_items[i].item;
    if (first_in(old_items, i, item) != i) continue;
    if (first_in(new_items, after.item_count, item) == after.item_count) {
      totals.cart_removed += qty_in(old_items, before.count, item);
    }
  }
}

// A local track or update refused for lack of room or of string slots is
// counted where /metrics reads it.
void count_refusal(shm::Header& h, TrackError err) {
  if (err == TrackError::region_full) ++h.track_failures_full;
  if (err == TrackError::strings_full) ++h.track_failures_strings;
}

}  // namespace

std::size_t Tracker::min_region_bytes() {
  // The smallest size that holds the smallest change log and the default tombstone log.
  std::size_t too_small = 0;
  std::size_t fits = shm::kMaxRegionBytes;
  while (fits - too_small > 1) {
    const std::size_t mid = too_small + (fits - too_small) / 2;
    Layout l;
    TrackerConfig smallest;
    smallest.change_log_bytes = kMinChangeLogBytes;
    if (plan_layout(mid, smallest, &l)) {
      fits = mid;
    } else {
      too_small = mid;
    }
  }
  return fits;
}

std::size_t Tracker::max_update_bytes() {
  return shm::kMaxUpdateBytes;
}

std::optional<Tracker> Tracker::open(void* region, std::size_t size, LockOps lock,
                                     const TrackerConfig& cfg, bool fresh, std::string* error) {
  auto* base = static_cast<std::byte*>(region);
  Layout l;
  if (base == nullptr || reinterpret_cast<std::uintptr_t>(base) % kAlign != 0) {
    fail(error, "region missing or not 16-byte aligned");
  } else if (lock.lock == nullptr || lock.unlock == nullptr) {
    fail(error, "no lock operations");
  } else if (size > shm::kMaxRegionBytes) {
    fail(error, "region larger than 4 GiB");
  } else if (cfg.node_name.empty() || cfg.node_name.size() > kMaxNodeNameBytes) {
    fail(error, "node name must be 1 to 64 bytes");
  } else if (cfg.change_log_bytes < kMinChangeLogBytes ||
             cfg.change_log_bytes > shm::kMaxRegionBytes / 2) {
    fail(error, "change log size out of range (64 KiB to 2 GiB)");
  } else if (cfg.tombstone_log_entries < kMinTombstoneLogEntries ||
             cfg.tombstone_log_entries > shm::kMaxRegionBytes / sizeof(shm::Tombstone)) {
    fail(error, "tombstone log size out of range");
  } else if (cfg.history_seconds < kMinHistorySeconds || cfg.history_seconds > kMaxHistorySeconds ||
             cfg.history_minutes < kMinHistoryMinutes || cfg.history_minutes > kMaxHistoryMinutes) {
    fail(error,
         "history size out of range (1 minute to 6 hours of seconds, 1 hour to 7 days of "
         "minutes)");
  } else if (cfg.stats_top < 1 || cfg.stats_top > kMaxStatsTop) {
    fail(error, "stats entries out of range (1 to 1000)");
  } else if (cfg.max_strings > kMaxStringsLimit) {
    fail(error, "string cap out of range (at most 16777216)");
  } else if (!presence::sodium_ready()) {
    fail(error, "libsodium failed to initialise (no random source for the hash key)");
  } else if (!plan_layout(size, cfg, &l)) {
    fail(error, "region too small for the change log, the history and the tables");
  } else if (fresh) {
    format_region(base, size, cfg, l);
    return Tracker(base, lock, cfg);
  } else {
    const auto& h = *reinterpret_cast<const shm::Header*>(base);
    if (h.magic != shm::kRegionMagic) {
      fail(error, "region not formatted (bad magic)");
    } else if (h.layout_version != shm::kLayoutVersion) {
      fail(error, "region formatted with another layout version");
    } else if (h.region_bytes != size) {
      fail(error, "region size differs from the formatted one");
    } else if (stored_name(h) != cfg.node_name) {
      fail(error, "node name differs from the one the region was formatted with");
    } else if (h.log.ring_bytes != cfg.change_log_bytes) {
      fail(error, "change log size differs from the one the region was formatted with");
    } else {
      return Tracker(base, lock, cfg);
    }
  }
  return std::nullopt;
}

Tracker::Tracker(std::byte* base, LockOps lock, const TrackerConfig& cfg)
    : base_(base),
      lock_(lock),
      stats_top_(cfg.stats_top),
      max_strings_(cfg.max_strings != 0 ? cfg.max_strings
                                        : header().intern_mask + std::uint64_t{1}),
      catalog_(cfg.catalog) {}

shm::Header& Tracker::header() const noexcept {
  return *reinterpret_cast<shm::Header*>(base_);
}

// What a local meta is refused for before the lock: its bounds, then the
// catalogue.
TrackError Tracker::check_meta(const CartMeta& meta) const {
  if (!shm::within_bounds(meta)) return TrackError::invalid_argument;
  if (catalog_ != nullptr && !catalog_->allows(meta)) return TrackError::not_in_catalog;
  return TrackError::none;
}

TrackResult Tracker::track(std::string_view topic, std::string_view key, const CartMeta& meta,
                           Owner owner, std::int64_t now_ms) {
  if (!shm::within_bounds(topic, key) || owner.pid == 0) {
    return TrackResult{TrackError::invalid_argument, {}, {}};
  }
  if (const TrackError err = check_meta(meta); err != TrackError::none) {
    return TrackResult{err, {}, {}};
  }
  std::uint64_t tag = 0;
  std::uint64_t clock = 0;
  MetaHandle handle;
  {
    shm::Locked locked(base_, lock_);
    PresenceStore s(base_);
    auto& h = s.header();
    const std::uint16_t slot = s.claim_owner(owner.process());
    if (slot == 0) {
      ++h.track_failures_full;
      return TrackResult{TrackError::region_full, {}, {}};
    }
    auto& local = h.replicas[shm::kLocalReplica];
    clock = local.clock + 1;
    const PresenceStore::NewMeta fields{
        shm::kLocalReplica, slot, owner.conn, clock, 0, clock, now_ms, now_ms};
    Offset m = 0;
    s.limit_strings(max_strings_);
    const TrackError err = s.insert(topic, key, meta, fields, true, false, &m);
    if (err != TrackError::none) {
      if (h.owners[slot - 1u].metas == 0) h.owners[slot - 1u] = shm::OwnerSlot{};
      count_refusal(h, err);
      return TrackResult{err, {}, {}};
    }
    local.clock = clock;
    ++h.activity.joins;
    h.activity.cart_added += qty_of(s.at<shm::MetaRecord>(m), 0);
    tag = local.tag;
    handle = s.handle_of(m);
  }
  return TrackResult{TrackError::none, handle, phx_ref_of(tag, clock)};
}

TrackResult Tracker::update(MetaHandle handle, const CartMeta& meta, std::int64_t now_ms) {
  if (const TrackError err = check_meta(meta); err != TrackError::none) {
    return TrackResult{err, {}, {}};
  }
  std::uint64_t tag = 0;
  std::uint64_t clock = 0;
  MetaHandle fresh;
  {
    shm::Locked locked(base_, lock_);
    PresenceStore s(base_);
    auto& h = s.header();
    const Offset old = s.resolve(handle);
    if (old == 0 || s.at<shm::MetaRecord>(old).replica != shm::kLocalReplica) {
      return TrackResult{TrackError::not_found, {}, {}};
    }
    auto& local = h.replicas[shm::kLocalReplica];
    auto& m = s.at<shm::MetaRecord>(old);
    clock = local.clock + 1;
    const bool same_page = page_of(s, m) == meta.page;
    const PresenceStore::NewMeta fields{shm::kLocalReplica,
                                        m.owner,
                                        m.conn,
                                        clock,
                                        m.clock,
                                        m.lineage,
                                        same_page ? m.page_loaded_at_ms : now_ms,
                                        now_ms};
    ItemsBefore before;
    before.count = m.item_count;
    std::copy_n(m.items(), before.count, before.items.begin());
    Offset next = 0;
    s.limit_strings(max_strings_);
    const TrackError err = s.replace(old, meta, fields, &next);
    if (err != TrackError::none) {
      count_refusal(h, err);
      return TrackResult{err, {}, {}};
    }
    local.clock = clock;
    ++h.activity.updates;
    count_cart_change(h.activity, before, s.at<shm::MetaRecord>(next));
    tag = local.tag;
    fresh = s.handle_of(next);
  }
  return TrackResult{TrackError::none, fresh, phx_ref_of(tag, clock)};
}

namespace {
void untrack_locked(PresenceStore& s, Offset meta) {
  auto& h = s.header();
  auto& local = h.replicas[shm::kLocalReplica];
  ++local.clock;
  ++h.activity.leaves;
  h.activity.cart_removed += qty_of(s.at<shm::MetaRecord>(meta), 0);
  s.remember_removal(local.clock, s.at<shm::MetaRecord>(meta));
  s.remove(meta);
}
}  // namespace

bool Tracker::untrack(MetaHandle handle) {
  shm::Locked locked(base_, lock_);
  PresenceStore s(base_);
  const Offset m = s.resolve(handle);
  if (m == 0 || s.at<shm::MetaRecord>(m).replica != shm::kLocalReplica) return false;
  untrack_locked(s, m);
  return true;
}

std::size_t Tracker::untrack_owner(const ProcessIdentity& process) {
  if (process.pid == 0) return 0;
  shm::Locked locked(base_, lock_);
  PresenceStore s(base_);
  const std::uint16_t slot = s.find_owner(process);
  if (slot == 0) return 0;
  const auto& owner = s.header().owners[slot - 1u];
  std::size_t removed = 0;
  // The slot is freed with its last meta.
  while (owner.pid == process.pid && owner.head != 0) {
    untrack_locked(s, owner.head);
    ++removed;
  }
  return removed;
}

std::vector<ProcessIdentity> Tracker::owners() {
  std::array<ProcessIdentity, kMaxOwnerPids> owners{};
  {
    shm::Locked locked(base_, lock_);
    const auto& h = header();
    for (std::size_t i = 0; i < kMaxOwnerPids; ++i) {
      owners[i] = ProcessIdentity{h.owners[i].pid, h.owners[i].start_time};
    }
  }
  std::vector<ProcessIdentity> out;
  for (const ProcessIdentity& owner : owners) {
    if (owner.pid != 0) out.push_back(owner);
  }
  return out;
}

std::uint64_t Tracker::head_seq() const noexcept {
  return shm::ChangeLog(base_, header().log).head_seq();
}

std::uint64_t Tracker::stats_version() const noexcept {
  return std::atomic_ref<std::uint64_t>(header().stats_version).load(std::memory_order_acquire);
}

TrackerUsage Tracker::usage() {
  shm::Locked locked(base_, lock_);
  const auto& h = header();
  return TrackerUsage{h.region_bytes,
                      h.arena.begin + h.arena.allocated_bytes,
                      shm::update_reserve_bytes(h.arena),
                      h.metas,
                      h.keys,
                      h.track_failures_full,
                      h.repairs,
                      h.strings,
                      max_strings_,
                      h.track_failures_strings};
}

}  // namespace presence
