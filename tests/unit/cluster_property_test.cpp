// Three replicas, each with its cluster::Node, exchanging sealed messages
// through the codec on a bus that loses, duplicates and reorders them, while
// shoppers come, change their carts and go; replicas are cut off for less
// and more than `down` and `permdown`, restarted as new generations, and one
// region is small enough to run full. Once healed, every replica holds the
// same presences (compared meta by meta), exactly the live ones of the
// current generations. Seeded, so a failure replays.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "cluster_test_support.hpp"

namespace presence {
namespace {

using test::ClusterBus;
using test::ClusterReplica;

constexpr int kSeeds = 8;
constexpr int kSteps = 300;
constexpr std::size_t kRegionBytes = 4 * 1024 * 1024;
constexpr std::int64_t kStart = 1'700'000'000'000;
// Live presences kept per replica before healing: what the small region holds.
constexpr std::size_t kLiveAtHeal = 8;
// Two bursts at once fill the small region.
constexpr int kBurst = 1200;

cluster::Settings fast_settings() {
  cluster::Settings s = test::cluster_settings();
  s.batch_ms = 20;
  s.heartbeat_ms = 100;
  s.down_ms = 500;
  s.permdown_ms = 2500;
  s.transfer_retry_ms = 200;
  s.inline_max_bytes = 2048;  // some transfers go through keys
  s.chunk_bytes = 700;
  return s;
}

class Simulation {
 public:
  Simulation(std::uint64_t seed, std::size_t small_region) : rng_(seed) {
    for (std::size_t i = 0; i < 3; ++i) {
      bytes_.push_back(i == 2 ? small_region : kRegionBytes);
      generations_.push_back(1);
      replicas_.push_back(make(i));
      live_.emplace_back();
      bursts_.emplace_back();
    }
    bus_.fate = [this](const ClusterBus::Message&, ClusterReplica&) {
      const auto roll = pick(100);
      return roll < 10   ? ClusterBus::Fate::lose
             : roll < 15 ? ClusterBus::Fate::duplicate
             : roll < 25 ? ClusterBus::Fate::hold
                         : ClusterBus::Fate::deliver;
    };
  }

  void step() {
    const std::size_t i = pick(replicas_.size());
    ClusterReplica& r = *replicas_[i];
    const auto roll = pick(100);
    if (roll < 35) {
      const TrackResult t = r.tracker.track(test::kCartTopic, "cart-" + std::to_string(pick(12)),
                                            random_meta(), Owner{100, 1}, now_);
      if (t.error == TrackError::none) live_[i].emplace_back(t.handle, t.phx_ref);
    } else if (roll < 47 && !live_[i].empty()) {
      auto& [handle, ref] = live_[i][pick(live_[i].size())];
      const TrackResult t = r.tracker.update(handle, random_meta(), now_);
      if (t.error == TrackError::none) {
        handle = t.handle;
        ref = t.phx_ref;
      }
    } else if (roll < 57 && !live_[i].empty()) {
      untrack_one(i);
    } else if (roll < 88) {
      advance(10 + static_cast<std::int64_t>(pick(150)));
    } else if (roll < 94) {
      r.linked = !r.linked;  // a cut healed later, after any length of churn
    } else if (roll < 96) {
      // Cut off past permdown: forgotten on both sides, then admitted again.
      r.linked = false;
      advance(settings_.permdown_ms + 200);
      r.linked = true;
    } else if (roll < 98) {
      restart(i);
    } else if (bursts_[i].empty()) {
      // A flash crowd: a large delta (in slices, through keys) that the small region cannot hold.
      for (int k = 0; k < kBurst; ++k) {
        const TrackResult t = r.tracker.track(test::kCartTopic, "burst-" + std::to_string(k),
                                              random_meta(), Owner{100, 1}, now_);
        if (t.error == TrackError::none) bursts_[i].push_back(t.handle);
      }
    } else {
      end_burst(i);
    }
    std::string why;
    ASSERT_TRUE(replicas_[i]->tracker.check_invariants(&why)) << why;
  }

  void heal() {
    for (std::size_t i = 0; i < replicas_.size(); ++i) {
      end_burst(i);
      while (live_[i].size() > kLiveAtHeal) untrack_one(i);
      replicas_[i]->linked = true;
    }
    bus_.fate = nullptr;
    advance(settings_.permdown_ms);
  }

