#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

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
  explicit Node(std::string name, std::uint64_t generation = 1, std::size_t tombstones = 1024)
      : region(kRegionBytes),
        tracker(*region.open(cfg(name, generation, tombstones), true)),
        crdt(tracker) {}
  static TrackerConfig cfg(std::string name, std::uint64_t generation, std::size_t tombstones) {
    TrackerConfig c = config(std::move(name), generation);
    c.tombstone_log_entries = tombstones;
    return c;
  }
  SharedRegion region;
  Tracker tracker;
  Replication crdt;
};

std::uint64_t clock_of(Tracker& at, const ReplicaName& origin) {
  for (const auto& r : Replication(at).context().replicas) {
    if (r.replica == origin) return r.clock;
  }
  return 0;
}

// What `from` has that `to` has not seen, merged into `to`.
MergeStatus sync(Tracker& from, Tracker& to) {
  return Replication(to).merge(Replication(from).extract_delta(clock_of(to, from.local_replica())));
}

std::vector<PresenceEntry> sorted_list(Tracker& t) {
  std::vector<PresenceEntry> out;
  t.snapshot(kTopic, out);
  std::sort(out.begin(), out.end(), [](const PresenceEntry& a, const PresenceEntry& b) {
    return a.meta.phx_ref < b.meta.phx_ref;
  });
  return out;
}

void expect_consistent(Tracker& t) {
  std::string why;
  EXPECT_TRUE(t.check_invariants(&why)) << why;
}

TrackResult track(Tracker& t, std::string key, std::string page = "/", std::int64_t now = 1000) {
  return t.track(kTopic, key, cart(std::move(page), {{"air-max-90", "10", 1}}), Owner{1, 1}, now);
}

TEST(Crdt, ADeltaReplicatesJoinsUpdatesAndLeavesWithTheSameRefs) {
  Node a("store-a"), b("store-b");
  const TrackResult alice = track(a.tracker, "alice");
  const TrackResult bob = track(a.tracker, "bob");
  ASSERT_EQ(sync(a.tracker, b.tracker), MergeStatus::ok);
  EXPECT_EQ(sorted_list(b.tracker), sorted_list(a.tracker));
  EXPECT_EQ(b.tracker.stats(kTopic).nodes, (std::vector<std::string>{"store-a", "store-b"}));

  a.tracker.update(alice.handle, cart("/p", {{"samba", "9", 2}}), 2000);
  a.tracker.untrack(bob.handle);
  const Delta d = a.crdt.extract_delta(clock_of(b.tracker, a.tracker.local_replica()));
  EXPECT_FALSE(d.full_state);
  EXPECT_EQ(d.joins.size(), 1u);
  EXPECT_EQ(d.leaves.size(), 2u);
  const std::uint64_t seq = b.tracker.head_seq();
  ASSERT_EQ(b.crdt.merge(d), MergeStatus::ok);
  EXPECT_EQ(sorted_list(b.tracker), sorted_list(a.tracker));
  EXPECT_EQ(b.tracker.stats(kTopic).carts, a.tracker.stats(kTopic).carts);
  std::vector<Change> changes;
  std::uint64_t next = 0;
  b.tracker.changes_since(seq, 100, changes, &next);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes.back().kind, ChangeKind::join);
  EXPECT_FALSE(changes.back().meta.phx_ref_prev.empty());
  expect_consistent(b.tracker);
}

TEST(Crdt, ADownReplicasMergedMetasStayHiddenUntilItIsUp) {
  for (const bool sliced : {false, true}) {
    Node a("a"), b("b");
    track(a.tracker, "alice");
    ASSERT_EQ(sync(a.tracker, b.tracker), MergeStatus::ok);
    ASSERT_TRUE(b.crdt.replica_down(a.tracker.local_replica()));
    track(a.tracker, "bob");
    const Delta d = a.crdt.extract_delta(clock_of(b.tracker, a.tracker.local_replica()));
    if (sliced) {
      MergeJob job(d);
      while (!job.done()) ASSERT_EQ(b.crdt.merge_slice(job, 0), MergeStatus::ok);
    } else {
      ASSERT_EQ(b.crdt.merge(d), MergeStatus::ok);
    }
    EXPECT_TRUE(sorted_list(b.tracker).empty()) << sliced;
    expect_consistent(b.tracker);
    ASSERT_TRUE(b.crdt.replica_up(a.tracker.local_replica()));
    EXPECT_EQ(sorted_list(b.tracker), sorted_list(a.tracker)) << sliced;
    expect_consistent(b.tracker);
  }
}

