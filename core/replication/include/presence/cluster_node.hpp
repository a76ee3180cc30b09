// One node's side of the Phoenix.Tracker protocol over a publish/subscribe
// bus, with no I/O of its own: the transport (the nginx module's Redis link)
// hands it what arrives and carries out the commands it returns, in order.
//
// - Deltas: every batch period the node publishes its own changes since the
//   cursor; a heartbeat with its context every heartbeat period.
// - A receiver merges; one that sees a gap, or a clock it does not hold,
//   asks the origin for a transfer (transfer_req), answered (transfer_ack)
//   with the smallest delta that fills it, a full state when the tombstones
//   no longer reach back.
// - A peer silent for `down_ms` is hidden (replica_down) and shown again when
//   it speaks; after `permdown_ms` it is forgotten, and admitted again when it
//   comes back. A newer generation of a node permdowns the older at once. A
//   `permdown` message forgets its sender at once.
// - A sealed message over `inline_max_bytes` travels through keys in chunks
//   with a pointer on the bus; large merges and full-state extractions run in
//   slices (merge_some) so the zone lock is held at most about
//   `merge_slice_ns` at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "presence/cluster_message.hpp"
#include "presence/cluster_status.hpp"
#include "presence/replication.hpp"

namespace presence::cluster {

// A delta with more joins and leaves than this (or a full state) is merged
// in slices by merge_some, not inline.
inline constexpr std::size_t kSlicedMergeUpdates = 2000;
// Merges waiting behind a sliced one, per origin and in all; past them a
// delta is dropped and its range asked for again once the queue drains.
inline constexpr std::size_t kMaxQueuedPerOrigin = 16;
inline constexpr std::size_t kMaxQueuedMerges = 64;

struct Settings {
  std::string cluster;  // channel and key prefix
  SecretKey key;
  std::int64_t batch_ms = 50;
  std::int64_t heartbeat_ms = 1000;
  std::int64_t down_ms = 5000;
  std::int64_t permdown_ms = 20 * 60 * 1000;
  std::size_t inline_max_bytes = 256 * 1024;
  std::size_t chunk_bytes = 1024 * 1024;
  std::int64_t chunk_ttl_ms = 60'000;
  std::int64_t merge_slice_ns = 2'000'000;
  // A transfer asked and not answered is asked again after this long.
  std::int64_t transfer_retry_ms = 1000;
};

// What the transport must do, in order.
struct Command {
  enum class Op : std::uint8_t {
    publish,     // PUBLISH target bytes
    set_chunk,   // SET target bytes PX ttl_ms
    get_chunks,  // GET each of keys, then on_chunks(fetch_id, values)
  };
  Op op = Op::publish;
  std::string target;  // channel or key
  std::string bytes;
  std::int64_t ttl_ms = 0;
  std::vector<std::string> keys;
  std::uint64_t fetch_id = 0;
};

class Node {
 public:
  // `cursor`: the own clock already published (kept in shared memory by the
  // caller, so that the next owner of the link carries on from it).
  // `status`: where counters and peer liveness are written (may be shared memory).
  Node(Replication replication, Settings settings, std::uint64_t cursor, Status* status,
       std::int64_t now_ms);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // "<cluster>:all" (broadcasts) and "<cluster>:node:<name>" (addressed to us).
  std::vector<std::string> channels() const;

  // A message from the bus; anything invalid is counted by reason and dropped.
  void on_message(std::string_view channel, std::string_view bytes, std::int64_t now_ms,
                  std::vector<Command>& out);
  // The values of a get_chunks command, in its keys' order (nullopt: missing).
  void on_chunks(std::uint64_t fetch_id, const std::vector<std::optional<std::string>>& values,
                 std::int64_t now_ms, std::vector<Command>& out);
  // Call at least every batch_ms: publishes the batched delta, the heartbeat
  // when due, marks silent peers down or permdown, retries transfers.
  void tick(std::int64_t now_ms, std::vector<Command>& out);
  // Applies queued merges and extracts a full state being answered, one
  // slice at a time, until `budget_ns` is spent; true while work remains
  // (call again from the event loop, soon).
  bool merge_some(std::int64_t now_ms, std::int64_t budget_ns, std::vector<Command>& out);
  // True while merge_some has work: merges queued, a full state being extracted.
  bool merging() const noexcept;
  // A graceful stop: this generation leaves for good.
  void announce_permdown(std::int64_t now_ms, std::vector<Command>& out);

  std::uint64_t cursor() const noexcept;
  // When our own heartbeat last came back through the bus: the link's liveness.
  std::int64_t last_echo_ms() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A permdown message sealed without a Node (the master process at a graceful
// stop has the secret and the replica name, not the link).
std::string seal_permdown(const Settings& settings, const ReplicaName& self, std::uint64_t seq,
                          std::int64_t now_ms);
std::string broadcast_channel(std::string_view cluster);
std::string node_channel(std::string_view cluster, std::string_view node);

}  // namespace presence::cluster
