// What the views read of the cluster: Tracker::replicas() for /metrics and
// the stats' shoppers per node, through down, up, permdown and a restart.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "presence/replication.hpp"
#include "presence/tracker.hpp"
#include "tracker_test_support.hpp"

namespace presence {
namespace {

using test::cart;
using test::config;
using test::SharedRegion;

constexpr std::string_view kTopic = "admin:cart_tracker";
constexpr std::size_t kRegionBytes = 2 * 1024 * 1024;

struct Node {
  explicit Node(std::string name, std::uint64_t generation = 1)
      : region(kRegionBytes),
        tracker(*region.open(config(std::move(name), generation), true)),
        crdt(tracker) {}
  SharedRegion region;
  Tracker tracker;
  Replication crdt;
};

void track(Tracker& t, const std::string& key) {
  ASSERT_EQ(t.track(kTopic, key, cart("/", {{"air-max-90", "10", 1}}), Owner{1, 1}, 1000).error,
            TrackError::none);
}

void sync(Node& from, Node& to) {
  ASSERT_EQ(to.crdt.merge(from.crdt.extract_full_state()), MergeStatus::ok);
}

const ReplicaInfo* find(const std::vector<ReplicaInfo>& all, const ReplicaName& name) {
  for (const auto& r : all) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

TEST(ReplicaViews, ASingleNodeListsItselfUpWithItsMetasAndClock) {
  Node a("store-a", 7);
  track(a.tracker, "alice");
  track(a.tracker, "bob");
  const auto replicas = a.tracker.replicas();
  ASSERT_EQ(replicas.size(), 1u);
  EXPECT_EQ(replicas[0].name, (ReplicaName{"store-a", 7}));
  EXPECT_EQ(replicas[0].state, ReplicaState::up);
  EXPECT_EQ(replicas[0].metas, 2u);
  EXPECT_EQ(replicas[0].clock, 2u);
  EXPECT_TRUE(replicas[0].local);

  const StatsSnapshot s = a.tracker.stats(kTopic);
  EXPECT_EQ(s.nodes, std::vector<std::string>{"store-a"});
  EXPECT_EQ(s.replicas, (std::vector<NodeConnections>{{"store-a", true, 2}}));
}

TEST(ReplicaViews, ADownReplicaKeepsItsCountAndPermdownForgetsIt) {
  Node a("store-a"), b("store-b");
  track(a.tracker, "alice");
  track(a.tracker, "bob");
  track(b.tracker, "carol");
  sync(a, b);
  const ReplicaName name_a = a.tracker.local_replica();

  auto replicas = b.tracker.replicas();
  ASSERT_EQ(replicas.size(), 2u);
  ASSERT_NE(find(replicas, name_a), nullptr);
  EXPECT_FALSE(find(replicas, name_a)->local);
  EXPECT_EQ(find(replicas, name_a)->metas, 2u);
  EXPECT_EQ(find(replicas, name_a)->clock, 2u);
  EXPECT_EQ(b.tracker.stats(kTopic).replicas,
            (std::vector<NodeConnections>{{"store-a", true, 2}, {"store-b", true, 1}}));

  const auto version = b.tracker.stats_version();
  ASSERT_TRUE(b.crdt.replica_down(name_a));
  EXPECT_GT(b.tracker.stats_version(), version);
  EXPECT_EQ(find(b.tracker.replicas(), name_a)->state, ReplicaState::down);
  StatsSnapshot s = b.tracker.stats(kTopic);
  EXPECT_EQ(s.connections, 1u);
  EXPECT_EQ(s.nodes, std::vector<std::string>{"store-b"});
  EXPECT_EQ(s.replicas,
            (std::vector<NodeConnections>{{"store-a", false, 2}, {"store-b", true, 1}}));

  // A delta merged while it is down changes what its node shows: a new version.
  track(a.tracker, "dave");
  const auto before_merge = b.tracker.stats_version();
  sync(a, b);
  EXPECT_GT(b.tracker.stats_version(), before_merge);
  EXPECT_EQ(b.tracker.stats(kTopic).replicas[0], (NodeConnections{"store-a", false, 3}));

  ASSERT_TRUE(b.crdt.replica_permdown(name_a));
  EXPECT_EQ(find(b.tracker.replicas(), name_a)->state, ReplicaState::permdown);
  EXPECT_EQ(find(b.tracker.replicas(), name_a)->metas, 0u);
  s = b.tracker.stats(kTopic);
  EXPECT_EQ(s.replicas, (std::vector<NodeConnections>{{"store-b", true, 1}}));
}

TEST(ReplicaViews, ARestartedNodeShowsOnceAndCountsItsLiveGeneration) {
  Node a("store-a", 1), b("store-b");
  track(a.tracker, "alice");
  track(a.tracker, "bob");
  sync(a, b);
  ASSERT_TRUE(b.crdt.replica_down(a.tracker.local_replica()));
  Node a2("store-a", 2);
  track(a2.tracker, "carol");
  sync(a2, b);
  // Both generations held: one node, up, counting the new generation only.
  EXPECT_EQ(b.tracker.replicas().size(), 3u);
  StatsSnapshot s = b.tracker.stats(kTopic);
  EXPECT_EQ(s.nodes, (std::vector<std::string>{"store-a", "store-b"}));
  EXPECT_EQ(s.replicas, (std::vector<NodeConnections>{{"store-a", true, 1}, {"store-b", true, 0}}));
}

TEST(ReplicaViews, TheNodeListIsBoundedByTheReplicaSlots) {
  Node hub("hub");
  std::vector<std::unique_ptr<Node>> others;
  // Every slot but the hub's own taken, then one more node than fits.
  for (std::size_t i = 0; i < kMaxReplicas; ++i) {
    auto node = std::make_unique<Node>("n" + std::to_string(i));
    track(node->tracker, "k");
    const MergeStatus merged = hub.crdt.merge(node->crdt.extract_full_state());
    if (i + 1 < kMaxReplicas) {
      ASSERT_EQ(merged, MergeStatus::ok) << i;
    } else {
      EXPECT_NE(merged, MergeStatus::ok);
    }
    others.push_back(std::move(node));
  }
  EXPECT_EQ(hub.tracker.replicas().size(), kMaxReplicas);
  const StatsSnapshot s = hub.tracker.stats(kTopic);
  EXPECT_EQ(s.replicas.size(), kMaxReplicas);
  EXPECT_EQ(s.connections, kMaxReplicas - 1);
}

}  // namespace
}  // namespace presence
