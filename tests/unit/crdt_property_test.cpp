// Random track/update/untrack on 3 to 5 replicas with deltas delivered late,
// duplicated and reordered, and replicas marked down and up: once everything is
// delivered every replica holds the same state, and at every step the
// aggregates equal a recomputation from scratch. Seeded, so failures replay.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <set>

#include "presence/replication.hpp"
#include "presence/tracker.hpp"
#include "tracker_test_support.hpp"

namespace presence {
namespace {

using test::SharedRegion;

constexpr std::string_view kTopic = "admin:cart_tracker";
constexpr std::size_t kRegionBytes = 1024 * 1024;
constexpr int kSeeds = 12;
constexpr int kSteps = 400;

struct Replica {
  explicit Replica(const std::string& name) : region(kRegionBytes) {
    TrackerConfig cfg{name, 7, 64 * 1024};
    cfg.tombstone_log_entries = 64;  // small, so some peers need full states
    tracker.emplace(*region.open(cfg, true));
  }
  SharedRegion region;
  std::optional<Tracker> tracker;
  std::vector<std::pair<MetaHandle, std::string>> live;  // handle, phx_ref
};

struct Message {
  std::size_t to;
  Delta delta;
};

class Cluster {
 public:
  explicit Cluster(std::uint64_t seed) : rng_(seed) {
    const std::size_t n = 3 + seed % 3;
    for (std::size_t i = 0; i < n; ++i) {
      replicas_.push_back(std::make_unique<Replica>("node-" + std::to_string(i)));
    }
    down_.assign(n, std::vector<bool>(n, false));
  }

  void step() {
    const std::size_t i = pick(replicas_.size());
    Replica& r = *replicas_[i];
    const auto roll = pick(100);
    if (roll < 30) {
      const TrackResult t = r.tracker->track(kTopic, random_key(), random_meta(),
                                             Owner{static_cast<std::uint32_t>(100 + i), 1}, now());
      if (t.error == TrackError::none) r.live.emplace_back(t.handle, t.phx_ref);
    } else if (roll < 45 && !r.live.empty()) {
      auto& [handle, ref] = r.live[pick(r.live.size())];
      const TrackResult t = r.tracker->update(handle, random_meta(), now());
      ASSERT_EQ(t.error, TrackError::none);
      handle = t.handle;
      ref = t.phx_ref;
    } else if (roll < 55 && !r.live.empty()) {
      const std::size_t k = pick(r.live.size());
      ASSERT_TRUE(r.tracker->untrack(r.live[k].first));
      r.live.erase(r.live.begin() + static_cast<std::ptrdiff_t>(k));
    } else if (roll < 75) {
      const std::size_t to = pick(replicas_.size());
      if (to != i) inflight_.push_back(Message{to, delta_for(i, to)});
    } else if (roll < 94 && !inflight_.empty()) {
      const std::size_t k = pick(inflight_.size());
      deliver(inflight_[k]);
      if (pick(4) != 0) inflight_.erase(inflight_.begin() + static_cast<std::ptrdiff_t>(k));
    } else if (roll >= 94) {
      const std::size_t j = pick(replicas_.size());
      if (j == i) return;
      const ReplicaName name = replicas_[j]->tracker->local_replica();
      if (down_[i][j]) {
        down_[i][j] = !Replication(*r.tracker).replica_up(name);
      } else {
        down_[i][j] = Replication(*r.tracker).replica_down(name);
      }
    }
    std::string why;
    ASSERT_TRUE(r.tracker->check_invariants(&why)) << why;
  }

  void settle() {
    for (std::size_t i = 0; i < replicas_.size(); ++i) {
      for (std::size_t j = 0; j < replicas_.size(); ++j) {
        if (down_[i][j]) {
          Replication(*replicas_[i]->tracker).replica_up(replicas_[j]->tracker->local_replica());
        }
      }
    }
    std::shuffle(inflight_.begin(), inflight_.end(), rng_);
    for (const Message& m : inflight_) deliver(m);
    for (std::size_t i = 0; i < replicas_.size(); ++i) {
      for (std::size_t j = 0; j < replicas_.size(); ++j) {
        if (i != j) deliver(Message{j, delta_for(i, j)});
      }
    }
  }

  void expect_converged() {
    std::set<std::string> expected;
    for (const auto& r : replicas_) {
      for (const auto& [handle, ref] : r->live) expected.insert(ref);
    }
    std::vector<PresenceEntry> first;
    replicas_[0]->tracker->snapshot(kTopic, first);
    sort(first);
    const StatsSnapshot stats = replicas_[0]->tracker->stats(kTopic);
    for (const auto& r : replicas_) {
      std::vector<PresenceEntry> list;
      r->tracker->snapshot(kTopic, list);
      sort(list);
      std::set<std::string> refs;
      for (const auto& e : list) refs.insert(e.meta.phx_ref);
      EXPECT_EQ(refs, expected);
      EXPECT_EQ(list, first);
      EXPECT_EQ(r->tracker->stats(kTopic), stats);
      std::string why;
      EXPECT_TRUE(r->tracker->check_invariants(&why)) << why;
    }
    EXPECT_EQ(stats.nodes.size(), replicas_.size());
  }

 private:
  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }
  std::int64_t now() { return static_cast<std::int64_t>(++clock_ms_); }
  std::string random_key() { return "cart-" + std::to_string(pick(8)); }
  CartMeta random_meta() {
    static const char* const kPages[] = {"/", "/a", "/b", "/c"};
    static const char* const kProducts[] = {"air-max-90", "samba", "gazelle"};
    CartMeta m{kPages[pick(4)], {}};
    const std::size_t items = pick(3);
    for (std::size_t k = 0; k < items; ++k) {
      m.items.push_back(CartItem{kProducts[pick(3)], std::to_string(8 + pick(4)),
                                 static_cast<std::uint32_t>(1 + pick(3))});
    }
    return m;
  }
  static void sort(std::vector<PresenceEntry>& list) {
    std::sort(list.begin(), list.end(),
              [](const auto& a, const auto& b) { return a.meta.phx_ref < b.meta.phx_ref; });
  }
  Delta delta_for(std::size_t from, std::size_t to) {
    const ReplicaName origin = replicas_[from]->tracker->local_replica();
    std::uint64_t seen = 0;
    for (const auto& c : Replication(*replicas_[to]->tracker).context().replicas) {
      if (c.replica == origin) seen = c.clock;
    }
    return Replication(*replicas_[from]->tracker).extract_delta(seen);
  }
  void deliver(const Message& m) {
    Replication to(*replicas_[m.to]->tracker);
    const MergeStatus s = to.merge(m.delta);
    if (s == MergeStatus::needs_full_state) {
      for (const auto& r : replicas_) {
        if (r->tracker->local_replica() == m.delta.origin) {
          ASSERT_EQ(to.merge(Replication(*r->tracker).extract_full_state()), MergeStatus::ok);
        }
      }
      return;
    }
    ASSERT_EQ(s, MergeStatus::ok);
  }

  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::vector<Message> inflight_;
  std::vector<std::vector<bool>> down_;
  std::uint64_t clock_ms_ = 0;
};

TEST(CrdtProperty, ReplicasConvergeAndAggregatesMatchARecount) {
  for (int seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Cluster cluster(static_cast<std::uint64_t>(seed));
    for (int s = 0; s < kSteps; ++s) {
      cluster.step();
      if (::testing::Test::HasFatalFailure()) return;
    }
    cluster.settle();
    cluster.expect_converged();
  }
}

}  // namespace
}  // namespace presence
