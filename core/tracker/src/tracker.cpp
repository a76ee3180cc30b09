// Tracker lifecycle (format / attach) and the writes of local presences.
#include "presence/tracker.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>

#include "meta_bounds.hpp"
#include "presence/crash_hook.hpp"
#include "presence/phx_ref.hpp"
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
  std::uint32_t key_count, intern_count, index_slots;
  std::size_t arena_end;
};

std::size_t pow2_at_least(std::size_t n) {
  return std::bit_ceil(std::max<std::size_t>(n, 64));
}

// Places the tables, logs and arena; false when `size` cannot hold them.
bool plan_layout(std::size_t size, std::size_t log_bytes, std::size_t tomb_entries, Layout* out) {
  Layout l{};
  l.index_slots = static_cast<std::uint32_t>(log_bytes / shm::kChangeIndexBytesPerSlot);
  std::size_t at = align_up(sizeof(shm::Header));
  l.tombs = at;
  at = align_up(at + tomb_entries * sizeof(shm::Tombstone));
  l.log_index = at;
  at = align_up(at + std::size_t{l.index_slots} * sizeof(std::uint64_t));
  l.log_ring = at;
  at = align_up(at + log_bytes);
  if (size < at + shm::kMinArenaBytes) return false;
  const std::size_t presences = (size - at) / shm::kEstimatedBytesPerPresence;
  l.key_count = static_cast<std::uint32_t>(pow2_at_least(presences));
  l.intern_count = static_cast<std::uint32_t>(pow2_at_least(presences / 16));
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
  shm::Arena::format(h.arena, static_cast<Offset>(l.arena), static_cast<Offset>(l.arena_end));
  shm::ChangeLog::format(h.log, static_cast<Offset>(l.log_index), l.index_slots,
                         static_cast<Offset>(l.log_ring),
                         static_cast<std::uint32_t>(cfg.change_log_bytes));
  h.tombs = static_cast<Offset>(l.tombs);
  h.tomb_capacity = static_cast<std::uint32_t>(cfg.tombstone_log_entries);
  auto& local = h.replicas[shm::kLocalReplica];
  local.state = ReplicaState::up;
  local.name_len = static_cast<std::uint8_t>(cfg.node_name.size());
  std::memcpy(local.name.data(), cfg.node_name.data(), cfg.node_name.size());
  local.generation = cfg.generation;
  local.tag = replica_tag(ReplicaName{cfg.node_name, cfg.generation});
  std::atomic_ref<std::uint64_t>(h.magic).store(shm::kRegionMagic, std::memory_order_release);
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

}  // namespace

std::size_t Tracker::min_region_bytes() {
  // The smallest size that holds the smallest change log and the default tombstone log.
  std::size_t too_small = 0;
  std::size_t fits = shm::kMaxRegionBytes;
  while (fits - too_small > 1) {
    const std::size_t mid = too_small + (fits - too_small) / 2;
    Layout l;
    if (plan_layout(mid, kMinChangeLogBytes, kDefaultTombstoneLogEntries, &l)) {
      fits = mid;
    } else {
      too_small = mid;
    }
  }
  return fits;
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
  } else if (!plan_layout(size, cfg.change_log_bytes, cfg.tombstone_log_entries, &l)) {
    fail(error, "region too small for the change log and the tables");
  } else if (fresh) {
    format_region(base, size, cfg, l);
    return Tracker(base, lock);
  } else {
    const auto& h = *reinterpret_cast<const shm::Header*>(base);
    if (h.magic != shm::kRegionMagic) {
      fail(error, "region not formatted (bad magic)");
    } else if (h.layout_version != shm::kLayoutVersion) {
      fail(error, "region formatted with another layout version");
    } else if (h.region_bytes != size) {
      fail(error, "region size differs from the formatted one");
    } else {
      return Tracker(base, lock);
    }
  }
  return std::nullopt;
}

shm::Header& Tracker::header() const noexcept {
  return *reinterpret_cast<shm::Header*>(base_);
}

