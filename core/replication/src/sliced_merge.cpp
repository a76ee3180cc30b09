// A large delta merged in slices: each call takes the zone lock once and
// gives it back after about its budget, so that no worker's sockets stall
// behind a 200,000-presence full state.
#include <algorithm>

#include "causal_context.hpp"
#include "presence/crash_hook.hpp"
#include "presence/replication.hpp"
#include "presence_store.hpp"
#include "replica_slots.hpp"
#include "slice_budget.hpp"
#include "tracker_lock.hpp"

namespace presence {

using shm::Offset;
using shm::PresenceStore;

namespace {

// The context once the whole delta is applied; false when the cloud overflows.
bool context_after(const shm::ReplicaSlot& replica, const Delta& d, shm::OriginContext* after) {
  *after = shm::OriginContext::of(replica);
  if (!after->add(d.from + 1, d.to)) return false;
  return std::all_of(d.leaves.begin(), d.leaves.end(), [&](const DeltaLeave& l) {
    return l.clock > d.from || after->add(l.clock, l.clock);
  });
}

}  // namespace

MergeJob::MergeJob(Delta delta) : delta_(std::move(delta)), valid_(shm::valid_delta(delta_)) {
  if (valid_ && delta_.full_state) {
    listed_.reserve(delta_.joins.size());
    for (const DeltaJoin& j : delta_.joins) listed_.push_back(j.clock);
    std::sort(listed_.begin(), listed_.end());
  }
}

MergeStatus Replication::merge_slice(MergeJob& job, std::int64_t budget_ns) {
  using Phase = MergeJob::Phase;
  if (job.done()) return MergeStatus::ignored;
  auto finish = [&](MergeStatus s) {
    job.phase_ = Phase::done;
    return s;
  };
  if (!job.valid_) return finish(MergeStatus::invalid_argument);
  const Delta& d = job.delta_;
  ++job.slices_;
  SliceBudget budget(budget_ns);
  shm::Locked locked(base_, lock_);
  PresenceStore s(base_);
  auto& h = s.header();
  if (shm::same_name(h.replicas[shm::kLocalReplica], d.origin)) {
    return finish(MergeStatus::ignored);
  }
  int found = shm::find_replica(h, d.origin);
  if (found < 0 && job.phase_ == Phase::begin) found = shm::add_replica(h, d.origin);
  if (found < 0) {
    return finish(job.phase_ == Phase::begin ? MergeStatus::replicas_full : MergeStatus::ignored);
  }
  const auto slot = static_cast<std::uint16_t>(found);
  auto& replica = h.replicas[slot];
  // Forgotten meanwhile: nothing more of it may be kept.
  if (replica.state == ReplicaState::permdown) return finish(MergeStatus::ignored);

  shm::OriginContext after;
  if (job.phase_ == Phase::begin) {
    if (!context_after(replica, d, &after)) return finish(MergeStatus::needs_full_state);
    job.phase_ = Phase::leaves;
    job.next_ = 0;
  }
  if (job.phase_ == Phase::leaves) {
    for (; job.next_ < d.leaves.size(); ++job.next_) {
      if (budget.spent()) return MergeStatus::ok;
      const DeltaLeave& l = d.leaves[job.next_];
      const Offset m = s.find_lineage(slot, l.lineage);
      if (m != 0 && s.at<shm::MetaRecord>(m).clock <= l.clock) s.remove(m);
    }
    job.phase_ = d.full_state ? Phase::sweep : Phase::joins;
    job.next_ = 0;
    job.sweep_at_ = 0;
    job.repairs_ = h.repairs;
  }
  if (job.phase_ == Phase::sweep) {
    // A repair rebuilds the lists, and a changed list shows in the record
    // the cursor names: the sweep starts over, which removes nothing twice.
    Offset m = job.sweep_at_;
    if (m != 0) {
      const auto& rec = s.at<shm::MetaRecord>(m);
      if (h.repairs != job.repairs_ || rec.block.kind != shm::BlockKind::meta ||
          rec.replica != slot || rec.clock != job.sweep_clock_) {
        m = 0;
      }
    }
    if (m == 0) m = replica.meta_head;
    job.repairs_ = h.repairs;
    while (m != 0) {
      const auto& rec = s.at<shm::MetaRecord>(m);
      if (budget.spent()) {
        job.sweep_at_ = m;
        job.sweep_clock_ = rec.clock;
        return MergeStatus::ok;
      }
      const Offset next = rec.replica_next;
      if (rec.clock <= d.to &&
          !std::binary_search(job.listed_.begin(), job.listed_.end(), rec.clock)) {
        s.remove(m);
      }
      m = next;
    }
    job.phase_ = Phase::joins;
    job.next_ = 0;
  }
  if (job.phase_ == Phase::joins) {
    const auto seen = shm::OriginContext::of(replica);
    for (; job.next_ < d.joins.size(); ++job.next_) {
      if (budget.spent()) return MergeStatus::ok;
      const DeltaJoin& j = d.joins[job.next_];
      if (seen.contains(j.clock)) continue;
      if (const Offset m = s.find_lineage(slot, j.lineage); m != 0) {
        if (s.at<shm::MetaRecord>(m).clock >= j.clock) continue;
        s.remove(m);
      }
      const PresenceStore::NewMeta fields{
          slot, 0, 0, j.clock, j.prev_clock, j.lineage, j.page_loaded_at_ms, j.updated_at_ms};
      Offset added = 0;
      if (s.insert(j.topic, j.key, j.meta, fields, true, false, &added) ==
          TrackError::region_full) {
        // The removals happened: keep their dots (if they fit), not the range.
        auto removed = seen;
        bool fits = true;
        for (const DeltaLeave& l : d.leaves) fits = fits && removed.add(l.clock, l.clock);
        if (fits) removed.store(replica);
        return finish(MergeStatus::region_full);
      }
      shm::crash_point(shm::CrashPoint::merge_applied);
    }
  }
  // The range is acknowledged only now, with everything of it applied.
  if (!context_after(replica, d, &after)) return finish(MergeStatus::needs_full_state);
  after.store(replica);
  return finish(MergeStatus::ok);
}

}  // namespace presence
