// What the cluster driver publishes for every worker to read (/metrics, the
// admin stats): counters and per-peer liveness, placed in shared memory by
// the module. One writer (the worker owning the Redis link); readers take
// relaxed atomic loads. Trivially copyable, no pointers.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <type_traits>

#include "presence/replica.hpp"

namespace presence::cluster {

enum class Drop : std::uint8_t {
  malformed = 0,  // not a message of ours, cut short, bytes left over
  bad_mac,
  replayed,
  stale,
  oversized,
  spoofed,  // a MAC-valid message claiming a replica it may not speak for
  unknown_kind,
  count_
};
inline constexpr std::size_t kDropReasons = static_cast<std::size_t>(Drop::count_);

struct Counters {
  std::uint64_t messages_out;
  std::uint64_t messages_in;
  std::uint64_t bytes_out;
  std::uint64_t bytes_in;
  std::uint64_t own_echoes;
  std::uint64_t deltas_out;
  std::uint64_t deltas_in;
  std::uint64_t updates_out;  // joins and leaves sent in deltas
  std::uint64_t transfer_requests_out;
  std::uint64_t transfer_requests_in;
  std::uint64_t transfers_out;
  std::uint64_t transfers_in;
  std::uint64_t transfers_via_keys_out;
  std::uint64_t transfers_via_keys_in;
  std::uint64_t merges;
  std::uint64_t merge_slices;
  std::uint64_t merge_lock_ns_total;
  std::uint64_t merge_lock_ns_max;  // the longest lock hold of one slice
  std::uint64_t extract_slices;     // of full states extracted in slices
  std::uint64_t extract_lock_ns_max;
  std::uint64_t extract_walks;  // resumes that walked the list from its head again
  std::uint64_t replicas_down;  // transitions
  std::uint64_t replicas_permdown;
  std::uint64_t replicas_readmitted;
  std::uint64_t redis_connects;
  std::uint64_t redis_errors;
  std::uint64_t takeovers;
  std::array<std::uint64_t, kDropReasons> drops;
};

struct PeerStatus {
  std::uint8_t used;
  std::uint8_t state;  // a ReplicaState
  std::uint8_t name_len;
  std::uint8_t reserved[5];
  std::uint64_t generation;
  std::int64_t last_heard_ms;
  std::int64_t lag_ms;  // receive time minus send time of its last delta or heartbeat
  std::uint64_t clock;  // its clock as last announced
  std::array<char, kMaxNodeNameBytes> name;
};

struct Status {
  Counters counters;
  std::uint8_t linked;  // 1 while both Redis connections are up and subscribed
  std::uint8_t reserved[7];
  std::int64_t last_echo_ms;
  std::array<PeerStatus, kMaxReplicas> peers;
};
static_assert(std::is_trivially_copyable_v<Status>);

// One writer: a relaxed load, add and store are enough.
inline void bump(std::uint64_t& counter, std::uint64_t n = 1) noexcept {
  std::atomic_ref<std::uint64_t> ref(counter);
  ref.store(ref.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
inline std::uint64_t read(const std::uint64_t& counter) noexcept {
  return std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(counter))
      .load(std::memory_order_relaxed);
}

}  // namespace presence::cluster
