// Large states: transfers through keys in chunks, merges in slices, and a
// region too full to take everything.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "cluster_test_support.hpp"
#include "presence/cluster_node.hpp"
#include "presence/crash_hook.hpp"

namespace presence {
namespace {

using cluster::Drop;
using test::cart_presences;
using test::ClusterBus;
using test::ClusterReplica;
using test::drops;
using test::track_cart;

constexpr std::int64_t kStart = 1'700'000'000'000;
constexpr std::size_t kBigRegion = 32 * 1024 * 1024;

class ClusterTransfer : public ::testing::Test {
 protected:
  ClusterReplica& add(const std::string& name, std::size_t bytes = kBigRegion,
                      std::uint64_t generation = 1) {
    replicas.push_back(std::make_unique<ClusterReplica>(name, generation, bytes, 1024));
    replicas.back()->start(settings, now);
    bus.join(*replicas.back());
    return *replicas.back();
  }
  void run_for(std::int64_t ms) {
    bus.run(now + 50, now + ms);
    now += ms;
  }
  std::vector<TrackResult> track_many(ClusterReplica& r, int n, const std::string& prefix) {
    std::vector<TrackResult> out;
    for (int i = 0; i < n; ++i) {
      out.push_back(track_cart(r.tracker, prefix + std::to_string(i)));
      EXPECT_EQ(out.back().error, TrackError::none);
    }
    return out;
  }
  void expect_same(ClusterReplica& x, ClusterReplica& y) {
    const auto want = cart_presences(x.tracker);
    const auto got = cart_presences(y.tracker);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << i;
    std::string why;
    EXPECT_TRUE(y.tracker.check_invariants(&why)) << why;
  }

