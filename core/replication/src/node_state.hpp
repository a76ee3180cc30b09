// The state behind presence::cluster::Node, shared by the files that
// implement it: peers and their liveness, outstanding transfers and chunk
// fetches, and the queue of merges applied in slices.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "presence/cluster_message.hpp"
#include "presence/cluster_node.hpp"
#include "presence/cluster_status.hpp"
#include "presence/replication.hpp"

namespace presence::cluster {

struct Peer {
  ReplicaName name;
  ReplicaState state = ReplicaState::up;
  bool left = false;  // announced permdown: never admitted again
  std::int64_t last_heard_ms = 0;
  std::int64_t lag_ms = 0;
  std::uint64_t announced_clock = 0;
  bool transfer_pending = false;
  bool transfer_full = false;
  std::int64_t transfer_asked_ms = 0;
  std::optional<std::int64_t> last_answer_ms;  // we last answered its transfer_req
  std::uint64_t fetch_id = 0;                  // chunks being fetched, 0: none
  std::int64_t fetch_started_ms = 0;
  ChunkPointer fetch;
};

struct QueuedMerge {
  ReplicaName origin;
  MergeJob job;
};

// A full state being extracted in slices by merge_some for the peers that
// asked for it (a transfer_ack to each) and, when our batch cursor fell behind
// the tombstones, for everyone (a delta on the broadcast channel). One at a
// time, so at most one copy of the state is held: a peer asking meanwhile
// waits for the same state, which any later delta completes.
struct PendingExtract {
  ExtractJob job;
  std::vector<ReplicaName> peers;  // known peers only: at most kMaxReplicas
  bool broadcast = false;
};

struct Node::Impl {
  Impl(Replication r, Settings s, std::uint64_t c, Status* st, std::int64_t now_ms);

  Replication crdt;
  Settings settings;
  ReplicaName self;
  std::uint64_t cursor;
  Status* status;
  Status own_status{};
  std::uint64_t last_seq = 0;
  std::optional<std::int64_t> last_batch_ms;
  std::optional<std::int64_t> last_heartbeat_ms;
  std::int64_t last_echo_ms = 0;
  ReplayGuard guard;
  std::vector<Peer> peers;  // at most kMaxReplicas
  std::uint64_t next_fetch_id = 1;
  std::deque<QueuedMerge> merges;
  std::optional<PendingExtract> extract;

  Counters& counters() { return status->counters; }
  void drop(Drop reason) { bump(counters().drops[static_cast<std::size_t>(reason)]); }
  void drop_for(Errc code);
  std::uint64_t next_seq(std::int64_t now_ms);

  // Receiving (cluster_node.cpp).
  void handle(Envelope&& e, std::int64_t now_ms, bool from_keys, std::vector<Command>& out);

  // Peers and liveness (node_peers.cpp).
  Peer* find_peer(const ReplicaName& name);
  // The peer a valid message comes from, brought up or admitted again; null
  // when the message must be ignored (an older generation, a replica that left).
  Peer* admit(const ReplicaName& name, std::int64_t now_ms, std::vector<Command>& out);
  void permdown(Peer& p);
  void forget_left(const ReplicaName& name);
  void check_liveness(std::int64_t now_ms);
  void publish_status();

  // Sending and transfers (node_transfer.cpp).
  void send(Kind kind, const std::string& channel, std::string_view target, std::string payload,
            bool via_keys, std::int64_t now_ms, std::vector<Command>& out);
  void publish_own_delta(std::int64_t now_ms, std::vector<Command>& out);
  void publish_delta(const Delta& d, std::string payload, std::int64_t now_ms,
                     std::vector<Command>& out);
  // A full state for `p` (null: for the broadcast channel), extracted in
  // slices; the first one at once.
  void want_full_state(const Peer* p, std::int64_t now_ms, std::vector<Command>& out);
  // One slice of the pending extraction; sends the state once it is complete.
  void extract_some(std::int64_t slice_ns, std::int64_t now_ms, std::vector<Command>& out);
  void heartbeat(std::int64_t now_ms, std::vector<Command>& out);
  void ask_transfer(Peer& p, bool full, bool force, std::int64_t now_ms, std::vector<Command>& out);
  void check_gap(Peer& p, std::int64_t now_ms, std::vector<Command>& out);
  void answer_transfer(Peer& p, const TransferRequest& q, std::int64_t now_ms,
                       std::vector<Command>& out);
  void fetch_chunks(Peer& p, const ChunkPointer& ptr, std::int64_t now_ms,
                    std::vector<Command>& out);
  void retry_transfers(std::int64_t now_ms, std::vector<Command>& out);

  // Merging (node_merge.cpp).
  void apply_delta(Peer& p, Delta&& d, std::int64_t now_ms, std::vector<Command>& out);
  void merged(Peer& p, MergeStatus result, std::int64_t now_ms, std::vector<Command>& out);
  bool queued_for(const ReplicaName& origin) const;
  void cancel_merges(const ReplicaName& origin);
  void record_lock_hold(std::int64_t ns);
  void record_extract_hold(std::int64_t ns, std::size_t walks);
};

}  // namespace presence::cluster
