// A full state extracted in slices: each slice bounded, resumed safely after
// removals (the tombstone check, the walk from the head), and, with the churn
// between slices and the delta that follows merged, the same state as the origin's.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <random>

#include "presence/crash_hook.hpp"
#include "presence/replication.hpp"
#include "presence/tracker.hpp"
#include "tracker_lock.hpp"
#include "tracker_test_support.hpp"

namespace presence {
namespace {

using test::cart;
using test::config;
using test::SharedRegion;

constexpr std::string_view kTopic = "admin:cart_tracker";
constexpr std::size_t kRegionBytes = 4 * 1024 * 1024;
// Records between two reads of the clock in a slice (the core's kClockEvery).
constexpr std::size_t kClockEvery = 32;

struct Region {
  explicit Region(std::string name, std::size_t tombstones = 4096, std::size_t bytes = kRegionBytes)
      : region(bytes),
        tracker(*region.open(cfg(std::move(name), tombstones), true)),
        crdt(tracker) {}
  static TrackerConfig cfg(std::string name, std::size_t tombstones) {
    TrackerConfig c = config(std::move(name), 1);
    c.tombstone_log_entries = tombstones;
    return c;
  }
  SharedRegion region;
  Tracker tracker;
  Replication crdt;
};

TrackResult track(Tracker& t, const std::string& key, std::uint32_t owner = 1) {
  return t.track(kTopic, key, cart("/", {{"air-max-90", "10", 1}}), Owner{owner, 1}, 1000);
}

std::vector<TrackResult> track_many(Tracker& t, std::size_t n, std::uint32_t owner = 1) {
  std::vector<TrackResult> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(track(t, "cart-" + std::to_string(i), owner));
    EXPECT_EQ(out.back().error, TrackError::none);
  }
  return out;
}

std::vector<PresenceEntry> sorted_list(Tracker& t) {
  std::vector<PresenceEntry> out;
  t.snapshot(kTopic, out);
  std::sort(out.begin(), out.end(), [](const PresenceEntry& a, const PresenceEntry& b) {
    return a.meta.phx_ref < b.meta.phx_ref;
  });
  return out;
}

// Slices of at most `records` until done, `between` run after each unfinished one.
Delta extract_sliced(Replication& crdt, ExtractJob& job, std::size_t records,
                     const std::function<void(std::size_t)>& between = {}) {
  for (std::size_t slice = 0; !job.done(); ++slice) {
    const std::size_t before = job.records();
    crdt.extract_slice(job, 1'000'000'000, records);
    EXPECT_LE(job.records() - before, records);
    if (!job.done() && between) between(slice);
  }
  return job.take();
}

// The sliced state and the delta after it, merged into a fresh region: the
// origin's presences, key by key and meta by meta.
void expect_replicates(Region& a, Delta full) {
  Region b("store-b");
  const std::uint64_t to = full.to;
  ASSERT_TRUE(full.full_state);
  ASSERT_EQ(b.crdt.merge(full), MergeStatus::ok);
  const Delta after = a.crdt.extract_delta(to);
  ASSERT_FALSE(after.full_state);
  ASSERT_EQ(b.crdt.merge(after), MergeStatus::ok);
  EXPECT_EQ(sorted_list(b.tracker), sorted_list(a.tracker));
  std::string why;
  EXPECT_TRUE(b.tracker.check_invariants(&why)) << why;
}

TEST(SlicedExtract, WithoutChurnItIsTheOneShotFullState) {
  Region a("store-a");
  track_many(a.tracker, 1000);
  ExtractJob job;
  const Delta sliced = extract_sliced(a.crdt, job, 100);
  EXPECT_EQ(job.slices(), 10u);
  EXPECT_EQ(job.walks(), 0u);
  EXPECT_EQ(sliced, a.crdt.extract_full_state());
}

TEST(SlicedExtract, ASliceEndsWhenItsTimeBudgetIsSpent) {
  Region a("store-a");
  track_many(a.tracker, 1000);
  ExtractJob job;
  // A spent budget: each slice stops at its first read of the clock.
  while (!job.done()) {
    const std::size_t before = job.records();
    a.crdt.extract_slice(job, 0);
    EXPECT_LT(job.records() - before, kClockEvery);
    EXPECT_GT(job.records() - before, 0u);
  }
  EXPECT_EQ(job.slices(), (1000 + kClockEvery - 2) / (kClockEvery - 1));
  EXPECT_EQ(job.take(), a.crdt.extract_full_state());
}

TEST(SlicedExtract, AnEmptyReplicaIsAnEmptyFullStateInOneSlice) {
  Region a("store-a");
  ExtractJob job;
  a.crdt.extract_slice(job, 0);
  ASSERT_TRUE(job.done());
  EXPECT_EQ(job.take(), a.crdt.extract_full_state());
}

TEST(SlicedExtract, RemovalsOfOtherMetasKeepTheSavedPosition) {
  Region a("store-a");
  const auto carts = track_many(a.tracker, 300);
  ExtractJob job;
  const Delta full = extract_sliced(a.crdt, job, 50, [&](std::size_t slice) {
    // A copied one and one still to come, never the next one to copy.
    ASSERT_TRUE(a.tracker.untrack(carts[slice].handle));
    ASSERT_TRUE(a.tracker.untrack(carts[299 - slice].handle));
  });
  EXPECT_EQ(job.walks(), 0u);
  expect_replicates(a, full);
}

TEST(SlicedExtract, TheSavedMetaRemovedIsFoundInTheTombstonesAndWalkedPast) {
  Region a("store-a");
  const auto carts = track_many(a.tracker, 300);
  ExtractJob job;
  const Delta full = extract_sliced(a.crdt, job, 50, [&](std::size_t slice) {
    if (slice == 1) {
      ASSERT_TRUE(a.tracker.untrack(carts[100].handle));
    }
    // Slices 2 and 3 copied 101 to 200. An update replaces the saved meta
    // (its clock changes, its block may stay).
    if (slice == 3) {
      ASSERT_EQ(
          a.tracker
              .update(carts[201].handle, cart("/p", {{"samba", "9", 2}, {"gel", "8", 1}}), 2000)
              .error,
          TrackError::none);
    }
  });
  EXPECT_EQ(job.walks(), 2u);
  expect_replicates(a, full);
}

TEST(SlicedExtract, TombstonesOverrunBetweenSlicesMeanAWalk) {
  Region a("store-a", kMinTombstoneLogEntries);
  const auto carts = track_many(a.tracker, 300);
  ExtractJob job;
  const Delta full = extract_sliced(a.crdt, job, 100, [&](std::size_t slice) {
    if (slice != 0) return;
    // More removals than the ring holds, none of the saved meta.
    for (std::size_t i = 0; i < kMinTombstoneLogEntries + 1; ++i) {
      ASSERT_TRUE(a.tracker.untrack(carts[101 + i].handle));
    }
  });
  EXPECT_EQ(job.walks(), 1u);
  // The delta after `to` no longer reaches back: the state at `to` listed
  // what is still there, and nothing since was added.
  Region b("store-b");
  ASSERT_EQ(b.crdt.merge(full), MergeStatus::ok);
  std::vector<std::uint64_t> clocks;
  for (const DeltaJoin& j : full.joins) clocks.push_back(j.clock);
  EXPECT_TRUE(std::is_sorted(clocks.begin(), clocks.end()));
  EXPECT_EQ(std::adjacent_find(clocks.begin(), clocks.end()), clocks.end());
  EXPECT_EQ(full.joins.size(), 300u - (kMinTombstoneLogEntries + 1));
  EXPECT_EQ(sorted_list(b.tracker), sorted_list(a.tracker));
}

int g_crash_at = -1;
void die_at(int point) noexcept {
  if (point == g_crash_at) raise(SIGKILL);
}

TEST(SlicedExtract, TombstonesPastTheScanBoundMeanAWalk) {
  for (const std::size_t removed : {kExtractTombstoneScan, kExtractTombstoneScan + 1}) {
    Region a("store-a", 2 * kExtractTombstoneScan, 16 * 1024 * 1024);
    const auto carts = track_many(a.tracker, kExtractTombstoneScan + 200);
    ExtractJob job;
    const Delta full = extract_sliced(a.crdt, job, 100, [&](std::size_t slice) {
      if (slice != 0) return;
      for (std::size_t i = 0; i < removed; ++i) {
        ASSERT_TRUE(a.tracker.untrack(carts[101 + i].handle));
      }
    });
    EXPECT_EQ(job.walks(), removed > kExtractTombstoneScan ? 1u : 0u) << removed;
    expect_replicates(a, full);
  }
}

TEST(SlicedExtract, ARepairBetweenSlicesMeansAWalk) {
  Region a("store-a");
  const auto carts = track_many(a.tracker, 300);
  ExtractJob job;
  const Delta full = extract_sliced(a.crdt, job, 100, [&](std::size_t slice) {
    if (slice != 0) return;
    // Another process dies inside an untrack: the next slice's lock repairs the region.
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      g_crash_at = static_cast<int>(shm::CrashPoint::meta_unlinked);
      testing::set_crash_hook(&die_at);
      (void)a.tracker.untrack(carts[150].handle);
      _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  });
  EXPECT_EQ(a.tracker.usage().repairs, 1u);
  EXPECT_EQ(job.walks(), 1u);
  // A repair forgets the tombstones (peers behind get a full state): nothing
  // changed since but the dead process's untrack, so the state lists what is there.
  EXPECT_EQ(full.joins, a.crdt.extract_full_state().joins);
  Region b("store-b");
  ASSERT_EQ(b.crdt.merge(full), MergeStatus::ok);
  EXPECT_EQ(sorted_list(b.tracker), sorted_list(a.tracker));
}

TEST(SlicedExtract, ChurnBetweenSlicesConvergesOnceTheFollowingDeltaIsMerged) {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    Region a("store-a");
    std::vector<TrackResult> live = track_many(a.tracker, 200, 1);
    const auto others = track_many(a.tracker, 40, 2);
    live.insert(live.end(), others.begin(), others.end());
    std::mt19937 rng(seed);
    std::size_t fresh = 0;
    ExtractJob job;
    const Delta full = extract_sliced(a.crdt, job, 1 + seed % 17, [&](std::size_t slice) {
      for (int n = 0; n < 6; ++n) {
        const std::size_t pick = rng() % live.size();
        switch (rng() % 4) {
          case 0:
            live.push_back(track(a.tracker, "new-" + std::to_string(fresh++)));
            break;
          case 1: {
            // Larger carts need a larger block: the update moves the meta.
            std::vector<CartItem> items(1 + rng() % 5, CartItem{"samba", "9", 1});
            const TrackResult r =
                a.tracker.update(live[pick].handle, cart("/p", std::move(items)), 2000);
            if (r.error == TrackError::none) live[pick] = r;
            break;
          }
          case 2:
            if (live.size() > 1 && a.tracker.untrack(live[pick].handle)) {
              live.erase(live.begin() + static_cast<std::ptrdiff_t>(pick));
            }
            break;
          default:
            // The process owning 40 presences dies, once.
            if (slice == 3) a.tracker.untrack_owner(ProcessIdentity{2, 0});
            break;
        }
      }
    });
    SCOPED_TRACE(seed);
    expect_replicates(a, full);
  }
}

}  // namespace
}  // namespace presence
