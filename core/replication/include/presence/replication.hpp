// The replication surface of a tracker's region (Phoenix.Tracker.State
// semantics): causal context, delta and full-state extraction, merge, and
// replicas going down, up, or permanently down. A Replication is a cheap,
// process-local handle on the same region, under the same lock, as the
// Tracker it is made from; the Tracker keeps the local operations and reads.
#pragma once

#include <cstddef>
#include <cstdint>

#include "presence/crdt.hpp"
#include "presence/tracker.hpp"

namespace presence {

class Replication {
 public:
  explicit Replication(const Tracker& tracker) noexcept;

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

 private:
  std::byte* base_;
  LockOps lock_;
};

}  // namespace presence