  void expect_converged() {
    std::set<std::string> expected;
    for (const auto& l : live_) {
      for (const auto& [handle, ref] : l) expected.insert(ref);
    }
    const auto first = test::cart_presences(replicas_[0]->tracker);
    for (auto& r : replicas_) {
      const auto list = test::cart_presences(r->tracker);
      std::set<std::string> refs;
      for (const auto& e : list) refs.insert(e.meta.phx_ref);
      EXPECT_EQ(refs, expected) << r->name();
      EXPECT_EQ(list, first) << r->name();
      // The aggregates too (the nodes listed differ: each lists itself).
      StatsSnapshot mine = r->tracker.stats(test::kCartTopic);
      StatsSnapshot theirs = replicas_[0]->tracker.stats(test::kCartTopic);
      mine.nodes.clear();
      theirs.nodes.clear();
      EXPECT_EQ(mine, theirs);
      std::string why;
      EXPECT_TRUE(r->tracker.check_invariants(&why)) << why;
    }
  }

  std::uint64_t total(std::uint64_t cluster::Counters::*counter) const {
    std::uint64_t n = 0;
    for (const auto& r : replicas_) n += r->status.counters.*counter;
    return n;
  }
  std::uint64_t region_full_seen() const { return region_full_; }

 private:
  std::unique_ptr<ClusterReplica> make(std::size_t i) {
    auto r = std::make_unique<ClusterReplica>("node-" + std::to_string(i), generations_[i],
                                              bytes_[i], 64);
    r->start(settings_, now_);
    bus_.join(*r);
    return r;
  }
  void restart(std::size_t i) {
    bus_.leave(*replicas_[i]);
    replicas_[i].reset();
    ++generations_[i];
    replicas_[i] = make(i);
    live_[i].clear();
    bursts_[i].clear();
  }
  void end_burst(std::size_t i) {
    for (MetaHandle h : bursts_[i]) ASSERT_TRUE(replicas_[i]->tracker.untrack(h));
    bursts_[i].clear();
  }
  void untrack_one(std::size_t i) {
    const std::size_t k = pick(live_[i].size());
    ASSERT_TRUE(replicas_[i]->tracker.untrack(live_[i][k].first));
    live_[i].erase(live_[i].begin() + static_cast<std::ptrdiff_t>(k));
  }
  void advance(std::int64_t ms) {
    const std::int64_t until = now_ + ms;
    while (now_ < until) {
      now_ = std::min(until, now_ + settings_.batch_ms);
      bus_.tick(now_);
      bus_.deliver(now_);
      bus_.merge(now_, 50'000);
      bus_.deliver(now_);
    }
    region_full_ =
        std::max<std::uint64_t>(region_full_, replicas_[2]->tracker.usage().track_failures_full);
  }
  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }
  CartMeta random_meta() {
    static const char* const kPages[] = {"/", "/a", "/b", "/c"};
    static const char* const kProducts[] = {"air-max-90", "samba", "gazelle"};
    CartMeta m{kPages[pick(4)], {}};
    const std::size_t items = pick(4);
    for (std::size_t k = 0; k < items; ++k) {
      m.items.push_back(CartItem{kProducts[pick(3)], std::to_string(8 + pick(4)),
                                 static_cast<std::uint32_t>(1 + pick(3))});
    }
    return m;
  }

  std::mt19937_64 rng_;
  cluster::Settings settings_ = fast_settings();
  std::int64_t now_ = kStart;
  ClusterBus bus_;
  std::vector<std::size_t> bytes_;
  std::vector<std::uint64_t> generations_;
  std::vector<std::unique_ptr<ClusterReplica>> replicas_;
  std::vector<std::vector<std::pair<MetaHandle, std::string>>> live_;
  std::vector<std::vector<MetaHandle>> bursts_;
  std::uint64_t region_full_ = 0;
};

TEST(ClusterProperty, ReplicasConvergeThroughLossRestartsPermdownAndAFullRegion) {
  std::uint64_t readmitted = 0, permdowns = 0, via_keys = 0, transfers = 0, full = 0;
  for (int seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Simulation sim(static_cast<std::uint64_t>(seed), ClusterReplica::kSmallest);
    for (int s = 0; s < kSteps; ++s) {
      sim.step();
      if (::testing::Test::HasFatalFailure()) return;
    }
    sim.heal();
    sim.expect_converged();
    readmitted += sim.total(&cluster::Counters::replicas_readmitted);
    permdowns += sim.total(&cluster::Counters::replicas_permdown);
    via_keys += sim.total(&cluster::Counters::transfers_via_keys_in);
    transfers += sim.total(&cluster::Counters::transfers_in);
    full += sim.region_full_seen();
  }
  // The runs went through what they are meant to.
  EXPECT_GT(readmitted, 0u);
  EXPECT_GT(permdowns, 0u);
  EXPECT_GT(via_keys, 0u);
  EXPECT_GT(transfers, 0u);
  EXPECT_GT(full, 0u);
}

}  // namespace
}  // namespace presence