TEST(Crdt, APermdownReplicaIsReadmittedWithAnEmptyContext) {
  Node a("a"), b("b");
  track(a.tracker, "alice");
  ASSERT_EQ(sync(a.tracker, b.tracker), MergeStatus::ok);
  const ReplicaName name = a.tracker.local_replica();
  EXPECT_FALSE(b.crdt.replica_readmit(name));  // up: nothing to re-admit
  ASSERT_TRUE(b.crdt.replica_permdown(name));
  EXPECT_EQ(b.crdt.merge(a.crdt.extract_full_state()), MergeStatus::ignored);
  ASSERT_TRUE(b.crdt.replica_readmit(name));
  EXPECT_EQ(clock_of(b.tracker, name), 0u);
  ASSERT_EQ(b.crdt.merge(a.crdt.extract_full_state()), MergeStatus::ok);
  EXPECT_EQ(sorted_list(b.tracker), sorted_list(a.tracker));
  EXPECT_EQ(b.tracker.stats(kTopic).nodes, (std::vector<std::string>{"a", "b"}));
  expect_consistent(b.tracker);
}

TEST(Crdt, MergeIsIdempotent) {
  Node a("a"), b("b");
  track(a.tracker, "alice");
  const Delta d = a.crdt.extract_delta(0);
  ASSERT_EQ(b.crdt.merge(d), MergeStatus::ok);
  const std::uint64_t seq = b.tracker.head_seq();
  const auto state = sorted_list(b.tracker);
  ASSERT_EQ(b.crdt.merge(d), MergeStatus::ok);
  EXPECT_EQ(sorted_list(b.tracker), state);
  EXPECT_EQ(b.tracker.head_seq(), seq);
}

TEST(Crdt, DeltasAppliedOutOfOrderDoNotResurrectRemovedMetas) {
  Node a("a"), b("b");
  const TrackResult alice = track(a.tracker, "alice");
  const Delta first = a.crdt.extract_delta(0);  // alice joined
  a.tracker.untrack(alice.handle);
  track(a.tracker, "bob");
  const Delta second = a.crdt.extract_delta(first.to);  // alice left, bob joined
  ASSERT_EQ(b.crdt.merge(second), MergeStatus::ok);
  ASSERT_EQ(b.crdt.merge(first), MergeStatus::ok);
  EXPECT_EQ(sorted_list(b.tracker), sorted_list(a.tracker));
  ASSERT_EQ(sorted_list(b.tracker).size(), 1u);
  EXPECT_EQ(sorted_list(b.tracker)[0].key, "bob");
  const auto ctx = b.crdt.context();
  EXPECT_EQ(clock_of(b.tracker, a.tracker.local_replica()), a.crdt.context().replicas[0].clock);
  expect_consistent(b.tracker);
}

// phoenix_pubsub issue 148: C learns a newer version of alice through a delta
// while its context for A has a gap; a stale full state of A carrying the old
// version arrives afterwards. Phoenix admits it (its dot is in neither the
// context nor the cloud); we must not.
TEST(Crdt, Issue148StaleFullStateDoesNotResurrectAReplacedMeta) {
  Node a("a"), c("c");
  const TrackResult alice = track(a.tracker, "alice", "/old");
  const Delta stale_full = a.crdt.extract_full_state();
  const TrackResult v2 = a.tracker.update(alice.handle, cart("/mid"), 2000);
  const std::uint64_t before_last = a.crdt.context().replicas[0].clock;
  a.tracker.update(v2.handle, cart("/new"), 3000);
  // Only the newest change reaches C: a gap in C's context for A.
  const Delta newest = a.crdt.extract_delta(before_last);
  ASSERT_EQ(c.crdt.merge(newest), MergeStatus::ok);
  const auto ctx = c.crdt.context();
  ASSERT_EQ(ctx.replicas.size(), 2u);
  EXPECT_EQ(ctx.replicas[1].clock, 0u);
  EXPECT_FALSE(ctx.replicas[1].cloud.empty());

  ASSERT_EQ(c.crdt.merge(stale_full), MergeStatus::ok);
  const auto list = sorted_list(c.tracker);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].meta.meta.page, "/new");
  EXPECT_EQ(c.tracker.stats(kTopic).connections, 1u);
  // And a removal seen through a gap stays removed when the older state comes in.
  Node d("d");
  const Delta with_alice = a.crdt.extract_full_state();
  a.tracker.untrack(a.tracker.track(kTopic, "x", cart("/"), Owner{1, 2}, 0).handle);
  const auto list_a = sorted_list(a.tracker);
  a.tracker.untrack_owner({1, 0});
  ASSERT_EQ(d.crdt.merge(a.crdt.extract_delta(with_alice.to)), MergeStatus::ok);
  ASSERT_EQ(d.crdt.merge(with_alice), MergeStatus::ok);
  EXPECT_TRUE(sorted_list(d.tracker).empty());
  EXPECT_EQ(list_a.size(), 1u);
  expect_consistent(c.tracker);
  expect_consistent(d.tracker);
}

