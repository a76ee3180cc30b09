// Sending: batched own deltas, heartbeats, transfer requests and answers; a
// sealed message above the inline bound goes through keys in chunks with a
// pointer on the bus. Receiving chunks: assembled, checked against the
// pointer, opened, and handled as if it had come inline.
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "node_state.hpp"
#include "presence/delta_codec.hpp"
#include "presence/sodium_ready.hpp"

namespace presence::cluster {

namespace {

// One slot read under the lock, not the whole context: this runs after every
// delta and heartbeat.
ReplicaContext origin_context(Replication& crdt, const ReplicaName& origin) {
  if (auto c = crdt.context_of(origin)) return std::move(*c);
  return ReplicaContext{origin, ReplicaState::permdown, 0, {}};
}

}  // namespace

void Node::Impl::send(Kind kind, const std::string& channel, std::string_view target,
                      std::string payload, bool via_keys, std::int64_t now_ms,
                      std::vector<Command>& out) {
  const Envelope e{kind, self, next_seq(now_ms), now_ms, std::string(target), std::move(payload)};
  std::string sealed = seal(e, settings.key);
  auto publish = [&](std::string bytes) {
    bump(counters().messages_out);
    bump(counters().bytes_out, bytes.size());
    out.push_back(Command{Command::Op::publish, channel, std::move(bytes), 0, {}, 0});
  };
  if (!via_keys && sealed.size() <= settings.inline_max_bytes) return publish(std::move(sealed));
  if (sealed.size() > kMaxAssembledBytes) return;  // no receiver would take it
  const std::size_t chunk =
      std::max(settings.chunk_bytes, (sealed.size() + kMaxChunks - 1) / kMaxChunks);
  ChunkPointer ptr;
  ptr.key_prefix = settings.cluster + ":xfer:" + self.node + ":" + std::to_string(e.seq);
  ptr.chunks = static_cast<std::uint32_t>((sealed.size() + chunk - 1) / chunk);
  ptr.total_bytes = sealed.size();
  ptr.hash = content_hash(sealed);
  for (std::uint32_t i = 0; i < ptr.chunks; ++i) {
    std::string bytes = sealed.substr(i * chunk, chunk);
    bump(counters().bytes_out, bytes.size());
    out.push_back(Command{Command::Op::set_chunk,
                          ptr.key_prefix + ":" + std::to_string(i),
                          std::move(bytes),
                          settings.chunk_ttl_ms,
                          {},
                          0});
  }
  bump(counters().transfers_via_keys_out);
  const Envelope pointer{Kind::pointer,      self, next_seq(now_ms), now_ms, std::string(target),
                         encode_pointer(ptr)};
  publish(seal(pointer, settings.key));
}

void Node::Impl::publish_own_delta(std::int64_t now_ms, std::vector<Command>& out) {
  // The full state being extracted carries on from the cursor.
  if (extract && extract->broadcast) return;
  std::optional<Delta> d = crdt.extract_delta_within(cursor);
  if (!d) return want_full_state(nullptr, now_ms, out);
  if (d->to == cursor) return;  // nothing new since the last batch
  std::string payload = encode_delta(*d);
  publish_delta(*d, std::move(payload), now_ms, out);
}

void Node::Impl::publish_delta(const Delta& d, std::string payload, std::int64_t now_ms,
                               std::vector<Command>& out) {
  send(Kind::delta, broadcast_channel(settings.cluster), {}, std::move(payload), d.full_state,
       now_ms, out);
  cursor = d.to;
  bump(counters().deltas_out);
  bump(counters().updates_out, d.joins.size() + d.leaves.size());
}

void Node::Impl::want_full_state(const Peer* p, std::int64_t now_ms, std::vector<Command>& out) {
  if (!extract) extract.emplace();
  // The first slice at once: a small state goes out now, as a delta does.
  const auto first_slice = [&] {
    if (extract->job.slices() == 0) extract_some(settings.merge_slice_ns, now_ms, out);
  };
  if (p == nullptr) {
    extract->broadcast = true;
    return first_slice();
  }
  // Peers forgotten since they asked get nothing, and take no room.
  std::erase_if(extract->peers, [&](const ReplicaName& name) {
    const Peer* known = find_peer(name);
    return known == nullptr || known->state == ReplicaState::permdown;
  });
  if (std::find(extract->peers.begin(), extract->peers.end(), p->name) == extract->peers.end()) {
    extract->peers.push_back(p->name);
  }
  first_slice();
}

void Node::Impl::extract_some(std::int64_t slice_ns, std::int64_t now_ms,
                              std::vector<Command>& out) {
  ExtractJob& job = extract->job;
  const std::size_t walks = job.walks();
  const auto start = std::chrono::steady_clock::now();
  crdt.extract_slice(job, slice_ns);
  record_extract_hold(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count(),
      job.walks() - walks);
  if (!job.done()) return;
  PendingExtract done = std::move(*extract);
  extract.reset();
  const Delta d = done.job.take();
  std::string payload = encode_delta(d);
  for (const ReplicaName& name : done.peers) {
    const Peer* p = find_peer(name);
    if (p == nullptr || p->state == ReplicaState::permdown) continue;
    send(Kind::transfer_ack, node_channel(settings.cluster, name.node), name.node, payload, false,
         now_ms, out);
    bump(counters().transfers_out);
  }
  if (done.broadcast) publish_delta(d, std::move(payload), now_ms, out);
}

void Node::Impl::heartbeat(std::int64_t now_ms, std::vector<Command>& out) {
  CausalContext ctx = crdt.context();
  // Down and forgotten replicas are left out, as Phoenix does; our own clock
  // is what we published, so that nobody asks for a batch still to come.
  std::erase_if(ctx.replicas, [](const ReplicaContext& c) { return c.state != ReplicaState::up; });
  if (!ctx.replicas.empty() && ctx.replicas.front().replica == self) {
    ctx.replicas.front().clock = std::min(ctx.replicas.front().clock, cursor);
    ctx.replicas.front().cloud.clear();
  }
  send(Kind::heartbeat, broadcast_channel(settings.cluster), {}, encode_context(ctx), false, now_ms,
       out);
}

void Node::Impl::ask_transfer(Peer& p, bool full, bool force, std::int64_t now_ms,
                              std::vector<Command>& out) {
  if (!force && p.transfer_pending && now_ms - p.transfer_asked_ms < settings.transfer_retry_ms) {
    return;
  }
  const TransferRequest q{p.name, full ? 0 : origin_context(crdt, p.name).clock};
  send(Kind::transfer_req, node_channel(settings.cluster, p.name.node), p.name.node,
       encode_transfer_request(q), false, now_ms, out);
  p.transfer_pending = true;
  p.transfer_full = p.transfer_full || full;
  p.transfer_asked_ms = now_ms;
  bump(counters().transfer_requests_out);
}

void Node::Impl::check_gap(Peer& p, std::int64_t now_ms, std::vector<Command>& out) {
  // What is queued or being fetched may fill the gap: judged once it is merged.
  if (p.state == ReplicaState::permdown || p.fetch_id != 0 || queued_for(p.name)) return;
  if (p.transfer_full) return ask_transfer(p, true, false, now_ms, out);
  const ReplicaContext c = origin_context(crdt, p.name);
  if (!c.cloud.empty() || c.clock < p.announced_clock) {
    ask_transfer(p, false, false, now_ms, out);
  } else {
    p.transfer_pending = false;
  }
}

void Node::Impl::answer_transfer(Peer& p, const TransferRequest& q, std::int64_t now_ms,
                                 std::vector<Command>& out) {
  if (q.of != self) return;  // asks a previous generation of this node
  // One answer per half retry period and asker: a retried request is answered,
  // a burst of them is not.
  if (p.last_answer_ms && now_ms - *p.last_answer_ms < settings.transfer_retry_ms / 2) return;
  p.last_answer_ms = now_ms;
  // A full state, asked for or because the tombstones no longer reach back to
  // `from`, is extracted in slices by merge_some and sent once complete.
  std::optional<Delta> d;
  if (q.from != 0) d = crdt.extract_delta_within(q.from);
  if (!d) return want_full_state(&p, now_ms, out);
  send(Kind::transfer_ack, node_channel(settings.cluster, p.name.node), p.name.node,
       encode_delta(*d), false, now_ms, out);
  bump(counters().transfers_out);
}

void Node::Impl::fetch_chunks(Peer& p, const ChunkPointer& ptr, std::int64_t now_ms,
                              std::vector<Command>& out) {
  // One fetch per peer: a newer pointer supersedes the one still in flight.
  p.fetch_id = next_fetch_id++;
  p.fetch = ptr;
  p.fetch_started_ms = now_ms;
  Command get{Command::Op::get_chunks, {}, {}, 0, {}, p.fetch_id};
  get.keys.reserve(ptr.chunks);
  for (std::uint32_t i = 0; i < ptr.chunks; ++i) {
    get.keys.push_back(ptr.key_prefix + ":" + std::to_string(i));
  }
  out.push_back(std::move(get));
}

void Node::Impl::retry_transfers(std::int64_t now_ms, std::vector<Command>& out) {
  for (Peer& p : peers) {
    if (p.state == ReplicaState::permdown) continue;
    if (p.fetch_id != 0 && now_ms - p.fetch_started_ms > settings.chunk_ttl_ms) {
      p.fetch_id = 0;  // the chunks are gone by now
      drop(Drop::malformed);
      ask_transfer(p, p.transfer_full, true, now_ms, out);
    } else if (p.transfer_pending && now_ms - p.transfer_asked_ms >= settings.transfer_retry_ms) {
      check_gap(p, now_ms, out);
    }
  }
}

void Node::on_chunks(std::uint64_t fetch_id, const std::vector<std::optional<std::string>>& values,
                     std::int64_t now_ms, std::vector<Command>& out) {
  Impl& n = *impl_;
  auto it = std::find_if(n.peers.begin(), n.peers.end(),
                         [&](const Peer& p) { return fetch_id != 0 && p.fetch_id == fetch_id; });
  if (it == n.peers.end()) return;  // superseded, or its replica was forgotten
  Peer& p = *it;
  p.fetch_id = 0;
  const ChunkPointer& ptr = p.fetch;
  // Whatever the pointer named is lost: asked for again.
  auto lost = [&](Drop reason) {
    n.drop(reason);
    n.ask_transfer(p, p.transfer_full, true, now_ms, out);
    n.publish_status();
  };
  if (values.size() != ptr.chunks) return lost(Drop::malformed);
  std::uint64_t total = 0;
  for (const auto& v : values) {
    if (!v) return lost(Drop::malformed);  // expired or evicted
    total += v->size();
    if (total > ptr.total_bytes) return lost(Drop::oversized);
  }
  if (total != ptr.total_bytes) return lost(Drop::malformed);
  std::string sealed;
  sealed.reserve(total);
  for (const auto& v : values) sealed += *v;
  bump(n.counters().bytes_in, total);
  const auto hash = content_hash(sealed);
  sodium_ready();
  if (crypto_verify_32(hash.data(), ptr.hash.data()) != 0) return lost(Drop::bad_mac);
  Result<Envelope> e = open(sealed, n.settings.key);
  if (!e) {
    n.drop_for(e.code());
    n.ask_transfer(p, p.transfer_full, true, now_ms, out);
    return n.publish_status();
  }
  if (e->sender != p.name) return lost(Drop::spoofed);
  if (e->kind != Kind::delta && e->kind != Kind::transfer_ack) return lost(Drop::malformed);
  // The pointer passed the replay guard; the message it names is not checked again.
  n.handle(std::move(*e), now_ms, true, out);
  n.publish_status();
}

}  // namespace presence::cluster
