// The CRDT types of replication, after Phoenix.Tracker.State: every
// meta carries a dot (replica, clock); a causal context (version vector plus a
// cloud of out-of-order ranges) says which dots a replica has seen. A replica
// only ever sends its own metas, so a delta concerns one origin replica.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "presence/cart_meta.hpp"
#include "presence/replica.hpp"

namespace presence {

struct ClockRange {
  std::uint64_t first;
  std::uint64_t last;
  bool operator==(const ClockRange&) const = default;
};

// What one replica knows of one origin: every clock <= `clock`, plus `cloud`.
struct ReplicaContext {
  ReplicaName replica;
  ReplicaState state = ReplicaState::up;
  std::uint64_t clock = 0;
  std::vector<ClockRange> cloud;
  bool operator==(const ReplicaContext&) const = default;
};

struct CausalContext {
  std::vector<ReplicaContext> replicas;  // local replica first
};

// One live meta of the origin, as replicated. `lineage` is the clock of the
// track that started the chain of updates: a replica holds at most one meta
// per (origin, lineage), which is what keeps stale states from resurrecting.
struct DeltaJoin {
  std::string topic;
  std::string key;
  std::uint64_t clock = 0;
  std::uint64_t prev_clock = 0;  // 0: not an update
  std::uint64_t lineage = 0;
  CartMeta meta;
  std::int64_t page_loaded_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  bool operator==(const DeltaJoin&) const = default;
};

// The removal of the origin's meta `clock` (of chain `lineage`).
struct DeltaLeave {
  std::uint64_t clock = 0;
  std::uint64_t lineage = 0;
  bool operator==(const DeltaLeave&) const = default;
};

// Every event of `origin` with a clock in (from, to] is reflected: a live meta
// in that range is in `joins`, anything else in it is gone. `leaves` name older
// metas removed since. A full state (from = 0) lists every live meta of the
// origin; a receiver drops the origin's metas <= to that it does not list.
struct Delta {
  ReplicaName origin;
  bool full_state = false;
  std::uint64_t from = 0;
  std::uint64_t to = 0;
  std::vector<DeltaJoin> joins;
  std::vector<DeltaLeave> leaves;
  bool operator==(const Delta&) const = default;
};

enum class MergeStatus {
  ok,
  ignored,           // own delta looped back, or the origin is permdown here
  replicas_full,     // kMaxReplicas distinct replicas known
  needs_full_state,  // the gap would exceed kMaxCloudRanges: ask the origin for a full state
  region_full,       // applied partly; the range is not acknowledged, retry later
  invalid_argument,  // malformed delta (to < from, oversized fields, ...)
};

}  // namespace presence
