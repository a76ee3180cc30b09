// The presence tracker: one shared-memory region read and written by every
// nginx worker under a lock handed in by the caller. A Tracker is a cheap,
// process-local handle on that region; all state lives in the region.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "presence/replica.hpp"
#include "presence/tracker_types.hpp"

namespace presence {

namespace shm {
struct Header;
}

class Tracker {
 public:
  // Format `region` (fresh = true) or attach to a region formatted before, e.g.
  // by the previous nginx configuration on reload (fresh = false: validates
  // magic, layout version, size, node name and change log size, keeps the data).
  static std::optional<Tracker> open(void* region, std::size_t size, LockOps lock,
                                     const TrackerConfig& cfg, bool fresh, std::string* error);
  static std::size_t min_region_bytes();
  // The most arena room one update can need (every item and the page new strings).
  static std::size_t max_update_bytes();

  TrackResult track(std::string_view topic, std::string_view key, const CartMeta& meta, Owner owner,
                    std::int64_t now_ms);
  // New phx_ref, phx_ref_prev = old ref; page_loaded_at changes only with the page.
  // Needs no room when the new meta fits the old one's block and its strings
  // are held already; else it may take the room new tracks leave in reserve.
  TrackResult update(MetaHandle h, const CartMeta& meta, std::int64_t now_ms);
  bool untrack(MetaHandle h);
  // Every meta of a dead process, in time proportional to what it owned.
  std::size_t untrack_owner(const ProcessIdentity& process);
  // The processes owning metas now (a reused pid shows as two owners).
  std::vector<ProcessIdentity> owners();

  // Lock-free atomic read of the change sequence.
  std::uint64_t head_seq() const noexcept;
  // Changes with seq > since, in order, at most `max`; *next = the seq to pass next time.
  // `behind` when `since` fell out of the ring: resync from snapshot() and carry on
  // from the seq it returns. `out` is replaced, its elements' storage reused.
  ChangeStatus changes_since(std::uint64_t since, std::size_t max, std::vector<Change>& out,
                             std::uint64_t* next);
  // The visible metas of `topic` into `out` (replaced, storage reused), and the
  // change seq the listing is consistent with.
  std::uint64_t snapshot(std::string_view topic, std::vector<PresenceEntry>& out);
  std::optional<MetaView> get(MetaHandle h);
  std::vector<PresenceEntry> get_by_key(std::string_view topic, std::string_view key);
  // Lock-free; changes whenever an aggregate (or the set of counted replicas) changes.
  std::uint64_t stats_version() const noexcept;
  // The aggregates of `topic`: the busiest stats_top pages and products (at
  // most kStatsSizesPerProduct sizes each), what is left out summed exactly.
  StatsSnapshot stats(std::string_view topic);
  TrackerUsage usage();

  // --- Timeline (history.hpp) ---
  // Samples `topic`'s aggregates and the activity totals for now_ms's second,
  // unless a process already did: one sample a second whoever calls. O(1);
  // takes the lock only when the second is not sampled yet.
  bool sample_history(std::string_view topic, std::int64_t now_ms);
  // Samples numbered from `from` on, at most `max`, into `out` (replaced);
  // returns the number to ask from next time. *peak gets the peak so far.
  std::uint64_t history(HistoryResolution res, std::uint64_t from, std::size_t max,
                        std::vector<HistorySample>& out, HistoryPeak* peak);
  // Lock-free: the start of the newest second sampled (Unix ms), 0 before the first.
  std::int64_t history_last_ms() const noexcept;
  std::size_t history_capacity(HistoryResolution res) const noexcept;
  ActivityTotals activity();

  // The local replica's name (node + generation); the CRDT surface over the
  // same region is presence::Replication, in the replication library.
  ReplicaName local_replica();
  // Every replica the zone knows (up, down and permdown ones not yet reused),
  // copied under the lock: what /metrics shows of the cluster.
  std::vector<ReplicaInfo> replicas();

  // Rebuilds every derived structure from the stored metas now (normally done by
  // the next locker after a crash inside a critical section). Exposed for tests.
  void repair();
  // Recomputes the aggregates from scratch and compares: true when they match.
  bool check_invariants(std::string* why);

 private:
  // Merges and extracts over this region, under this lock.
  friend class Replication;

  Tracker(std::byte* base, LockOps lock, const TrackerConfig& cfg);
  shm::Header& header() const noexcept;
  TrackError check_meta(const CartMeta& meta) const;

  std::byte* base_;
  LockOps lock_;
  // Process-local policy: each configuration holds its own handle to the region.
  std::size_t stats_top_;
  std::uint64_t max_strings_;
  std::shared_ptr<const Catalog> catalog_;
};

}  // namespace presence
