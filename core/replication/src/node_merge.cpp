// Merging what peers send: small deltas inline, large ones queued and
// applied in slices by merge_some, with the deltas of an origin that arrive
// meanwhile queued behind its sliced merge so they apply in order.
#include <algorithm>
#include <chrono>

#include "node_state.hpp"

namespace presence::cluster {

namespace {

std::int64_t elapsed_ns(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                              since)
      .count();
}

}  // namespace

bool Node::Impl::queued_for(const ReplicaName& origin) const {
  return std::any_of(merges.begin(), merges.end(),
                     [&](const QueuedMerge& q) { return q.origin == origin; });
}

void Node::Impl::cancel_merges(const ReplicaName& origin) {
  std::erase_if(merges, [&](const QueuedMerge& q) { return q.origin == origin; });
}

void Node::Impl::record_lock_hold(std::int64_t ns) {
  const auto held = static_cast<std::uint64_t>(std::max<std::int64_t>(ns, 0));
  bump(counters().merge_lock_ns_total, held);
  if (held > read(counters().merge_lock_ns_max)) {
    bump(counters().merge_lock_ns_max, held - read(counters().merge_lock_ns_max));
  }
}

void Node::Impl::record_extract_hold(std::int64_t ns, std::size_t walks) {
  const auto held = static_cast<std::uint64_t>(std::max<std::int64_t>(ns, 0));
  bump(counters().extract_slices);
  bump(counters().extract_walks, walks);
  if (held > read(counters().extract_lock_ns_max)) {
    bump(counters().extract_lock_ns_max, held - read(counters().extract_lock_ns_max));
  }
}

void Node::Impl::apply_delta(Peer& p, Delta&& d, std::int64_t now_ms, std::vector<Command>& out) {
  // A full state sweeps every meta held of its origin, however few it lists.
  const bool large = d.full_state || d.joins.size() + d.leaves.size() > kSlicedMergeUpdates;
  if (large || queued_for(d.origin)) {
    const auto of_origin = static_cast<std::size_t>(std::count_if(
        merges.begin(), merges.end(), [&](const QueuedMerge& q) { return q.origin == d.origin; }));
    if (merges.size() >= kMaxQueuedMerges || of_origin >= kMaxQueuedPerOrigin) {
      // Dropped: its range stays unacknowledged while its clock is announced,
      // so the gap shows, and is asked for, once the queue has drained.
      return;
    }
    ReplicaName origin = d.origin;
    merges.push_back(QueuedMerge{std::move(origin), MergeJob(std::move(d))});
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  const MergeStatus result = crdt.merge(d);
  record_lock_hold(elapsed_ns(start));
  merged(p, result, now_ms, out);
}

void Node::Impl::merged(Peer& p, MergeStatus result, std::int64_t now_ms,
                        std::vector<Command>& out) {
  switch (result) {
    case MergeStatus::ok:
      bump(counters().merges);
      return check_gap(p, now_ms, out);
    case MergeStatus::needs_full_state:
      return ask_transfer(p, true, false, now_ms, out);
    case MergeStatus::region_full:
      // Not acknowledged: asked again after the retry period, when room may be back.
      p.transfer_pending = true;
      p.transfer_asked_ms = now_ms;
      return;
    case MergeStatus::invalid_argument:
      return drop(Drop::malformed);
    case MergeStatus::ignored:
    case MergeStatus::replicas_full:
      return;
  }
}

bool Node::merge_some(std::int64_t now_ms, std::int64_t budget_ns, std::vector<Command>& out) {
  Impl& n = *impl_;
  const auto start = std::chrono::steady_clock::now();
  // Slices of the extraction and of the merges take turns: neither a peer
  // catching up nor our own catch-up waits for the other to finish.
  bool extract_turn = true;
  // At least one slice a call, however small the budget: the work always moves.
  for (bool first = true; n.extract || !n.merges.empty(); first = false) {
    const std::int64_t spent = elapsed_ns(start);
    if (!first && spent >= budget_ns) break;
    const std::int64_t slice = std::min(n.settings.merge_slice_ns, budget_ns - spent);
    if (n.extract && (extract_turn || n.merges.empty())) {
      n.extract_some(slice, now_ms, out);
      extract_turn = false;
      continue;
    }
    extract_turn = true;
    QueuedMerge& q = n.merges.front();
    const auto slice_start = std::chrono::steady_clock::now();
    const MergeStatus result = n.crdt.merge_slice(q.job, slice);
    n.record_lock_hold(elapsed_ns(slice_start));
    bump(n.counters().merge_slices);
    if (!q.job.done()) continue;
    const ReplicaName origin = std::move(q.origin);
    n.merges.pop_front();
    if (Peer* p = n.find_peer(origin)) n.merged(*p, result, now_ms, out);
  }
  n.publish_status();
  return n.extract || !n.merges.empty();
}

bool Node::merging() const noexcept {
  return impl_->extract || !impl_->merges.empty();
}

}  // namespace presence::cluster