TrackResult Tracker::track(std::string_view topic, std::string_view key, const CartMeta& meta,
                           Owner owner, std::int64_t now_ms) {
  if (!shm::within_bounds(topic, key) || owner.pid == 0 || !shm::within_bounds(meta)) {
    return TrackResult{TrackError::invalid_argument, {}, {}};
  }
  std::uint64_t tag = 0;
  std::uint64_t clock = 0;
  MetaHandle handle;
  {
    shm::Locked locked(base_, lock_);
    PresenceStore s(base_);
    auto& h = s.header();
    const std::uint16_t slot = s.claim_owner(owner.pid);
    if (slot == 0) {
      ++h.track_failures_full;
      return TrackResult{TrackError::region_full, {}, {}};
    }
    auto& local = h.replicas[shm::kLocalReplica];
    clock = local.clock + 1;
    const PresenceStore::NewMeta fields{
        shm::kLocalReplica, slot, owner.conn, clock, 0, clock, now_ms, now_ms};
    Offset m = 0;
    const TrackError err = s.insert(topic, key, meta, fields, true, false, &m);
    if (err != TrackError::none) {
      if (h.owners[slot - 1u].metas == 0) h.owners[slot - 1u] = shm::OwnerSlot{};
      if (err == TrackError::region_full) ++h.track_failures_full;
      return TrackResult{err, {}, {}};
    }
    local.clock = clock;
    tag = local.tag;
    handle = s.handle_of(m);
  }
  return TrackResult{TrackError::none, handle, phx_ref_of(tag, clock)};
}

TrackResult Tracker::update(MetaHandle handle, const CartMeta& meta, std::int64_t now_ms) {
  if (!shm::within_bounds(meta)) return TrackResult{TrackError::invalid_argument, {}, {}};
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
    auto& key = s.at<shm::KeyRecord>(m.key);
    auto& topic = s.at<shm::TopicRecord>(key.topic);
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
    Offset next = 0;
    // Stored hidden first, so the stream shows leave(old) before join(new).
    const TrackError err = s.insert({topic.bytes(), topic.len}, {key.bytes(), key.len}, meta,
                                    fields, false, true, &next);
    if (err != TrackError::none) {
      if (err == TrackError::region_full) ++h.track_failures_full;
      return TrackResult{err, {}, {}};
    }
    local.clock = clock;
    s.remember_removal(clock, m);
    s.remove(old);
    s.set_visible(next, true);
    tag = local.tag;
    fresh = s.handle_of(next);
  }
  return TrackResult{TrackError::none, fresh, phx_ref_of(tag, clock)};
}

namespace {
void untrack_locked(PresenceStore& s, Offset meta) {
  auto& local = s.header().replicas[shm::kLocalReplica];
  ++local.clock;
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

std::size_t Tracker::untrack_owner_pid(std::uint32_t pid) {
  if (pid == 0) return 0;
  shm::Locked locked(base_, lock_);
  PresenceStore s(base_);
  const std::uint16_t slot = s.find_owner(pid);
  if (slot == 0) return 0;
  const auto& owner = s.header().owners[slot - 1u];
  std::size_t removed = 0;
  while (owner.pid == pid && owner.head != 0) {
    untrack_locked(s, owner.head);
    ++removed;
  }
  return removed;
}

std::vector<std::uint32_t> Tracker::owner_pids() {
  std::array<std::uint32_t, kMaxOwnerPids> pids{};
  {
    shm::Locked locked(base_, lock_);
    const auto& h = header();
    for (std::size_t i = 0; i < kMaxOwnerPids; ++i) pids[i] = h.owners[i].pid;
  }
  std::vector<std::uint32_t> out;
  for (const std::uint32_t pid : pids) {
    if (pid != 0) out.push_back(pid);
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
  return TrackerUsage{h.region_bytes, h.arena.begin + h.arena.allocated_bytes, h.metas, h.keys,
                      h.track_failures_full};
}

}  // namespace presence
