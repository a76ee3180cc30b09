// The cluster's families for /metrics. Names follow the module's rules: the
// presence_cluster_ prefix, counters end in _total, base units (_seconds,
// _bytes), a dimension with a few fixed values is a label; the node labels
// are bounded by the replica slots.
#include "presence/cluster_metrics.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <tuple>
#include <vector>

namespace presence::cluster {

void append_family(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

namespace {

struct Label {
  std::string_view name;
  std::string_view value;
};

// Read while the link's owner may write it: an atomic load of the byte.
std::uint8_t load(const std::uint8_t& byte, std::memory_order order) {
  return std::atomic_ref<std::uint8_t>(const_cast<std::uint8_t&>(byte)).load(order);
}

void append_number(std::string& out, std::uint64_t value) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, static_cast<std::size_t>(end - buf));
}

void append_number(std::string& out, double value) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, static_cast<std::size_t>(end - buf));
}

template <class Value>
void sample(std::string& out, std::string_view name, std::initializer_list<Label> labels,
            Value value) {
  out += name;
  if (labels.size() != 0) {
    char sep = '{';
    for (const Label& label : labels) {
      out += sep;
      out += label.name;
      out += "=\"";
      append_label_value(out, label.value);
      out += '"';
      sep = ',';
    }
    out += '}';
  }
  out += ' ';
  append_number(out, value);
  out += '\n';
}

// A counter split by direction.
void in_out(std::string& out, std::string_view name, std::string_view help, const std::uint64_t& in,
            const std::uint64_t& sent) {
  append_family(out, name, "counter", help);
  sample(out, name, {{"direction", "in"}}, read(in));
  sample(out, name, {{"direction", "out"}}, read(sent));
}

void counter(std::string& out, std::string_view name, std::string_view help,
             const std::uint64_t& value) {
  append_family(out, name, "counter", help);
  sample(out, name, {}, read(value));
}

double seconds_of_ms(std::int64_t ms) {
  return static_cast<double>(ms) / 1e3;
}
double seconds_of_ns(std::uint64_t ns) {
  return static_cast<double>(ns) / 1e9;
}

std::string_view state_name(ReplicaState state) {
  switch (state) {
    case ReplicaState::up:
      return "up";
    case ReplicaState::down:
      return "down";
    case ReplicaState::permdown:
      break;
  }
  return "permdown";
}

// The replicas still counted or waited for: a permdown one is gone for good,
// so it must not hold a "replica down" alert.
bool shown(const ReplicaInfo& r) {
  return r.state == ReplicaState::up || r.state == ReplicaState::down;
}

void replica_families(std::string& out, const std::vector<ReplicaInfo>& replicas) {
  std::array<std::uint64_t, 3> by_state{};
  for (const ReplicaInfo& r : replicas) {
    if (r.state == ReplicaState::up || r.state == ReplicaState::down ||
        r.state == ReplicaState::permdown) {
      ++by_state[static_cast<std::size_t>(r.state) - 1];
    }
  }
  append_family(out, "presence_cluster_replicas", "gauge", "Replicas the zone knows, by state.");
  for (ReplicaState s : {ReplicaState::up, ReplicaState::down, ReplicaState::permdown}) {
    sample(out, "presence_cluster_replicas", {{"state", state_name(s)}},
           by_state[static_cast<std::size_t>(s) - 1]);
  }

  // Each family lists the replicas up or down, under (node, generation).
  struct PerReplica {
    std::string_view name;
    std::string_view type;
    std::string_view help;
    std::uint64_t (*value)(const ReplicaInfo&);
  };
  static constexpr std::array<PerReplica, 3> kFamilies{{
      {"presence_cluster_replica_up", "gauge",
       "1 while a replica is up (its shoppers counted), 0 while it is down (silent).",
       [](const ReplicaInfo& r) -> std::uint64_t { return r.state == ReplicaState::up ? 1 : 0; }},
      {"presence_cluster_replica_connections", "gauge",
       "Presence metas of a replica held in the zone (hidden while it is down).",
       [](const ReplicaInfo& r) { return r.metas; }},
      {"presence_cluster_replica_clock", "gauge",
       "The replica's clock: every change of it up to this one is merged.",
       [](const ReplicaInfo& r) { return r.clock; }},
  }};
  for (const PerReplica& f : kFamilies) {
    append_family(out, f.name, f.type, f.help);
    for (const ReplicaInfo& r : replicas) {
      if (!shown(r)) continue;
      std::string generation;
      append_number(generation, r.name.generation);
      sample(out, f.name,
             {{"node", r.name.node},
              {"generation", generation},
              {"local", r.local ? "true" : "false"}},
             f.value(r));
    }
  }
}