TEST(Crdt, APeerBeyondTheTombstoneLogGetsAFullStateThatDropsRemovedMetas) {
  constexpr std::size_t kTombs = 64;
  Node a("a", 1, kTombs), b("b");
  const TrackResult alice = track(a.tracker, "alice");
  ASSERT_EQ(sync(a.tracker, b.tracker), MergeStatus::ok);
  a.tracker.untrack(alice.handle);
  for (std::size_t i = 0; i < kTombs; ++i) {
    a.tracker.untrack(track(a.tracker, "k" + std::to_string(i)).handle);
  }
  track(a.tracker, "carol");
  const Delta d = a.crdt.extract_delta(clock_of(b.tracker, a.tracker.local_replica()));
  EXPECT_TRUE(d.full_state);
  ASSERT_EQ(b.crdt.merge(d), MergeStatus::ok);
  EXPECT_EQ(sorted_list(b.tracker), sorted_list(a.tracker));
  // One removal fewer fits the log: a plain delta.
  Node c("c", 1, kTombs);
  const TrackResult x = track(c.tracker, "x");
  Node e("e");
  ASSERT_EQ(sync(c.tracker, e.tracker), MergeStatus::ok);
  c.tracker.untrack(x.handle);
  for (std::size_t i = 0; i + 1 < kTombs; ++i) {
    c.tracker.untrack(track(c.tracker, "k" + std::to_string(i)).handle);
  }
  const Delta small = c.crdt.extract_delta(clock_of(e.tracker, c.tracker.local_replica()));
  EXPECT_FALSE(small.full_state);
  ASSERT_EQ(e.crdt.merge(small), MergeStatus::ok);
  EXPECT_TRUE(sorted_list(e.tracker).empty());
}

// A peer that claims to have seen clocks we never issued (an earlier life of a
// replica with the same name and generation) is sent everything.
TEST(Crdt, APeerClaimingAFutureClockGetsAFullState) {
  Node a("a");
  track(a.tracker, "alice");
  const Delta d = a.crdt.extract_delta(99);
  EXPECT_TRUE(d.full_state);
  EXPECT_EQ(d.from, 0u);
  EXPECT_EQ(d.joins.size(), 1u);
  EXPECT_FALSE(a.crdt.extract_delta(1).full_state);
  EXPECT_TRUE(a.crdt.extract_delta(1).joins.empty());
}

TEST(Crdt, DownHidesUpShowsAndPermdownForgetsAReplica) {
  Node a("a"), b("b");
  track(a.tracker, "alice", "/x");
  ASSERT_EQ(sync(a.tracker, b.tracker), MergeStatus::ok);
  const ReplicaName name_a = a.tracker.local_replica();
  const std::uint64_t seq = b.tracker.head_seq();
  const auto version = b.tracker.stats_version();

  ASSERT_TRUE(b.crdt.replica_down(name_a));
  EXPECT_FALSE(b.crdt.replica_down(name_a));
  EXPECT_TRUE(sorted_list(b.tracker).empty());
  StatsSnapshot s = b.tracker.stats(kTopic);
  EXPECT_EQ(s.connections, 0u);
  EXPECT_TRUE(s.pages.empty());
  EXPECT_TRUE(s.carts.empty());
  EXPECT_EQ(s.nodes, std::vector<std::string>{"b"});
  EXPECT_GT(b.tracker.stats_version(), version);
  std::vector<Change> changes;
  std::uint64_t next = 0;
  b.tracker.changes_since(seq, 10, changes, &next);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, ChangeKind::leave);
  // Deltas received while down are kept hidden.
  track(a.tracker, "bob");
  ASSERT_EQ(sync(a.tracker, b.tracker), MergeStatus::ok);
  EXPECT_TRUE(sorted_list(b.tracker).empty());
  expect_consistent(b.tracker);

  ASSERT_TRUE(b.crdt.replica_up(name_a));
  EXPECT_FALSE(b.crdt.replica_up(name_a));
  EXPECT_EQ(sorted_list(b.tracker), sorted_list(a.tracker));
  EXPECT_EQ(b.tracker.stats(kTopic).nodes, (std::vector<std::string>{"a", "b"}));
  expect_consistent(b.tracker);

  ASSERT_TRUE(b.crdt.replica_permdown(name_a));
  EXPECT_TRUE(sorted_list(b.tracker).empty());
  EXPECT_EQ(b.tracker.usage().metas, 0u);
  EXPECT_EQ(clock_of(b.tracker, name_a), 0u);
  EXPECT_EQ(b.crdt.merge(a.crdt.extract_full_state()), MergeStatus::ignored);
  EXPECT_TRUE(sorted_list(b.tracker).empty());
  EXPECT_FALSE(b.crdt.replica_down(b.tracker.local_replica()));
  EXPECT_FALSE(b.crdt.replica_down(ReplicaName{"nobody", 1}));
  // A restarted node is a new replica.
  Node a2("a", 2);
  track(a2.tracker, "carol");
  EXPECT_EQ(sync(a2.tracker, b.tracker), MergeStatus::ok);
  EXPECT_EQ(sorted_list(b.tracker).size(), 1u);
  expect_consistent(b.tracker);
}

