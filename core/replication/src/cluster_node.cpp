// The protocol node: what arrives from the bus is checked (own echo, size,
// MAC, replay, spoofing, target) before anything is decoded further or
// merged; the periodic work (batched deltas, heartbeats, liveness, retries)
// runs from tick().
#include "presence/cluster_node.hpp"

#include <algorithm>

#include "node_state.hpp"
#include "presence/delta_codec.hpp"

namespace presence::cluster {

Node::Impl::Impl(Replication r, Settings s, std::uint64_t c, Status* st, std::int64_t now_ms)
    : crdt(r), settings(std::move(s)), cursor(c), status(st != nullptr ? st : &own_status) {
  settings.inline_max_bytes = std::min(settings.inline_max_bytes, kMaxInlineMessageBytes);
  settings.chunk_bytes = std::max<std::size_t>(settings.chunk_bytes, 1);
  const CausalContext ctx = crdt.context();
  self = ctx.replicas.front().replica;
  // The replicas this region already knows (a takeover, a reload) get a
  // down period from now to speak.
  for (std::size_t i = 1; i < ctx.replicas.size() && peers.size() < kMaxReplicas; ++i) {
    Peer p;
    p.name = ctx.replicas[i].replica;
    p.state = ctx.replicas[i].state;
    p.last_heard_ms = now_ms;
    p.announced_clock = ctx.replicas[i].clock;
    peers.push_back(std::move(p));
  }
  publish_status();
}

void Node::Impl::drop_for(Errc code) {
  switch (code) {
    case Errc::unauthorized:
      return drop(Drop::bad_mac);
    case Errc::too_large:
      return drop(Drop::oversized);
    case Errc::unsupported:
      return drop(Drop::unknown_kind);
    default:
      return drop(Drop::malformed);
  }
}

std::uint64_t Node::Impl::next_seq(std::int64_t now_ms) {
  // A later owner of the link (a fresh Node) starts above this one's seqs.
  const std::uint64_t by_time = static_cast<std::uint64_t>(std::max<std::int64_t>(now_ms, 0)) << 16;
  last_seq = std::max(last_seq + 1, by_time);
  return last_seq;
}

void Node::Impl::handle(Envelope&& e, std::int64_t now_ms, bool from_keys,
                        std::vector<Command>& out) {
  if (!e.target.empty() && e.target != self.node) return;  // another node's transfer
  switch (e.kind) {
    case Kind::permdown: {
      if (!e.payload.empty()) return drop(Drop::malformed);
      forget_left(e.sender);
      return;
    }
    case Kind::heartbeat: {
      Result<CausalContext> ctx = decode_context(e.payload);
      if (!ctx) return drop_for(ctx.code());
      if (ctx->replicas.empty() || ctx->replicas.front().replica != e.sender) {
        return drop(Drop::spoofed);
      }
      Peer* p = admit(e.sender, now_ms, out);
      if (p == nullptr) return;
      p->lag_ms = now_ms - e.sent_ms;
      p->announced_clock = std::max(p->announced_clock, ctx->replicas.front().clock);
      check_gap(*p, now_ms, out);
      return;
    }
    case Kind::delta:
    case Kind::transfer_ack: {
      Result<Delta> d = decode_delta(e.payload);
      if (!d) return drop_for(d.code());
      // A replica sends only its own metas.
      if (d->origin != e.sender) return drop(Drop::spoofed);
      Peer* p = admit(e.sender, now_ms, out);
      if (p == nullptr) return;
      p->lag_ms = now_ms - e.sent_ms;
      p->announced_clock = std::max(p->announced_clock, d->to);
      const bool transfer = e.kind == Kind::transfer_ack;
      bump(transfer ? counters().transfers_in : counters().deltas_in);
      if (from_keys) bump(counters().transfers_via_keys_in);
      if (transfer) {
        p->transfer_pending = false;
        p->transfer_full = false;
      }
      apply_delta(*p, std::move(*d), now_ms, out);
      return;
    }
    case Kind::transfer_req: {
      Result<TransferRequest> q = decode_transfer_request(e.payload);
      if (!q) return drop_for(q.code());
      Peer* p = admit(e.sender, now_ms, out);
      if (p == nullptr) return;
      bump(counters().transfer_requests_in);
      answer_transfer(*p, *q, now_ms, out);
      return;
    }
    case Kind::pointer: {
      // A pointer inside keys would chain fetches without end.
      if (from_keys) return drop(Drop::malformed);
      Result<ChunkPointer> ptr = decode_pointer(e.payload);
      if (!ptr) return drop_for(ptr.code());
      // A sender may only point at its own keys.
      const std::string own_keys = settings.cluster + ":xfer:" + e.sender.node + ":";
      if (!ptr->key_prefix.starts_with(own_keys)) return drop(Drop::spoofed);
      Peer* p = admit(e.sender, now_ms, out);
      if (p == nullptr) return;
      fetch_chunks(*p, *ptr, now_ms, out);
      return;
    }
  }
  drop(Drop::unknown_kind);
}

Node::Node(Replication replication, Settings settings, std::uint64_t cursor, Status* status,
           std::int64_t now_ms)
    : impl_(std::make_unique<Impl>(replication, std::move(settings), cursor, status, now_ms)) {}

Node::~Node() = default;

std::vector<std::string> Node::channels() const {
  return {broadcast_channel(impl_->settings.cluster),
          node_channel(impl_->settings.cluster, impl_->self.node)};
}

void Node::on_message(std::string_view channel, std::string_view bytes, std::int64_t now_ms,
                      std::vector<Command>& out) {
  Impl& n = *impl_;
  bump(n.counters().messages_in);
  bump(n.counters().bytes_in, bytes.size());
  if (bytes.size() > kMaxInlineMessageBytes) return n.drop(Drop::oversized);
  // Our own messages come back through the bus: dropped before any decoding,
  // except our heartbeat, whose echo proves the link works.
  Result<ReplicaName> sender = peek_sender(bytes);
  if (!sender) return n.drop_for(sender.code());
  if (*sender == n.self) {
    bump(n.counters().own_echoes);
    constexpr std::size_t kKindByte = 3;
    if (static_cast<Kind>(bytes[kKindByte]) == Kind::heartbeat &&
        channel == broadcast_channel(n.settings.cluster) && open(bytes, n.settings.key)) {
      n.last_echo_ms = now_ms;
      std::atomic_ref<std::int64_t>(n.status->last_echo_ms)
          .store(now_ms, std::memory_order_relaxed);
    }
    return;
  }
  Result<Envelope> e = open(bytes, n.settings.key);
  if (!e) return n.drop_for(e.code());
  switch (n.guard.check(e->sender, e->seq, e->sent_ms, now_ms)) {
    case ReplayVerdict::replayed:
      return n.drop(Drop::replayed);
    case ReplayVerdict::stale:
      return n.drop(Drop::stale);
    case ReplayVerdict::fresh:
      break;
  }
  n.handle(std::move(*e), now_ms, false, out);
  n.publish_status();
}

void Node::tick(std::int64_t now_ms, std::vector<Command>& out) {
  Impl& n = *impl_;
  if (!n.last_batch_ms || now_ms - *n.last_batch_ms >= n.settings.batch_ms) {
    n.last_batch_ms = now_ms;
    n.publish_own_delta(now_ms, out);
  }
  if (!n.last_heartbeat_ms || now_ms - *n.last_heartbeat_ms >= n.settings.heartbeat_ms) {
    n.last_heartbeat_ms = now_ms;
    n.heartbeat(now_ms, out);
  }
  n.check_liveness(now_ms);
  n.retry_transfers(now_ms, out);
  n.publish_status();
}

void Node::announce_permdown(std::int64_t now_ms, std::vector<Command>& out) {
  Impl& n = *impl_;
  n.send(Kind::permdown, broadcast_channel(n.settings.cluster), {}, {}, false, now_ms, out);
}

std::uint64_t Node::cursor() const noexcept {
  return impl_->cursor;
}
std::int64_t Node::last_echo_ms() const noexcept {
  return impl_->last_echo_ms;
}

std::string seal_permdown(const Settings& settings, const ReplicaName& self, std::uint64_t seq,
                          std::int64_t now_ms) {
  return seal(Envelope{Kind::permdown, self, seq, now_ms, {}, {}}, settings.key);
}

std::string broadcast_channel(std::string_view cluster) {
  return std::string(cluster) + ":all";
}

std::string node_channel(std::string_view cluster, std::string_view node) {
  return std::string(cluster) + ":node:" + std::string(node);
}

}  // namespace presence::cluster
