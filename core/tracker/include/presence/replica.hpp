// Replica names and states as the tracker's region stores them: every meta
// carries the dot (replica, clock) of the replica that made it.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>

namespace presence {

inline constexpr std::size_t kMaxReplicas = 64;
inline constexpr std::size_t kMaxNodeNameBytes = 64;
// Out-of-order ranges remembered per replica; past it a full state is needed.
inline constexpr std::size_t kMaxCloudRanges = 32;

// A node name plus its start generation: a restarted node is a new replica.
struct ReplicaName {
  std::string node;
  std::uint64_t generation = 0;
  auto operator<=>(const ReplicaName&) const = default;
};

enum class ReplicaState : std::uint8_t { up = 1, down = 2, permdown = 3 };

// One replica as the views see it (Tracker::replicas()): a copy, not a handle.
struct ReplicaInfo {
  ReplicaName name;
  ReplicaState state = ReplicaState::up;
  std::uint64_t metas = 0;  // metas of it the zone holds (hidden ones of a down replica too)
  std::uint64_t clock = 0;  // every event of it up to this clock is seen
  bool local = false;       // the replica of this node
  bool operator==(const ReplicaInfo&) const = default;
};

}  // namespace presence