TEST(Crdt, TooManyGapsAskForAFullState) {
  Node a("a"), b("b");
  std::vector<Delta> deltas;
  for (std::size_t i = 0; i < 2 * kMaxCloudRanges + 2; ++i) {
    const std::uint64_t before = a.crdt.context().replicas[0].clock;
    track(a.tracker, "k" + std::to_string(i));
    deltas.push_back(a.crdt.extract_delta(before));
  }
  // Every other delta: each leaves a gap in b's context.
  std::size_t accepted = 0;
  MergeStatus last = MergeStatus::ok;
  for (std::size_t i = 1; i < deltas.size() && last == MergeStatus::ok; i += 2) {
    last = b.crdt.merge(deltas[i]);
    if (last == MergeStatus::ok) ++accepted;
  }
  EXPECT_EQ(accepted, kMaxCloudRanges);
  EXPECT_EQ(last, MergeStatus::needs_full_state);
  EXPECT_EQ(b.crdt.merge(a.crdt.extract_full_state()), MergeStatus::ok);
  EXPECT_EQ(sorted_list(b.tracker), sorted_list(a.tracker));
  EXPECT_TRUE(b.crdt.context().replicas[1].cloud.empty());
  expect_consistent(b.tracker);
}

TEST(Crdt, ReplicasAreBounded) {
  Node b("b");
  for (std::size_t i = 1; i < kMaxReplicas; ++i) {
    Delta d;
    d.origin = ReplicaName{"n" + std::to_string(i), 1};
    ASSERT_EQ(b.crdt.merge(d), MergeStatus::ok);
  }
  Delta extra;
  extra.origin = ReplicaName{"extra", 1};
  EXPECT_EQ(b.crdt.merge(extra), MergeStatus::replicas_full);
  ASSERT_TRUE(b.crdt.replica_permdown(ReplicaName{"n1", 1}));
  EXPECT_EQ(b.crdt.merge(extra), MergeStatus::ok);
}

TEST(Crdt, MalformedDeltasAreRefused) {
  Node b("b");
  Delta d;
  d.origin = ReplicaName{"a", 1};
  d.from = 5;
  d.to = 4;
  EXPECT_EQ(b.crdt.merge(d), MergeStatus::invalid_argument);
  d.to = 10;
  d.joins.push_back(DeltaJoin{"t", "k", 3, 0, 3, cart("/"), 0, 0});  // clock outside (from, to]
  EXPECT_EQ(b.crdt.merge(d), MergeStatus::invalid_argument);
  d.joins[0].clock = 7;
  d.joins[0].lineage = 8;  // a chain cannot start after its meta
  EXPECT_EQ(b.crdt.merge(d), MergeStatus::invalid_argument);
  d.joins[0].lineage = 7;
  d.joins[0].meta.page = std::string(kMaxPageBytes + 1, 'p');
  EXPECT_EQ(b.crdt.merge(d), MergeStatus::invalid_argument);
  d.joins[0].meta.page = "/";
  d.origin.node = std::string(kMaxNodeNameBytes + 1, 'n');
  EXPECT_EQ(b.crdt.merge(d), MergeStatus::invalid_argument);
  d.origin.node = "a";
  d.full_state = true;
  EXPECT_EQ(b.crdt.merge(d), MergeStatus::invalid_argument);  // full states start at 0
  d.full_state = false;
  EXPECT_EQ(b.crdt.merge(d), MergeStatus::ok);
  EXPECT_EQ(b.crdt.merge(b.crdt.extract_full_state()), MergeStatus::ignored);
}

}  // namespace
}  // namespace presence