std::int64_t load(const std::int64_t& value) {
  return std::atomic_ref<std::int64_t>(const_cast<std::int64_t&>(value))
      .load(std::memory_order_relaxed);
}

// One peer as this scrape saw it.
struct PeerView {
  std::string node;
  std::uint64_t generation;
  ReplicaState state;
  std::int64_t lag_ms;
  std::int64_t last_heard_ms;
};

// The peers in use, each (node, generation) once: a slot the owner rewrites
// during the copy must not make a series appear twice in one scrape.
std::vector<PeerView> peers_of(const Status& status) {
  std::vector<PeerView> out;
  for (const PeerStatus& p : status.peers) {
    if (load(p.used, std::memory_order_acquire) == 0) continue;
    const std::size_t len =
        std::min<std::size_t>(load(p.name_len, std::memory_order_relaxed), kMaxNodeNameBytes);
    PeerView view{std::string(p.name.data(), len), read(p.generation),
                  static_cast<ReplicaState>(load(p.state, std::memory_order_relaxed)),
                  load(p.lag_ms), load(p.last_heard_ms)};
    const bool seen = std::any_of(out.begin(), out.end(), [&](const PeerView& v) {
      return v.node == view.node && v.generation == view.generation;
    });
    if (!seen) out.push_back(std::move(view));
  }
  return out;
}

void peer_families(std::string& out, const Status& status, std::int64_t now_ms) {
  const std::vector<PeerView> peers = peers_of(status);
  auto each = [&](std::string_view name, bool (*listed)(const PeerView&), auto value) {
    for (const PeerView& p : peers) {
      if (!listed(p)) continue;
      std::string generation;
      append_number(generation, p.generation);
      sample(out, name, {{"node", p.node}, {"generation", generation}}, value(p));
    }
  };
  // A lag is current only while the peer speaks: a down peer's would hold an alert.
  append_family(out, "presence_cluster_replication_lag_seconds", "gauge",
                "Receive time minus send time of an up peer's last delta or heartbeat.");
  each(
      "presence_cluster_replication_lag_seconds",
      [](const PeerView& p) { return p.state == ReplicaState::up; },
      [](const PeerView& p) { return seconds_of_ms(p.lag_ms); });
  append_family(out, "presence_cluster_peer_silence_seconds", "gauge",
                "Seconds since a peer up or down was last heard on the bus.");
  each(
      "presence_cluster_peer_silence_seconds",
      [](const PeerView& p) { return p.state != ReplicaState::permdown; },
      [&](const PeerView& p) {
        return p.last_heard_ms > 0
                   ? seconds_of_ms(std::max<std::int64_t>(0, now_ms - p.last_heard_ms))
                   : 0.0;
      });
}

}  // namespace

std::string_view drop_reason_name(Drop reason) noexcept {
  switch (reason) {
    case Drop::malformed:
      return "malformed";
    case Drop::bad_mac:
      return "bad_mac";
    case Drop::replayed:
      return "replayed";
    case Drop::stale:
      return "stale";
    case Drop::oversized:
      return "oversized";
    case Drop::spoofed:
      return "spoofed";
    case Drop::unknown_kind:
      return "unknown_kind";
    case Drop::count_:
      break;
  }
  return "unknown";
}

