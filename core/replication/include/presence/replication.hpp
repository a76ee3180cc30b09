// The replication surface of a tracker's region (Phoenix.Tracker.State
// semantics): causal context, delta and full-state extraction, merge, and
// replicas going down, up, or permanently down. A Replication is a cheap,
// process-local handle on the same region, under the same lock, as the
// Tracker it is made from; the Tracker keeps the local operations and reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
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

// Records one slice of a full-state extraction copies at most, whatever its
// time budget: bounds the slice's buffer and its lock hold on a slow clock.
inline constexpr std::size_t kExtractSliceRecords = 8192;
// Tombstones appended between two slices that a resume reads at most, looking
// for the saved meta's removal; past them it walks from the head (sliced too).
inline constexpr std::size_t kExtractTombstoneScan = 16384;

// A full state of the local replica taken over several holds of the zone lock
// by Replication::extract_slice, so that a 200,000-presence catch-up does not
// stall every worker's sockets. The state is the one at the first slice's
// clock `to`: only metas with clock <= to are listed. See extract_slice for why
// the changes made between slices keep it exact once the deltas after `to` are merged.
class ExtractJob {
 public:
  bool done() const noexcept { return done_; }
  std::size_t slices() const noexcept { return slices_; }
  std::size_t records() const noexcept { return delta_.joins.size(); }  // copied so far
  // Resumes that could not trust the saved position and walked from the
  // head of the list (the saved meta was removed, the tombstones overran, a
  // repair rebuilt the lists), and restarts (the local replica changed).
  std::size_t walks() const noexcept { return walks_; }
  std::size_t restarts() const noexcept { return restarts_; }
  // The full state, once done; the job is spent afterwards.
  Delta take() noexcept { return std::move(delta_); }

 private:
  friend class Replication;
  Delta delta_;
  std::vector<std::byte> chunk_;  // one slice's records, decoded after unlocking
  bool started_ = false;
  bool done_ = false;
  std::uint32_t next_ = 0;        // the next meta to visit; 0: from the head
  std::uint64_t next_clock_ = 0;  // its clock, looked for in the tombstones
  std::uint64_t copied_ = 0;      // the newest clock copied; the list is in clock order
  std::uint64_t tomb_count_ = 0;  // tombstones appended ever, at the end of the last slice
  std::uint64_t repairs_ = 0;
  std::size_t slices_ = 0;
  std::size_t walks_ = 0;
  std::size_t restarts_ = 0;
};

class Replication {
 public:
  explicit Replication(const Tracker& tracker) noexcept;

  CausalContext context();
  // One replica's part of the context (one slot copied under the lock);
  // nullopt when the region holds no slot for it.
  std::optional<ReplicaContext> context_of(const ReplicaName& replica);
  // Own metas newer than `remote_clock` (the peer's context clock for us) plus
  // removals since; a full state when the tombstone log no longer reaches back.
  Delta extract_delta(std::uint64_t remote_clock);
  Delta extract_full_state();
  // The delta since `remote_clock`, or nullopt when only a full state would do
  // (the tombstones no longer reach back): take it with an ExtractJob.
  std::optional<Delta> extract_delta_within(std::uint64_t remote_clock);
  // One slice of `job`: the lock held about `budget_ns` at most (the clock is
  // read every few dozen records) and `max_records` copied at most.
  void extract_slice(ExtractJob& job, std::int64_t budget_ns,
                     std::size_t max_records = kExtractSliceRecords);
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
