// The values the tracker hands across its API: owners, handles, results, the
// views of stored metas and the change stream. Process-local (std containers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "presence/cart_meta.hpp"
#include "presence/history.hpp"
#include "presence/process_identity.hpp"
#include "presence/replica.hpp"

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
  std::uint64_t start_time = 0;  // of the process `pid` (see ProcessIdentity)
  ProcessIdentity process() const noexcept { return {pid, start_time}; }
};

// Opaque reference to one stored meta; a stale handle is detected, never misread.
struct MetaHandle {
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;
  bool operator==(const MetaHandle&) const = default;
};

// strings_full: the meta brings a page or (product, size) the zone does not hold
// yet, and the zone holds its cap of distinct strings; not_in_catalog: an item
// names a product or size the configured catalogue does not list.
enum class TrackError {
  none,
  region_full,
  key_full,
  not_found,
  invalid_argument,
  strings_full,
  not_in_catalog
};

struct TrackResult {
  TrackError error;
  MetaHandle handle;
  std::string phx_ref;
};

// Smallest change log and tombstone log a TrackerConfig may ask for.
inline constexpr std::size_t kMinChangeLogBytes = 64 * 1024;
inline constexpr std::size_t kMinTombstoneLogEntries = 64;
inline constexpr std::size_t kDefaultTombstoneLogEntries = 16384;

// The stats' `pages` and `carts` hold at most this many entries each by
// default, and at most kMaxStatsTop whatever the configuration: what an
// admin's stats push weighs does not depend on what shoppers send.
inline constexpr std::size_t kDefaultStatsTop = 50;
inline constexpr std::size_t kMaxStatsTop = 1000;
// Sizes shown per product in the stats (a shoe store's size run fits); the
// shoes of a shown product's other sizes are counted in carts_other.qty.
inline constexpr std::size_t kStatsSizesPerProduct = 32;
// Distinct strings (pages, product and size pairs) a zone may be configured to
// hold at once; by default as many as its string table has slots.
inline constexpr std::size_t kMaxStringsLimit = std::size_t{1} << 24;

class Catalog;

struct TrackerConfig {
  std::string node_name;
  std::uint64_t generation;
  std::size_t change_log_bytes;
  // Removals remembered for delta extraction; a peer further behind gets a full state.
  std::size_t tombstone_log_entries = kDefaultTombstoneLogEntries;
  // Samples kept by the timeline: one a second, one a minute (history.hpp bounds).
  std::size_t history_seconds = kDefaultHistorySeconds;
  std::size_t history_minutes = kDefaultHistoryMinutes;
  // Entries of the stats' pages and carts (1 to kMaxStatsTop).
  std::size_t stats_top = kDefaultStatsTop;
  // Cap on the distinct strings local metas may bring; 0: the string table's slots.
  std::size_t max_strings = 0;
  // Products and sizes local metas may name; null: any.
  std::shared_ptr<const Catalog> catalog = nullptr;
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

// What the busiest-first cut of the stats left out, summed exactly.
struct PagesOther {
  std::uint64_t pages = 0;        // distinct pages left out
  std::uint64_t connections = 0;  // their open connections
  bool operator==(const PagesOther&) const = default;
};
struct CartsOther {
  std::uint64_t products = 0;  // distinct products left out
  std::uint64_t qty = 0;       // shoes not shown: those of the products left out and of
                               // the sizes past kStatsSizesPerProduct of a shown product
  bool operator==(const CartsOther&) const = default;
};

// Shoppers per node: one entry per node name whose replica is up or down
// (a permdown one is forgotten), at most kMaxReplicas.
struct NodeConnections {
  std::string node;
  bool up = true;                 // down: silent, its shoppers not counted
  std::uint64_t connections = 0;  // metas its up (else its down) replicas hold
  bool operator==(const NodeConnections&) const = default;
};

struct StatsSnapshot {
  std::uint64_t shoppers = 0;
  std::uint64_t connections = 0;
  std::vector<std::pair<std::string, std::uint64_t>> pages;  // page -> open connections
  std::vector<std::tuple<std::string, std::string, std::uint64_t>> carts;  // product, size, qty
  std::vector<std::string> nodes;                                          // replicas counted (up)
  std::vector<NodeConnections> replicas;  // by node name, up and down
  PagesOther pages_other;
  CartsOther carts_other;
  bool operator==(const StatsSnapshot&) const = default;
};

struct TrackerUsage {
  std::size_t region_bytes;
  std::size_t used_bytes;
  std::size_t reserved_bytes;  // fresh room kept for updates of metas already stored
  std::uint64_t metas;
  std::uint64_t keys;
  std::uint64_t track_failures_full;
  std::uint64_t repairs;      // rebuilds after a process died inside a critical section
  std::uint64_t strings;      // distinct pages and product-size pairs held
  std::uint64_t max_strings;  // the cap local metas are held to
  std::uint64_t track_failures_strings;
};

}  // namespace presence
