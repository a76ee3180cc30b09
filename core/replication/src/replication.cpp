// The replication surface over a tracker's region: context, delta and
// full-state extraction, merge in O(size of the delta), and replicas going
// down, up, or permanently down.
#include <algorithm>
#include <cstring>
#include <optional>

#include "causal_context.hpp"
#include "change_record.hpp"
#include "locked_copy.hpp"
#include "meta_bounds.hpp"
#include "presence/crash_hook.hpp"
#include "presence/phx_ref.hpp"
#include "presence/replication.hpp"
#include "replica_slots.hpp"

namespace presence {

using shm::add_replica;
using shm::find_replica;
using shm::name_of;
using shm::Offset;
using shm::PresenceStore;
using shm::same_name;
using shm::valid_delta;

namespace {

// The copy taken for an extraction: this head, then join records, then tombstones.
struct ExtractHead {
  std::uint64_t to;
  std::uint32_t join_bytes;
  std::uint32_t leaves;
  std::uint8_t full_state;
};

}  // namespace

Replication::Replication(const Tracker& tracker) noexcept
    : base_(tracker.base_), lock_(tracker.lock_) {}

namespace {

ReplicaContext context_of_slot(const shm::ReplicaSlot& slot) {
  ReplicaContext c{name_of(slot), slot.state, slot.clock, {}};
  for (std::size_t r = 0; r < slot.cloud_len; ++r) {
    c.cloud.push_back(ClockRange{slot.cloud[r].first, slot.cloud[r].last});
  }
  return c;
}

}  // namespace

CausalContext Replication::context() {
  auto& buf = shm::scratch_buffer();
  constexpr std::size_t kBytes = sizeof(shm::ReplicaSlot) * kMaxReplicas;
  shm::copy_locked(
      base_, lock_, buf, [](PresenceStore&) { return kBytes; },
      [](PresenceStore& s, std::byte* dst) {
        std::memcpy(dst, s.header().replicas.data(), kBytes);
      });
  CausalContext out;
  for (std::size_t i = 0; i < kMaxReplicas; ++i) {
    shm::ReplicaSlot slot;
    std::memcpy(&slot, buf.data() + i * sizeof slot, sizeof slot);
    if (slot.state == ReplicaState{}) continue;
    out.replicas.push_back(context_of_slot(slot));
  }
  return out;
}

std::optional<ReplicaContext> Replication::context_of(const ReplicaName& replica) {
  shm::ReplicaSlot slot{};
  {
    shm::Locked locked(base_, lock_);
    PresenceStore s(base_);
    auto& h = s.header();
    const int found = find_replica(h, replica);
    if (found < 0) return std::nullopt;
    slot = h.replicas[static_cast<std::size_t>(found)];
  }
  return context_of_slot(slot);
}

namespace {

// Nullopt when `may_fall_back` is false and only a full state would do.
std::optional<Delta> extract(std::byte* base, LockOps lock, bool want_full,
                             std::uint64_t remote_clock, bool may_fall_back) {
  auto& buf = shm::scratch_buffer();
  ExtractHead head{};
  ReplicaName origin;
  auto tombstones = [](PresenceStore& s) {
    return reinterpret_cast<shm::Tombstone*>(s.base() + s.header().tombs);
  };
  // Removals newer than the remote clock, newest first, whatever the age of the
  // removed meta: a receiver may hold a meta of the range it learned out of order.
  auto for_new_tombs = [&](PresenceStore& s, auto&& f) {
    const auto& h = s.header();
    const std::uint64_t oldest =
        h.tomb_count > h.tomb_capacity ? h.tomb_count - h.tomb_capacity : 0;
    for (std::uint64_t i = h.tomb_count; i > oldest; --i) {
      const shm::Tombstone& t = tombstones(s)[(i - 1) % h.tomb_capacity];
      if (t.event_clock <= remote_clock) break;
      f(t);
    }
  };
  auto refused = [&] { return head.full_state != 0 && !want_full && !may_fall_back; };
  auto for_joins = [&](PresenceStore& s, auto&& f) {
    const auto& local = s.header().replicas[shm::kLocalReplica];
    for (Offset m = local.meta_tail; m != 0; m = s.at<shm::MetaRecord>(m).replica_prev) {
      const auto& rec = s.at<shm::MetaRecord>(m);
      if (head.full_state == 0 && rec.clock <= remote_clock) break;
      f(rec);
    }
  };
  const std::size_t bytes = shm::copy_locked(
      base, lock, buf,
      [&](PresenceStore& s) {
        const auto& h = s.header();
        const auto& local = h.replicas[shm::kLocalReplica];
        origin = name_of(local);
        head = ExtractHead{};
        head.to = local.clock;
        head.full_state = want_full || remote_clock > local.clock || remote_clock < h.tomb_floor;
        std::size_t need = sizeof head;
        if (refused()) return need;
        for_joins(s, [&](const shm::MetaRecord& m) { need += s.record_size(m); });
        if (head.full_state == 0) {
          for_new_tombs(s, [&](const shm::Tombstone&) { need += sizeof(shm::Tombstone); });
        }
        return need;
      },
      [&](PresenceStore& s, std::byte* dst) {
        shm::LinearSink sink{dst + sizeof head};
        if (refused()) {
          std::memcpy(dst, &head, sizeof head);
          return;
        }
        for_joins(s, [&](const shm::MetaRecord& m) {
          head.join_bytes += static_cast<std::uint32_t>(s.record_size(m));
          s.write_record(m, ChangeKind::join, 0, sink);
        });
        if (head.full_state == 0) {
          for_new_tombs(s, [&](const shm::Tombstone& t) {
            ++head.leaves;
            sink.put(&t, sizeof t);
          });
        }
        std::memcpy(dst, &head, sizeof head);
      });
  Delta d;
  d.origin = std::move(origin);
  if (bytes < sizeof head) return d;
  if (refused()) return std::nullopt;
  d.full_state = head.full_state != 0;
  d.from = d.full_state ? 0 : remote_clock;
  d.to = head.to;
  const std::byte* p = buf.data() + sizeof head;
  std::size_t left = head.join_bytes;
  shm::DecodedRecord r;
  while (left > 0) {
    const std::size_t n = shm::decode_record(p, left, r);
    if (n == 0) break;
    p += n;
    left -= n;
    d.joins.push_back(DeltaJoin{std::move(r.topic), std::move(r.key), r.clock, r.prev_clock,
                                r.lineage, std::move(r.meta), r.page_loaded_at_ms,
                                r.updated_at_ms});
  }
  std::reverse(d.joins.begin(), d.joins.end());  // oldest first
  for (std::uint32_t i = 0; i < head.leaves; ++i) {
    shm::Tombstone t;
    std::memcpy(&t, p, sizeof t);
    p += sizeof t;
    d.leaves.push_back(DeltaLeave{t.removed_clock, t.lineage});
  }
  std::reverse(d.leaves.begin(), d.leaves.end());
  return d;
}

}  // namespace

Delta Replication::extract_delta(std::uint64_t remote_clock) {
  return *extract(base_, lock_, false, remote_clock, true);
}

Delta Replication::extract_full_state() {
  return *extract(base_, lock_, true, 0, true);
}

std::optional<Delta> Replication::extract_delta_within(std::uint64_t remote_clock) {
  return extract(base_, lock_, false, remote_clock, false);
}

MergeStatus Replication::merge(const Delta& d) {
  if (!valid_delta(d)) return MergeStatus::invalid_argument;
  // Sorted before locking: a full state drops the origin's metas it does not list.
  std::vector<std::uint64_t> listed;
  if (d.full_state) {
    listed.reserve(d.joins.size());
    for (const DeltaJoin& j : d.joins) listed.push_back(j.clock);
    std::sort(listed.begin(), listed.end());
  }
  shm::Locked locked(base_, lock_);
  PresenceStore s(base_);
  auto& h = s.header();
  if (same_name(h.replicas[shm::kLocalReplica], d.origin)) return MergeStatus::ignored;
  int found = find_replica(h, d.origin);
  if (found < 0) found = add_replica(h, d.origin);
  if (found < 0) return MergeStatus::replicas_full;
  const auto slot = static_cast<std::uint16_t>(found);
  auto& replica = h.replicas[slot];
  if (replica.state == ReplicaState::permdown) return MergeStatus::ignored;

  // The context after the delta is computed first, so a merge that would
  // overflow the cloud changes nothing. Removed dots inside the range are
  // covered by it; older ones join the context one by one.
  const auto seen = shm::OriginContext::of(replica);
  auto after = seen;
  if (!after.add(d.from + 1, d.to)) return MergeStatus::needs_full_state;
  for (const DeltaLeave& l : d.leaves) {
    if (l.clock <= d.from && !after.add(l.clock, l.clock)) return MergeStatus::needs_full_state;
  }

  for (const DeltaLeave& l : d.leaves) {
    const Offset m = s.find_lineage(slot, l.lineage);
    if (m != 0 && s.at<shm::MetaRecord>(m).clock <= l.clock) s.remove(m);
  }
  // What a full state no longer lists goes before its joins come in: a
  // region full of stale metas still takes the state that replaces them.
  if (d.full_state) {
    for (Offset m = replica.meta_head; m != 0;) {
      const auto& rec = s.at<shm::MetaRecord>(m);
      const Offset next = rec.replica_next;
      if (rec.clock <= d.to && !std::binary_search(listed.begin(), listed.end(), rec.clock)) {
        s.remove(m);
      }
      m = next;
    }
  }
  bool full = false;
  for (const DeltaJoin& j : d.joins) {
    if (seen.contains(j.clock)) continue;
    // At most one meta per chain of updates: an older state never replaces a newer one.
    if (const Offset m = s.find_lineage(slot, j.lineage); m != 0) {
      if (s.at<shm::MetaRecord>(m).clock >= j.clock) continue;
      s.remove(m);
    }
    const PresenceStore::NewMeta fields{
        slot, 0, 0, j.clock, j.prev_clock, j.lineage, j.page_loaded_at_ms, j.updated_at_ms};
    Offset added = 0;
    if (s.insert(j.topic, j.key, j.meta, fields, true, false, &added) == TrackError::region_full) {
      full = true;
      break;
    }
    shm::crash_point(shm::CrashPoint::merge_applied);
  }
  if (full) {
    // The removals happened: keep their dots (if they fit), not the range.
    auto removed = seen;
    bool fits = true;
    for (const DeltaLeave& l : d.leaves) fits = fits && removed.add(l.clock, l.clock);
    if (fits) removed.store(replica);
    return MergeStatus::region_full;
  }
  after.store(replica);
  return MergeStatus::ok;
}

namespace {

enum class Transition { down, up, permdown, readmit };

bool transition(std::byte* base, LockOps lock, const ReplicaName& name, Transition to) {
  shm::Locked locked(base, lock);
  PresenceStore s(base);
  auto& h = s.header();
  const int found = find_replica(h, name);
  if (found <= static_cast<int>(shm::kLocalReplica)) return false;
  auto& replica = h.replicas[static_cast<std::size_t>(found)];
  const bool allowed = to == Transition::down      ? replica.state == ReplicaState::up
                       : to == Transition::up      ? replica.state == ReplicaState::down
                       : to == Transition::readmit ? replica.state == ReplicaState::permdown
                                                   : replica.state != ReplicaState::permdown;
  if (!allowed) return false;
  if (to == Transition::readmit) {
    // Permdown left no metas and an empty context: the slot starts over.
    shm::OriginContext{}.store(replica);
    replica.state = ReplicaState::up;
    s.bump_stats_version();
    return true;
  }
  for (Offset m = replica.meta_head; m != 0;) {
    const Offset next = s.at<shm::MetaRecord>(m).replica_next;
    if (to == Transition::permdown) {
      s.remove(m);
    } else {
      s.set_visible(m, to == Transition::up);
    }
    m = next;
  }
  if (to == Transition::permdown) {
    shm::OriginContext{}.store(replica);
    replica.state = ReplicaState::permdown;
  } else {
    replica.state = to == Transition::up ? ReplicaState::up : ReplicaState::down;
  }
  s.bump_stats_version();  // the counted nodes changed
  return true;
}

}  // namespace

bool Replication::replica_down(const ReplicaName& r) {
  return transition(base_, lock_, r, Transition::down);
}
bool Replication::replica_up(const ReplicaName& r) {
  return transition(base_, lock_, r, Transition::up);
}
bool Replication::replica_permdown(const ReplicaName& r) {
  return transition(base_, lock_, r, Transition::permdown);
}
bool Replication::replica_readmit(const ReplicaName& r) {
  return transition(base_, lock_, r, Transition::readmit);
}

bool Replication::replica_join(const ReplicaName& r) {
  shm::Locked locked(base_, lock_);
  PresenceStore s(base_);
  auto& h = s.header();
  if (find_replica(h, r) >= 0 || add_replica(h, r) < 0) return false;
  s.bump_stats_version();  // a node with no shoppers yet is counted too
  return true;
}

}  // namespace presence
