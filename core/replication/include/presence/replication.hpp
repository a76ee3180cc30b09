// The replication surface of a tracker's region (Phoenix.Tracker.State
// semantics): causal context, delta and full-state extraction, merge, and
// replicas going down, up, or permanently down. A Replication is a cheap,
// process-local handle on the same region, under the same lock, as the
// Tracker it is made from; the Tracker keeps the local operations and reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "presence/crdt.hpp"
#include "presence/tracker.hpp"

namespace presence {

// A merge too large for one hold of the zone lock, applied by
// Replication::merge_slice: leaves, a full state's unlisted metas, then
// joins, without acknowledging the range; the last slice stores the context. A process killed
// between slices leaves metas of the range without its dots: a later merge of the range finds them
// (one meta per lineage) and the range is asked for again, so the merge stays idempotent.
class MergeJob {
 public:
  explicit MergeJob(Delta delta);
  bool done() const noexcept { return phase_ == Phase::done; }
  const Delta& delta() const noexcept { return delta_; }
  std::size_t slices() const noexcept { return slices_; }

 private:
  friend class Replication;
  enum class Phase : std::uint8_t { begin, leaves, sweep, joins, done };
  Delta delta_;
  std::vector<std::uint64_t> listed_;  // a full state's clocks, sorted
  bool valid_ = false;
  Phase phase_ = Phase::begin;
  std::size_t next_ = 0;           // next leave or join
  std::uint32_t sweep_at_ = 0;     // next meta of the sweep; 0: from the head
  std::uint64_t sweep_clock_ = 0;  // its clock, to notice a list changed under us
  std::uint64_t repairs_ = 0;
  std::size_t slices_ = 0;
};

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
  // One slice of `job`, the lock held about `budget_ns` at most (the clock is
  // read every few dozen records). MergeStatus::ok while !job.done(); then
  // what merge() would have returned.
  MergeStatus merge_slice(MergeJob& job, std::int64_t budget_ns);
  // Hide a replica's metas (leaves in the change stream), show them again, or
  // forget the replica and its context for good.
  bool replica_down(const ReplicaName& replica);
  bool replica_up(const ReplicaName& replica);
  bool replica_permdown(const ReplicaName& replica);
  // A forgotten replica speaks again: up, with an empty context, so that it is
  // merged from scratch (its full state). False unless it is permdown here.
  bool replica_readmit(const ReplicaName& replica);
  // Gives a replica heard of for the first time its slot, up with an empty
  // context, so that a node is listed before it holds any shopper. False when
  // the replica has a slot already (whatever its state) or none is left.
  bool replica_join(const ReplicaName& replica);

 private:
  std::byte* base_;
  LockOps lock_;
};

}  // namespace presence
