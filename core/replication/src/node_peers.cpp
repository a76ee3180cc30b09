// Peers and their liveness, as Phoenix.Tracker: silent for down_ms, hidden;
// for permdown_ms, forgotten; back again, shown or admitted anew. A newer
// generation of a node name replaces the older at once.
#include <algorithm>
#include <cstring>

#include "node_state.hpp"

namespace presence::cluster {

namespace {

template <typename T>
void store(T& field, T value) {
  std::atomic_ref<T>(field).store(value, std::memory_order_relaxed);
}

}  // namespace

Peer* Node::Impl::find_peer(const ReplicaName& name) {
  auto it = std::find_if(peers.begin(), peers.end(), [&](const Peer& p) { return p.name == name; });
  return it == peers.end() ? nullptr : &*it;
}

void Node::Impl::permdown(Peer& p) {
  if (p.state == ReplicaState::permdown) return;
  crdt.replica_permdown(p.name);
  cancel_merges(p.name);
  guard.forget(p.name);
  p.state = ReplicaState::permdown;
  p.transfer_pending = false;
  p.fetch_id = 0;
  bump(counters().replicas_permdown);
}

Peer* Node::Impl::admit(const ReplicaName& name, std::int64_t now_ms, std::vector<Command>& out) {
  // An older generation of a node seen newer (ourselves included) is gone for good.
  if (name.node == self.node && name.generation < self.generation) {
    crdt.replica_permdown(name);
    return nullptr;
  }
  for (Peer& other : peers) {
    if (other.name.node != name.node || other.name.generation == name.generation) continue;
    if (other.name.generation > name.generation) return nullptr;
    permdown(other);
  }
  Peer* p = find_peer(name);
  if (p == nullptr) {
    if (peers.size() >= kMaxReplicas) {
      // Room is made by forgetting the longest silent of the forgotten replicas.
      auto oldest = peers.end();
      for (auto it = peers.begin(); it != peers.end(); ++it) {
        if (it->state == ReplicaState::permdown &&
            (oldest == peers.end() || it->last_heard_ms < oldest->last_heard_ms)) {
          oldest = it;
        }
      }
      if (oldest == peers.end()) return nullptr;
      peers.erase(oldest);
    }
    peers.push_back(Peer{});
    p = &peers.back();
    p->name = name;
    p->last_heard_ms = now_ms;
    // The region may still hold it as forgotten (a takeover after its permdown).
    if (crdt.replica_readmit(name)) {
      bump(counters().replicas_readmitted);
      ask_transfer(*p, true, true, now_ms, out);
    } else {
      crdt.replica_join(name);
    }
    return p;
  }
  if (p->left) return nullptr;
  p->last_heard_ms = now_ms;
  if (p->state == ReplicaState::down) {
    crdt.replica_up(name);
    p->state = ReplicaState::up;
  } else if (p->state == ReplicaState::permdown) {
    crdt.replica_readmit(name);
    p->state = ReplicaState::up;
    p->announced_clock = 0;
    bump(counters().replicas_readmitted);
    ask_transfer(*p, true, true, now_ms, out);
  }
  return p;
}

void Node::Impl::forget_left(const ReplicaName& name) {
  Peer* p = find_peer(name);
  if (p == nullptr) {
    // Unknown (or forgotten by us) yet: remembered, so that a late message
    // of it does not admit it again.
    crdt.replica_permdown(name);
    if (peers.size() >= kMaxReplicas) return;
    peers.push_back(Peer{});
    p = &peers.back();
    p->name = name;
    p->state = ReplicaState::permdown;
    p->left = true;
    guard.forget(name);
    return;
  }
  p->left = true;
  permdown(*p);
}

void Node::Impl::check_liveness(std::int64_t now_ms) {
  for (Peer& p : peers) {
    const std::int64_t silent = now_ms - p.last_heard_ms;
    if (p.state != ReplicaState::permdown && silent > settings.permdown_ms) {
      permdown(p);
    } else if (p.state == ReplicaState::up && silent > settings.down_ms) {
      crdt.replica_down(p.name);
      p.state = ReplicaState::down;
      bump(counters().replicas_down);
    }
  }
}

void Node::Impl::publish_status() {
  for (std::size_t i = 0; i < kMaxReplicas; ++i) {
    PeerStatus& s = status->peers[i];
    if (i >= peers.size()) {
      store(s.used, std::uint8_t{0});
      continue;
    }
    const Peer& p = peers[i];
    const auto len = static_cast<std::uint8_t>(std::min(p.name.node.size(), s.name.size()));
    if (s.name_len != len || std::memcmp(s.name.data(), p.name.node.data(), len) != 0) {
      std::memcpy(s.name.data(), p.name.node.data(), len);
      store(s.name_len, len);
    }
    store(s.generation, p.name.generation);
    store(s.state, static_cast<std::uint8_t>(p.state));
    store(s.last_heard_ms, p.last_heard_ms);
    store(s.lag_ms, p.lag_ms);
    store(s.clock, p.announced_clock);
    store(s.used, std::uint8_t{1});
  }
}

}  // namespace presence::cluster
