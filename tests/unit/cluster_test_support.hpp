// Several replicas in one process, each a tracker on its own shared region
// with a cluster::Node, wired by a tiny in-memory bus that carries out the
// nodes' commands: publish to every subscriber of a channel (the sender
// included, as Redis does), keys with their values, chunk fetches answered
// when delivered. A fate function may lose, duplicate or hold messages back.
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "presence/cluster_node.hpp"
#include "presence/replication.hpp"
#include "presence/tracker.hpp"
#include "tracker_test_support.hpp"

namespace presence::test {

inline constexpr std::string_view kCartTopic = "admin:cart_tracker";

inline cluster::Settings cluster_settings() {
  cluster::Settings s;
  s.cluster = "sneakers";
  s.key = *cluster::derive_key("0123456789abcdef0123456789abcdef-test-secret");
  s.batch_ms = 50;
  s.heartbeat_ms = 1000;
  s.down_ms = 5000;
  s.permdown_ms = 60'000;
  s.transfer_retry_ms = 1000;
  return s;
}

struct ClusterReplica {
  // The smallest region a tracker takes, with the smallest change log: about
  // 2,300 presences fill it.
  static constexpr std::size_t kSmallest = 0;

  ClusterReplica(std::string name, std::uint64_t generation, std::size_t region_bytes,
                 std::size_t tombstones)
      : region(region_bytes == kSmallest ? Tracker::min_region_bytes() : region_bytes),
        tracker(*region.open(cfg(name, generation, tombstones, region_bytes == kSmallest), true)) {}
  static TrackerConfig cfg(std::string name, std::uint64_t generation, std::size_t tombstones,
                           bool smallest) {
    TrackerConfig c = config(std::move(name), generation);
    c.tombstone_log_entries = tombstones;
    if (smallest) c.change_log_bytes = kMinChangeLogBytes;
    return c;
  }
  void start(const cluster::Settings& settings, std::int64_t now_ms, std::uint64_t cursor = 0) {
    node.reset();
    node = std::make_unique<cluster::Node>(Replication(tracker), settings, cursor, &status, now_ms);
  }
  std::string name() { return tracker.local_replica().node; }

  SharedRegion region;
  Tracker tracker;
  cluster::Status status{};
  std::unique_ptr<cluster::Node> node;
  bool linked = true;  // false: cut off from the bus both ways
};

class ClusterBus {
 public:
  struct Message {
    std::string channel;
    std::string bytes;
  };
  enum class Fate { deliver, lose, duplicate, hold };
  // Decides per message and receiver; `hold` puts it back at the end of the queue.
  std::function<Fate(const Message&, ClusterReplica&)> fate;

  void join(ClusterReplica& r) { members_.push_back(&r); }
  void leave(ClusterReplica& r) { std::erase(members_, &r); }

  void carry(ClusterReplica& from, std::vector<cluster::Command>& commands) {
    for (cluster::Command& c : commands) {
      if (!from.linked) continue;
      switch (c.op) {
        case cluster::Command::Op::publish:
          for (ClusterReplica* to : members_) {
            const auto channels = to->node->channels();
            if (to->linked &&
                std::find(channels.begin(), channels.end(), c.target) != channels.end()) {
              queue_.push_back(Pending{to, Message{c.target, c.bytes}, {}, 0, 0});
            }
          }
          ++published;
          break;
        case cluster::Command::Op::set_chunk:
          if (store_chunks) keys[c.target] = c.bytes;
          ++chunks_set;
          break;
        case cluster::Command::Op::get_chunks:
          queue_.push_back(Pending{&from, {}, c.keys, c.fetch_id, 1});
          break;
      }
    }
    commands.clear();
  }

  // Delivers until nothing is in flight (held messages included, eventually).
  void deliver(std::int64_t now_ms, std::size_t max_steps = 1'000'000) {
    std::vector<cluster::Command> out;
    for (std::size_t step = 0; step < max_steps && !queue_.empty(); ++step) {
      Pending p = std::move(queue_.front());
      queue_.pop_front();
      if (std::find(members_.begin(), members_.end(), p.to) == members_.end() || !p.to->linked) {
        continue;
      }
      if (p.is_fetch != 0) {
        std::vector<std::optional<std::string>> values;
        for (const std::string& k : p.keys) {
          auto it = keys.find(k);
          values.push_back(it == keys.end() ? std::nullopt : std::optional(it->second));
        }
        p.to->node->on_chunks(p.fetch_id, values, now_ms, out);
        carry(*p.to, out);
        continue;
      }
      const Fate f = fate && p.held < kMaxHolds ? fate(p.message, *p.to) : Fate::deliver;
      if (f == Fate::lose) continue;
      if (f == Fate::hold) {
        ++p.held;
        queue_.push_back(std::move(p));
        continue;
      }
      const int times = f == Fate::duplicate ? 2 : 1;
      for (int i = 0; i < times; ++i) {
        p.to->node->on_message(p.message.channel, p.message.bytes, now_ms, out);
        carry(*p.to, out);
      }
    }
  }

  void tick(std::int64_t now_ms) {
    std::vector<cluster::Command> out;
    for (ClusterReplica* r : members_) {
      r->node->tick(now_ms, out);
      carry(*r, out);
    }
  }

  // Applies every queued sliced merge; returns the slices taken.
  std::size_t merge(std::int64_t now_ms, std::int64_t budget_ns = 1'000'000'000) {
    std::vector<cluster::Command> out;
    std::size_t rounds = 0;
    for (ClusterReplica* r : members_) {
      while (r->node->merging()) {
        r->node->merge_some(now_ms, budget_ns, out);
        carry(*r, out);
        ++rounds;
      }
    }
    return rounds;
  }

  // Ticks, delivers and merges every `step_ms` from `from_ms` to `to_ms`.
  void run(std::int64_t from_ms, std::int64_t to_ms, std::int64_t step_ms = 50) {
    for (std::int64_t t = from_ms; t <= to_ms; t += step_ms) {
      tick(t);
      deliver(t);
      merge(t);
      deliver(t);
    }
  }

  bool idle() const { return queue_.empty(); }

  std::map<std::string, std::string> keys;
  bool store_chunks = true;  // false: every chunk is lost (an expiry, an eviction)
  std::size_t published = 0;
  std::size_t chunks_set = 0;

 private:
  static constexpr int kMaxHolds = 3;
  struct Pending {
    ClusterReplica* to;
    Message message;
    std::vector<std::string> keys;
    std::uint64_t fetch_id;
    int is_fetch;
    int held = 0;
  };
  std::deque<Pending> queue_;
  std::vector<ClusterReplica*> members_;
};

// Every visible presence of the cart topic, ordered by phx_ref.
inline std::vector<PresenceEntry> cart_presences(Tracker& t) {
  std::vector<PresenceEntry> out;
  t.snapshot(kCartTopic, out);
  std::sort(out.begin(), out.end(), [](const PresenceEntry& a, const PresenceEntry& b) {
    return a.meta.phx_ref < b.meta.phx_ref;
  });
  return out;
}

inline TrackResult track_cart(Tracker& t, std::string key, std::string page = "/",
                              std::int64_t now_ms = 1000) {
  return t.track(kCartTopic, key, cart(std::move(page), {{"air-max-90", "10", 1}}), Owner{1, 1},
                 now_ms);
}

inline std::uint64_t drops(const cluster::Status& s, cluster::Drop reason) {
  return s.counters.drops[static_cast<std::size_t>(reason)];
}

}  // namespace presence::test