  cluster::Settings settings = [] {
    auto s = test::cluster_settings();
    s.inline_max_bytes = 16 * 1024;
    s.chunk_bytes = 8 * 1024;
    return s;
  }();
  std::int64_t now = kStart;
  std::vector<std::unique_ptr<ClusterReplica>> replicas;
  ClusterBus bus;
};

TEST_F(ClusterTransfer, ANodeJoiningLateGetsALargeStateThroughKeys) {
  ClusterReplica& a = add("store-a");
  track_many(a, 3000, "cart-");
  run_for(100);  // a's first delta is too large for the bus: it went through keys
  EXPECT_GT(bus.chunks_set, 1u);
  EXPECT_EQ(a.status.counters.transfers_via_keys_out, 1u);
  ClusterReplica& late = add("store-late");
  run_for(1200);  // a's heartbeat shows late what it lacks
  EXPECT_EQ(cart_presences(late.tracker).size(), 3000u);
  expect_same(a, late);
  EXPECT_EQ(late.status.counters.transfers_via_keys_in, 1u);
  EXPECT_GE(late.status.counters.merge_slices, 1u);
  EXPECT_EQ(a.status.counters.transfers_via_keys_out, 2u);
}

TEST_F(ClusterTransfer, LostChunksAreCountedAndTheTransferAskedAgain) {
  ClusterReplica& a = add("store-a");
  ClusterReplica& b = add("store-b");
  bus.store_chunks = false;
  track_many(a, 1000, "cart-");
  run_for(100);
  EXPECT_TRUE(cart_presences(b.tracker).empty());
  EXPECT_GE(drops(b.status, Drop::malformed), 1u);
  EXPECT_GE(b.status.counters.transfer_requests_out, 1u);
  bus.store_chunks = true;
  run_for(2500);
  expect_same(a, b);
}

TEST_F(ClusterTransfer, AChunkReplacedInTheStoreIsRefusedByItsHash) {
  ClusterReplica& a = add("store-a");
  ClusterReplica& b = add("store-b");
  track_many(a, 1000, "cart-");
  std::vector<cluster::Command> out;
  a.node->tick(now, out);
  for (auto& c : out) {
    if (c.op == cluster::Command::Op::set_chunk) c.bytes[0] ^= 1;
  }
  bus.carry(a, out);
  bus.deliver(now);
  EXPECT_EQ(drops(b.status, Drop::bad_mac), 1u);
  run_for(2500);
  expect_same(a, b);
}

TEST_F(ClusterTransfer, ALargeDeltaMergesInSlicesAndLaterDeltasWaitBehindIt) {
  settings.inline_max_bytes = cluster::kMaxInlineMessageBytes;
  ClusterReplica& a = add("store-a");
  ClusterReplica& b = add("store-b");
  track_many(a, 3000, "cart-");
  std::vector<cluster::Command> out;
  bus.tick(now);
  bus.deliver(now);
  ASSERT_TRUE(b.node->merging());
  // Changes of a arrive while its large delta is still queued at b.
  track_cart(a.tracker, "late-join");
  now += 50;
  bus.tick(now);
  bus.deliver(now);
  EXPECT_TRUE(b.node->merging());
  EXPECT_TRUE(cart_presences(b.tracker).empty());
  // A budget of nothing still moves every slice forward, a few dozen records at a time.
  std::size_t rounds = 0;
  while (b.node->merging()) {
    b.node->merge_some(now, 0, out);
    bus.carry(b, out);
    ++rounds;
  }
  EXPECT_GT(rounds, 3000u / 64);
  EXPECT_EQ(b.status.counters.merge_slices, rounds);
  EXPECT_GT(b.status.counters.merge_lock_ns_max, 0u);
  EXPECT_GE(b.status.counters.merge_lock_ns_total, b.status.counters.merge_lock_ns_max);
  bus.deliver(now);
  expect_same(a, b);
  EXPECT_EQ(cart_presences(b.tracker).size(), 3001u);
  EXPECT_EQ(b.status.counters.transfer_requests_out, 0u);
}

TEST_F(ClusterTransfer, AMergeCutBetweenSlicesIsRedoneToTheSameState) {
  ClusterReplica& a = add("store-a");
  ClusterReplica& b = add("store-b");
  const auto tracked = track_many(a, 3000, "cart-");
  Replication into(b.tracker);
  {
    MergeJob job(Replication(a.tracker).extract_full_state());
    for (int i = 0; i < 20 && !job.done(); ++i)
      ASSERT_EQ(into.merge_slice(job, 0), MergeStatus::ok);
    ASSERT_FALSE(job.done());
  }  // the worker dies here: the range was never acknowledged
  EXPECT_FALSE(cart_presences(b.tracker).empty());
  for (const auto& c : into.context().replicas) {
    if (c.replica == a.tracker.local_replica()) {
      EXPECT_EQ(c.clock, 0u);
    }
  }
  // Meanwhile a removed some of what b already holds.
  for (std::size_t i = 0; i < 100; ++i) ASSERT_TRUE(a.tracker.untrack(tracked[i].handle));
  MergeJob again(Replication(a.tracker).extract_full_state());
  while (!again.done()) {
    const MergeStatus s = into.merge_slice(again, 0);
    if (again.done()) {
      EXPECT_EQ(s, MergeStatus::ok);
    }
  }
  expect_same(a, b);
  EXPECT_GT(again.slices(), 1u);
}

TEST_F(ClusterTransfer, DeltasUpToTheSliceBoundMergeInlineAndOnePastItInSlices) {
  settings.inline_max_bytes = cluster::kMaxInlineMessageBytes;
  ClusterReplica& a = add("store-a");
  ClusterReplica& b = add("store-b");
  track_many(a, static_cast<int>(cluster::kSlicedMergeUpdates), "first-");
  bus.tick(now);
  bus.deliver(now);
  EXPECT_FALSE(b.node->merging());
  EXPECT_EQ(cart_presences(b.tracker).size(), cluster::kSlicedMergeUpdates);
  track_many(a, static_cast<int>(cluster::kSlicedMergeUpdates) + 1, "second-");
  now += settings.batch_ms;
  bus.tick(now);
  bus.deliver(now);
  EXPECT_TRUE(b.node->merging());
  EXPECT_EQ(b.status.counters.merge_slices, 0u);
  bus.merge(now);
  EXPECT_GT(b.status.counters.merge_slices, 0u);
  expect_same(a, b);
}

class ClusterMergeQueue : public ClusterTransfer {
 protected:
  // A sliced merge of a's at b, then `behind` small deltas of a arriving
  // before b merges anything; returns b's transfer requests once drained.
  std::uint64_t queue_behind(std::size_t behind) {
    settings.inline_max_bytes = cluster::kMaxInlineMessageBytes;
    ClusterReplica& a = add("store-a");
    ClusterReplica& b = add("store-b");
    track_many(a, static_cast<int>(cluster::kSlicedMergeUpdates) + 1, "cart-");
    bus.tick(now);
    bus.deliver(now);
    EXPECT_TRUE(b.node->merging());
    for (std::size_t i = 0; i < behind; ++i) {
      track_cart(a.tracker, "late-" + std::to_string(i));
      now += settings.batch_ms;
      bus.tick(now);
      bus.deliver(now);
    }
    bus.merge(now);
    bus.deliver(now);
    const std::uint64_t asked = b.status.counters.transfer_requests_out;
    run_for(settings.transfer_retry_ms);
    expect_same(a, b);
    return asked;
  }
};

TEST_F(ClusterMergeQueue, DeltasUpToTheBoundWaitBehindASlicedMerge) {
  EXPECT_EQ(queue_behind(cluster::kMaxQueuedPerOrigin - 1), 0u);
}

TEST_F(ClusterMergeQueue, OnePastTheBoundIsDroppedAndAskedForAgain) {
  EXPECT_EQ(queue_behind(cluster::kMaxQueuedPerOrigin), 1u);
}

TEST_F(ClusterTransfer, ANewGenerationCancelsTheOldOnesQueuedMerges) {
  settings.inline_max_bytes = cluster::kMaxInlineMessageBytes;
  replicas.push_back(std::make_unique<ClusterReplica>("store-a", 1, kBigRegion, 1024));
  ClusterReplica& old_a = *replicas.back();
  old_a.start(settings, now);
  bus.join(old_a);
  ClusterReplica& b = add("store-b");
  track_many(old_a, static_cast<int>(cluster::kSlicedMergeUpdates) + 1, "cart-");
  bus.tick(now);
  bus.deliver(now);
  ASSERT_TRUE(b.node->merging());
  bus.leave(old_a);
  ClusterReplica& new_a = add("store-a", kBigRegion, 2);
  track_cart(new_a.tracker, "after-restart");
  now += settings.batch_ms;
  bus.tick(now);
  bus.deliver(now);
  EXPECT_FALSE(b.node->merging());
  EXPECT_EQ(b.status.counters.replicas_permdown, 1u);
  run_for(1000);
  expect_same(new_a, b);
  EXPECT_EQ(cart_presences(b.tracker).size(), 1u);
}

int g_merged_until_killed = 0;
void die_after_merged(int point) noexcept {
  constexpr int kMergeApplied = 2;
  if (point == kMergeApplied && --g_merged_until_killed == 0) raise(SIGKILL);
}

TEST_F(ClusterTransfer, AWorkerKilledInsideASliceLeavesARegionTheRedoCompletes) {
  ClusterReplica& a = add("store-a");
  ClusterReplica& b = add("store-b");
  const auto tracked = track_many(a, 3000, "cart-");
  const Delta full = Replication(a.tracker).extract_full_state();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Killed holding the lock, several slices in.
    g_merged_until_killed = 1000;
    testing::set_crash_hook(&die_after_merged);
    MergeJob job(full);
    while (!job.done()) (void)Replication(b.tracker).merge_slice(job, 0);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_EQ(b.tracker.usage().repairs, 1u);
  EXPECT_GE(cart_presences(b.tracker).size(), 900u);
  for (std::size_t i = 0; i < 10; ++i) ASSERT_TRUE(a.tracker.untrack(tracked[i].handle));
  run_for(1500);  // b's node asks a for what it lacks
  expect_same(a, b);
}

TEST_F(ClusterTransfer, AFullRegionRecoversOnceRoomIsBack) {
  settings.inline_max_bytes = cluster::kMaxInlineMessageBytes;
  ClusterReplica& a = add("store-a");
  ClusterReplica& small = add("store-small", ClusterReplica::kSmallest);
  const auto tracked = track_many(a, 3000, "cart-");
  run_for(200);
  EXPECT_LT(cart_presences(small.tracker).size(), 3000u);
  // Its own shoppers are refused meanwhile, not the ones it holds.
  EXPECT_NE(track_cart(small.tracker, "local").error, TrackError::none);
  for (std::size_t i = 0; i < 2900; ++i) ASSERT_TRUE(a.tracker.untrack(tracked[i].handle));
  run_for(3000);
  expect_same(a, small);
  EXPECT_EQ(cart_presences(small.tracker).size(), 100u);
}

TEST_F(ClusterTransfer, AFullStateIsAnsweredInSlicesWithChurnBetweenThem) {
  settings.merge_slice_ns = 0;  // a few dozen records a slice
  ClusterReplica& a = add("store-a");
  const auto carts = track_many(a, 3000, "cart-");
  run_for(100);  // a's own batch went out before b was there
  ClusterReplica& b = add("store-b");
  // b hears a's heartbeat and asks for everything: a starts extracting.
  for (int i = 0; i < 40 && !a.node->merging(); ++i) {
    now += 50;
    bus.tick(now);
    bus.deliver(now);
  }
  ASSERT_TRUE(a.node->merging());
  EXPECT_EQ(a.status.counters.transfers_out, 0u);
  std::vector<cluster::Command> out;
  std::size_t rounds = 0;
  while (a.node->merging()) {
    // Nothing is sent before the state is complete.
    EXPECT_EQ(a.status.counters.transfers_out, 0u);
    a.node->merge_some(now, 0, out);
    bus.carry(a, out);
    ++rounds;
    if (rounds % 10 == 0 && a.node->merging()) {
      ASSERT_TRUE(a.tracker.untrack(carts[rounds].handle));
      ASSERT_EQ(
          a.tracker.update(carts[2000 + rounds].handle, test::cart("/p", {{"gel", "8", 2}}), 2000)
              .error,
          TrackError::none);
      track_cart(a.tracker, "during-" + std::to_string(rounds));
    }
  }
  // A budget of nothing: a few dozen records a slice.
  EXPECT_GT(rounds, 3000u / 64);
  EXPECT_EQ(a.status.counters.extract_slices, rounds + 1);  // the first one on the request
  EXPECT_GT(a.status.counters.extract_lock_ns_max, 0u);
  EXPECT_EQ(a.status.counters.transfers_out, 1u);
  run_for(2000);
  expect_same(a, b);
}

TEST_F(ClusterTransfer, ABatchCursorBehindTheTombstonesPublishesAFullStateInSlices) {
  settings.merge_slice_ns = 0;  // a few dozen records a slice
  ClusterReplica& a = add("store-a");
  ClusterReplica& b = add("store-b");
  const auto carts = track_many(a, 2000, "cart-");
  run_for(200);
  expect_same(a, b);
  // More removals than the tombstones hold (1024) between two batches.
  for (std::size_t i = 0; i < 1025; ++i) ASSERT_TRUE(a.tracker.untrack(carts[i].handle));
  const auto deltas = a.status.counters.deltas_out;
  now += 50;
  std::vector<cluster::Command> out;
  a.node->tick(now, out);
  bus.carry(a, out);
  ASSERT_TRUE(a.node->merging());
  EXPECT_EQ(a.status.counters.deltas_out, deltas);
  std::size_t rounds = 0;
  while (a.node->merging()) {
    a.node->merge_some(now, 0, out);
    bus.carry(a, out);
    ++rounds;
  }
  EXPECT_GT(rounds, 1u);
  EXPECT_EQ(a.status.counters.deltas_out, deltas + 1);
  EXPECT_EQ(a.node->cursor(), Replication(a.tracker).context().replicas.front().clock);
  run_for(500);
  expect_same(a, b);
}

}  // namespace
}  // namespace presence
