// The values the tracker hands across its API: owners, handles, results, the
// views of stored metas and the change stream. Process-local (std containers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "presence/cart_meta.hpp"

namespace presence {

inline constexpr std::size_t kMaxTopicBytes = 256;
inline constexpr std::size_t kMaxKeyBytes = kMaxSubBytes;
// A key (cart) holds at most this many metas (open tabs) at once.
inline constexpr std::size_t kMaxMetasPerKey = 100;
// Distinct worker pids owning metas at once; far above any worker_processes.
inline constexpr std::size_t kMaxOwnerPids = 256;

// Lock handed in by the caller: nginx passes the zone's shpool->mutex; tests a
// process-shared lock living in the mmap'ed region. Never stored in the region.
struct LockOps {
  void* ctx;
  void (*lock)(void*) noexcept;
  void (*unlock)(void*) noexcept;
};

struct Owner {
  std::uint32_t pid;
  std::uint64_t conn;
};

// Opaque reference to one stored meta; a stale handle is detected, never misread.
struct MetaHandle {
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;
  bool operator==(const MetaHandle&) const = default;
};

enum class TrackError { none, region_full, key_full, not_found, invalid_argument };

struct TrackResult {
  TrackError error;
  MetaHandle handle;
  std::string phx_ref;
};

// Smallest change log and tombstone log a TrackerConfig may ask for.
inline constexpr std::size_t kMinChangeLogBytes = 64 * 1024;
inline constexpr std::size_t kMinTombstoneLogEntries = 64;
inline constexpr std::size_t kDefaultTombstoneLogEntries = 16384;

struct TrackerConfig {
  std::string node_name;
  std::uint64_t generation;
  std::size_t change_log_bytes;
  // Removals remembered for delta extraction; a peer further behind gets a full state.
  std::size_t tombstone_log_entries = kDefaultTombstoneLogEntries;
};

struct MetaView {
  std::string phx_ref;
  std::string phx_ref_prev;  // empty if none
  CartMeta meta;
  std::int64_t page_loaded_at_ms;
  bool operator==(const MetaView&) const = default;
};

struct PresenceEntry {
  std::string topic;
  std::string key;
  MetaView meta;
  bool operator==(const PresenceEntry&) const = default;
};

enum class ChangeKind { join, leave };

struct Change {
  ChangeKind kind;
  std::string topic;
  std::string key;
  MetaView meta;
  bool operator==(const Change&) const = default;
};

enum class ChangeStatus { ok, behind /* caller must resync from a full snapshot */ };

struct StatsSnapshot {
  std::uint64_t shoppers = 0;
  std::uint64_t connections = 0;
  std::vector<std::pair<std::string, std::uint64_t>> pages;  // page -> open connections
  std::vector<std::tuple<std::string, std::string, std::uint64_t>> carts;  // product, size, qty
  std::vector<std::string> nodes;                                          // replicas counted (up)
  bool operator==(const StatsSnapshot&) const = default;
};

struct TrackerUsage {
  std::size_t region_bytes;
  std::size_t used_bytes;
  std::uint64_t metas;
  std::uint64_t keys;
  std::uint64_t track_failures_full;
};

}  // namespace presence
