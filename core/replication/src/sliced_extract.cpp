// A full state of the local replica extracted in slices: each call takes the
// zone lock once, copies the next metas of the local list (in clock order) for
// about its budget, and gives the lock back, so that answering a catch-up of
// 200,000 presences never stalls every worker's sockets.
//
// Why the result is exact. The state is the one at `to`, the local clock at
// the first slice; only metas with clock <= to are listed, and the receiver
// merges it followed by the deltas after `to` (tombstones with an event clock
// > to, metas with a clock > to), as it would a full state taken at once:
// - a meta copied, then removed (untracked, or replaced by an update) between
//   slices is listed although gone: the receiver adds it, and the tombstone of
//   its removal (event clock > to) in the following delta removes it, exactly
//   as for a full state taken at once and a removal just after;
// - a meta added between slices has a clock > to: not listed, it comes in the
//   following deltas;
// - a meta removed before it was copied (an update's old version included) is
//   not listed: the full state's "drop what is unlisted and <= to" removes it
//   on the receiver, and an update's new version (clock > to) comes in the
//   following delta.
// So the sliced state differs from the one-shot state at `to` only by metas
// the deltas after `to` remove anyway.
#include <cstring>

#include "change_record.hpp"
#include "presence/replication.hpp"
#include "presence_store.hpp"
#include "replica_slots.hpp"
#include "slice_budget.hpp"
#include "tracker_lock.hpp"

namespace presence {

using shm::Offset;
using shm::PresenceStore;

namespace {

// The first slice's buffer; it grows (unlocked) when one record does not fit.
constexpr std::size_t kExtractChunkBytes = 1024 * 1024;

bool removed_since(PresenceStore& s, std::uint64_t since_count, std::uint64_t clock) {
  const auto& h = s.header();
  const auto* tombs = reinterpret_cast<const shm::Tombstone*>(s.base() + h.tombs);
  for (std::uint64_t i = since_count; i < h.tomb_count; ++i) {
    if (tombs[i % h.tomb_capacity].removed_clock == clock) return true;
  }
  return false;
}

}  // namespace

void Replication::extract_slice(ExtractJob& job, std::int64_t budget_ns, std::size_t max_records) {
  if (job.done_) return;
  ++job.slices_;
  if (job.chunk_.empty()) job.chunk_.resize(kExtractChunkBytes);
  if (max_records == 0) max_records = 1;  // every slice moves the job on
  std::size_t used = 0;
  std::size_t wanted = 0;  // a record larger than the whole buffer
  bool finished = false;
  {
    SliceBudget budget(budget_ns);
    shm::Locked locked(base_, lock_);
    PresenceStore s(base_);
    const auto& h = s.header();
    const auto& local = h.replicas[shm::kLocalReplica];
    if (job.started_ && !shm::same_name(local, job.delta_.origin)) {
      // Another replica in the slot: what was copied belongs to no state of it.
      job.delta_.joins.clear();
      job.started_ = false;
      ++job.restarts_;
    }
    if (!job.started_) {
      job.started_ = true;
      job.delta_.origin = shm::name_of(local);
      job.delta_.to = local.clock;
      job.next_ = 0;
      job.copied_ = 0;
    } else if (job.next_ != 0) {
      // The saved meta is where it was unless it was removed since the last
      // slice: every removal of a local meta (untrack, untrack_owner, an
      // update's old version) appends a tombstone naming its clock. A repair
      // may drop metas without one, an overrun ring hides some, and reading
      // more than kExtractTombstoneScan would hold the lock past the budget.
      const std::uint64_t appended = h.tomb_count - job.tomb_count_;
      bool valid = h.repairs == job.repairs_ && appended <= h.tomb_capacity &&
                   appended <= kExtractTombstoneScan &&
                   !removed_since(s, job.tomb_count_, job.next_clock_);
      if (valid) {
        const auto& rec = s.at<shm::MetaRecord>(job.next_);
        valid = rec.block.kind == shm::BlockKind::meta && rec.replica == shm::kLocalReplica &&
                rec.clock == job.next_clock_;
      }
      if (!valid) {
        // From the head again, skipping what was copied: the list is in clock order.
        job.next_ = 0;
        ++job.walks_;
      }
    }
    Offset m = job.next_ != 0 ? job.next_ : local.meta_head;
    std::size_t copied = 0;
    shm::LinearSink sink{job.chunk_.data()};
    for (;;) {
      if (m == 0) {
        finished = true;
        break;
      }
      const auto& rec = s.at<shm::MetaRecord>(m);
      if (rec.clock > job.delta_.to) {
        finished = true;  // added after the first slice: in the following deltas
        break;
      }
      if (budget.spent()) break;
      if (rec.clock > job.copied_) {
        const std::size_t bytes = s.record_size(rec);
        if (copied == max_records) break;
        if (used + bytes > job.chunk_.size()) {
          if (used == 0) wanted = bytes;
          break;
        }
        s.write_record(rec, ChangeKind::join, 0, sink);
        used += bytes;
        ++copied;
        job.copied_ = rec.clock;
      }
      m = rec.replica_next;
    }
    if (!finished) {
      job.next_ = m;
      job.next_clock_ = s.at<shm::MetaRecord>(m).clock;
    }
    job.tomb_count_ = h.tomb_count;
    job.repairs_ = h.repairs;
  }
  const std::byte* p = job.chunk_.data();
  shm::DecodedRecord r;
  while (used > 0) {
    const std::size_t n = shm::decode_record(p, used, r);
    if (n == 0) break;
    p += n;
    used -= n;
    job.delta_.joins.push_back(DeltaJoin{std::move(r.topic), std::move(r.key), r.clock,
                                         r.prev_clock, r.lineage, std::move(r.meta),
                                         r.page_loaded_at_ms, r.updated_at_ms});
  }
  if (wanted > job.chunk_.size()) job.chunk_.resize(wanted);
  if (finished) {
    job.done_ = true;
    job.delta_.full_state = true;
    job.delta_.from = 0;
    job.chunk_ = {};
  }
}

}  // namespace presence