void append_label_value(std::string& out, std::string_view value) {
  for (const char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

void render_metrics(std::string& out, const Status& status,
                    const std::vector<ReplicaInfo>& replicas, std::int64_t now_ms) {
  const Counters& c = status.counters;
  append_family(out, "presence_cluster_link_up", "gauge",
                "1 while both Redis connections of this node are up and subscribed.");
  sample(out, "presence_cluster_link_up", {},
         std::uint64_t{load(status.linked, std::memory_order_relaxed) != 0});
  replica_families(out, replicas);
  peer_families(out, status, now_ms);

  in_out(out, "presence_cluster_messages_total", "Cluster messages through Redis, by direction.",
         c.messages_in, c.messages_out);
  in_out(out, "presence_cluster_bytes_total", "Bytes of cluster messages, by direction.",
         c.bytes_in, c.bytes_out);
  counter(out, "presence_cluster_own_echoes_total",
          "This node's own messages back from the bus, dropped unread.", c.own_echoes);
  in_out(out, "presence_cluster_deltas_total", "Deltas published and received.", c.deltas_in,
         c.deltas_out);
  counter(out, "presence_cluster_updates_sent_total",
          "Joins and leaves this node published in its deltas.", c.updates_out);
  in_out(out, "presence_cluster_transfer_requests_total",
         "Transfer requests (a peer missing changes), by direction.", c.transfer_requests_in,
         c.transfer_requests_out);

  // The transfers counted in all are the inline ones and those through keys.
  append_family(
      out, "presence_cluster_transfers_total", "counter",
      "Transfers answered (out) and merged (in), by path: inline on the channel or in keys.");
  for (const auto& [direction, all, keys] :
       {std::tuple{"in", &c.transfers_in, &c.transfers_via_keys_in},
        std::tuple{"out", &c.transfers_out, &c.transfers_via_keys_out}}) {
    const std::uint64_t total = read(*all);
    const std::uint64_t via_keys = read(*keys);
    sample(out, "presence_cluster_transfers_total", {{"direction", direction}, {"path", "inline"}},
           total > via_keys ? total - via_keys : 0);
    sample(out, "presence_cluster_transfers_total", {{"direction", direction}, {"path", "keys"}},
           via_keys);
  }

  append_family(out, "presence_cluster_messages_dropped_total", "counter",
                "Cluster messages dropped unmerged, by reason.");
  for (std::size_t i = 0; i < kDropReasons; ++i) {
    sample(out, "presence_cluster_messages_dropped_total",
           {{"reason", drop_reason_name(static_cast<Drop>(i))}}, read(c.drops[i]));
  }

  counter(out, "presence_cluster_merges_total", "Deltas and transfers merged into the zone.",
          c.merges);
  counter(out, "presence_cluster_merge_slices_total",
          "Slices merges were applied in (one zone lock hold each).", c.merge_slices);
  append_family(out, "presence_cluster_merge_lock_seconds_total", "counter",
                "Time merges held the zone lock.");
  sample(out, "presence_cluster_merge_lock_seconds_total", {},
         seconds_of_ns(read(c.merge_lock_ns_total)));
  append_family(out, "presence_cluster_merge_lock_max_seconds", "gauge",
                "The longest zone lock hold of one merge slice.");
  sample(out, "presence_cluster_merge_lock_max_seconds", {},
         seconds_of_ns(read(c.merge_lock_ns_max)));
  counter(out, "presence_cluster_extract_slices_total",
          "Slices full states were copied out in (one zone lock hold each).", c.extract_slices);
  append_family(out, "presence_cluster_extract_lock_max_seconds", "gauge",
                "The longest zone lock hold of one full-state extraction slice.");
  sample(out, "presence_cluster_extract_lock_max_seconds", {},
         seconds_of_ns(read(c.extract_lock_ns_max)));

  append_family(out, "presence_cluster_replica_transitions_total", "counter",
                "Replicas marked down, permdown or admitted again after a permdown.");
  sample(out, "presence_cluster_replica_transitions_total", {{"to", "down"}},
         read(c.replicas_down));
  sample(out, "presence_cluster_replica_transitions_total", {{"to", "permdown"}},
         read(c.replicas_permdown));
  sample(out, "presence_cluster_replica_transitions_total", {{"to", "readmitted"}},
         read(c.replicas_readmitted));

  counter(out, "presence_cluster_redis_connects_total", "Redis connections established.",
          c.redis_connects);
  counter(out, "presence_cluster_redis_errors_total",
          "Redis connection failures, errors and timeouts.", c.redis_errors);
  counter(out, "presence_cluster_takeovers_total",
          "Times a worker of this node took the Redis link over from a dead owner.", c.takeovers);
}

}  // namespace presence::cluster
