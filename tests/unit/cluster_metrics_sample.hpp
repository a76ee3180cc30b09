// A cluster::Status and replica list with every slot and counter set: what
// the unit tests check the cluster metrics on, and what the
// cluster-metrics-sample tool prints for `promtool check metrics`.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "presence/cluster_status.hpp"
#include "presence/replica.hpp"

namespace presence::test {

inline constexpr std::int64_t kSampleNowMs = 1'764'277'500'000;

inline void set_peer(cluster::PeerStatus& p, std::string_view name, std::uint64_t generation,
                     std::int64_t lag_ms, std::int64_t silent_ms) {
  p = cluster::PeerStatus{};
  p.used = 1;
  p.state = static_cast<std::uint8_t>(ReplicaState::up);
  p.name_len = static_cast<std::uint8_t>(name.size());
  std::memcpy(p.name.data(), name.data(), name.size());
  p.generation = generation;
  p.lag_ms = lag_ms;
  p.last_heard_ms = kSampleNowMs - silent_ms;
  p.clock = 42;
}

// A store with three nodes seen from store-a: store-b lagging 120 ms,
// store-c down, an old generation of store-b permdown.
inline cluster::Status sample_status() {
  cluster::Status s{};
  auto& c = s.counters;
  c.messages_out = 1000;
  c.messages_in = 2000;
  c.bytes_out = 64'000;
  c.bytes_in = 128'000;
  c.own_echoes = 1000;
  c.deltas_out = 900;
  c.deltas_in = 1800;
  c.updates_out = 30'000;
  c.transfer_requests_out = 3;
  c.transfer_requests_in = 2;
  c.transfers_out = 2;
  c.transfers_in = 3;
  c.transfers_via_keys_out = 1;
  c.transfers_via_keys_in = 1;
  c.merges = 1803;
  c.merge_slices = 1900;
  c.merge_lock_ns_total = 1'500'000'000;
  c.merge_lock_ns_max = 4'250'000;
  c.extract_slices = 34;
  c.extract_lock_ns_max = 580'000;
  c.replicas_down = 1;
  c.replicas_permdown = 1;
  c.replicas_readmitted = 0;
  c.redis_connects = 2;
  c.redis_errors = 1;
  c.takeovers = 1;
  for (std::size_t i = 0; i < cluster::kDropReasons; ++i) c.drops[i] = i + 1;
  s.linked = 1;
  s.last_echo_ms = kSampleNowMs - 200;
  set_peer(s.peers[0], "store-b", 2, 120, 300);
  set_peer(s.peers[1], "store-c", 1, 80, 9000);
  s.peers[1].state = static_cast<std::uint8_t>(ReplicaState::down);
  return s;
}

inline std::vector<ReplicaInfo> sample_replicas() {
  return {
      {{"store-a", 5}, ReplicaState::up, 1200, 90'000, true},
      {{"store-b", 2}, ReplicaState::up, 800, 42, false},
      {{"store-c", 1}, ReplicaState::down, 500, 7000, false},
      {{"store-b", 1}, ReplicaState::permdown, 0, 3000, false},
  };
}

}  // namespace presence::test
