// Helpers over the region's replica slots and the checks of a delta, shared
// by the whole-delta merge and the merge in slices. Called with the lock held
// where they touch the header.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>

#include "meta_bounds.hpp"
#include "presence/crdt.hpp"
#include "presence/phx_ref.hpp"
#include "tracker_layout.hpp"

namespace presence::shm {

inline ReplicaName name_of(const ReplicaSlot& slot) {
  return ReplicaName{std::string(slot.name.data(), slot.name_len), slot.generation};
}

inline bool same_name(const ReplicaSlot& slot, const ReplicaName& name) {
  return slot.generation == name.generation && slot.name_len == name.node.size() &&
         std::memcmp(slot.name.data(), name.node.data(), name.node.size()) == 0;
}

inline int find_replica(Header& h, const ReplicaName& name) {
  for (std::size_t i = 0; i < kMaxReplicas; ++i) {
    if (h.replicas[i].state != ReplicaState{} && same_name(h.replicas[i], name)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

// A new slot for `name`: an unused one, else one whose replica was permdown.
inline int add_replica(Header& h, const ReplicaName& name) {
  int slot = -1;
  for (std::size_t i = 1; i < kMaxReplicas && slot < 0; ++i) {
    if (h.replicas[i].state == ReplicaState{}) slot = static_cast<int>(i);
  }
  for (std::size_t i = 1; i < kMaxReplicas && slot < 0; ++i) {
    if (h.replicas[i].state == ReplicaState::permdown && h.replicas[i].metas == 0) {
      slot = static_cast<int>(i);
    }
  }
  if (slot < 0) return -1;
  auto& r = h.replicas[static_cast<std::size_t>(slot)];
  r = ReplicaSlot{};
  r.state = ReplicaState::up;
  r.name_len = static_cast<std::uint8_t>(name.node.size());
  std::memcpy(r.name.data(), name.node.data(), name.node.size());
  r.generation = name.generation;
  r.tag = replica_tag(name);
  return slot;
}

inline bool valid_join(const DeltaJoin& j, const Delta& d) {
  return within_bounds(j.meta) && within_bounds(j.topic, j.key) && j.clock > d.from &&
         j.clock <= d.to && j.lineage >= 1 && j.lineage <= j.clock && j.prev_clock < j.clock;
}

inline bool valid_delta(const Delta& d) {
  if (d.origin.node.empty() || d.origin.node.size() > kMaxNodeNameBytes || d.to < d.from) {
    return false;
  }
  if (d.full_state && (d.from != 0 || !d.leaves.empty())) return false;
  return std::all_of(d.joins.begin(), d.joins.end(),
                     [&](const DeltaJoin& j) { return valid_join(j, d); }) &&
         std::all_of(d.leaves.begin(), d.leaves.end(), [&](const DeltaLeave& l) {
           return l.clock >= 1 && l.clock <= d.to && l.lineage >= 1 && l.lineage <= l.clock;
         });
}

}  // namespace presence::shm
