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

#include "presence/crdt.hpp"
#include "presence/tracker_types.hpp"

namespace presence {

namespace shm {
struct Header;
}

class Tracker {
 public:
  // Format `region` (fresh = true) or attach to a region formatted before, e.g.
  // by the previous nginx configuration on reload (fresh = false: validates
  // magic, layout version and size, keeps the data and the stored replica name).
  static std::optional<Tracker> open(void* region, std::size_t size, LockOps lock,
                                     const TrackerConfig& cfg, bool fresh, std::string* error);
  static std::size_t min_region_bytes();

  TrackResult track(std::string_view topic, std::string_view key, const CartMeta& meta, Owner owner,
                    std::int64_t now_ms);
  // New phx_ref, phx_ref_prev = old ref; page_loaded_at changes only with the page.
  TrackResult update(MetaHandle h, const CartMeta& meta, std::int64_t now_ms);
  bool untrack(MetaHandle h);
  // Every meta of a dead worker, in time proportional to what it owned.
  std::size_t untrack_owner_pid(std::uint32_t pid);
  std::vector<std::uint32_t> owner_pids();

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
  StatsSnapshot stats(std::string_view topic);
  TrackerUsage usage();

  // --- CRDT surface (see crdt.hpp) ---
  ReplicaName local_replica();
  CausalContext context();
  // Own metas newer than `remote_clock` (the peer's context clock for us) plus
  // removals since; a full state when the tombstone log no longer reaches back.
  Delta extract_delta(std::uint64_t remote_clock);
  Delta extract_full_state();
  // Idempotent, commutative, associative; costs O(size of the delta).
  MergeStatus merge(const Delta& delta);
  // Hide a replica's metas (leaves in the change stream), show them again, or
  // forget the replica and its context for good.
  bool replica_down(const ReplicaName& replica);
  bool replica_up(const ReplicaName& replica);
  bool replica_permdown(const ReplicaName& replica);

  // Rebuilds every derived structure from the stored metas now (normally done by
  // the next locker after a crash inside a critical section). Exposed for tests.
  void repair();
  // Recomputes the aggregates from scratch and compares: true when they match.
  bool check_invariants(std::string* why);

 private:
  Tracker(std::byte* base, LockOps lock) : base_(base), lock_(lock) {}
  shm::Header& header() const noexcept;

  std::byte* base_;
  LockOps lock_;
};

}  // namespace presence
