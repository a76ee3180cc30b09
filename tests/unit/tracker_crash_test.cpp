// A worker SIGKILLed while holding the lock (nginx's master then force-unlocks
// the zone mutex; here the robust mutex reports EOWNERDEAD): the next locker
// notices the unfinished operation and rebuilds the region from its committed metas.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>

#include "presence/crash_hook.hpp"
#include "presence/process_identity.hpp"
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

int g_crash_at = -1;
void die_at(int point) noexcept {
  if (point == g_crash_at) raise(SIGKILL);
}

// Runs `op` in a child that is killed at `point` inside the critical section.
template <class Op>
void run_killed_at(int point, Op&& op) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    g_crash_at = point;
    testing::set_crash_hook(&die_at);
    op();
    _exit(0);  // not reached when the crash point is hit
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the crash point was not hit";
}

class TrackerCrashTest : public ::testing::Test {
 protected:
  TrackerCrashTest() : region_(kRegionBytes), tracker_(*region_.open(config(), true)) {
    for (int i = 0; i < 20; ++i) {
      kept_.push_back(tracker_.track(kTopic, "cart-" + std::to_string(i % 7),
                                     cart("/p" + std::to_string(i % 3), {{"samba", "9", 2}}),
                                     Owner{1, static_cast<std::uint64_t>(i)}, 1000 + i));
    }
    baseline_ = tracker_.usage().used_bytes;
    seq_ = tracker_.head_seq();
  }

  void expect_repaired() {
    EXPECT_EQ(tracker_.usage().repairs, 1u);
    std::string why;
    EXPECT_TRUE(tracker_.check_invariants(&why)) << why;
    std::vector<Change> changes;
    std::uint64_t next = 0;
    // Changes may have gone unlogged: every reader resyncs.
    EXPECT_EQ(tracker_.changes_since(seq_, 100, changes, &next), ChangeStatus::behind);
    for (const auto& r : kept_) EXPECT_EQ(tracker_.get(r.handle)->phx_ref, r.phx_ref);
  }

  SharedRegion region_;
  Tracker tracker_;
  std::vector<TrackResult> kept_;
  std::size_t baseline_ = 0;
  std::uint64_t seq_ = 0;
};

TEST_F(TrackerCrashTest, ATrackKilledAfterCommitIsKeptAndOwnedByTheDeadWorker) {
  run_killed_at(0, [&] {
    tracker_.track(kTopic, "cart-new", cart("/new", {{"gazelle", "8", 1}}),
                   Owner{static_cast<std::uint32_t>(getpid()), 1}, 5);
  });
  expect_repaired();
  std::vector<PresenceEntry> list;
  tracker_.snapshot(kTopic, list);
  EXPECT_EQ(list.size(), kept_.size() + 1);
  const StatsSnapshot stats = tracker_.stats(kTopic);
  EXPECT_EQ(stats.connections, kept_.size() + 1);
  const auto owners = tracker_.owners();
  ASSERT_EQ(owners.size(), 2u);
  const ProcessIdentity dead = owners[0].pid == 1 ? owners[1] : owners[0];
  EXPECT_FALSE(is_running(dead));
  EXPECT_EQ(tracker_.untrack_owner(dead), 1u);
  EXPECT_EQ(tracker_.usage().used_bytes, baseline_);
  // Business as usual afterwards.
  EXPECT_EQ(tracker_.track(kTopic, "cart-x", cart("/"), Owner{1, 99}, 0).error, TrackError::none);
  std::string why;
  EXPECT_TRUE(tracker_.check_invariants(&why)) << why;
}

TEST_F(TrackerCrashTest, AnUntrackKilledHalfWayDropsTheMetaAndLeaksNothing) {
  const TrackResult victim = kept_.back();
  kept_.pop_back();
  run_killed_at(1, [&] { tracker_.untrack(victim.handle); });
  expect_repaired();
  EXPECT_FALSE(tracker_.get(victim.handle));
  std::vector<PresenceEntry> list;
  tracker_.snapshot(kTopic, list);
  EXPECT_EQ(list.size(), kept_.size());
  for (const auto& r : kept_) ASSERT_TRUE(tracker_.untrack(r.handle));
  EXPECT_EQ(tracker_.usage().metas, 0u);
  EXPECT_EQ(tracker_.usage().keys, 0u);
  SharedRegion fresh(kRegionBytes);
  auto empty = fresh.open(config(), true);
  EXPECT_EQ(tracker_.usage().used_bytes, empty->usage().used_bytes);
}

TEST_F(TrackerCrashTest, AMergeKilledHalfWayKeepsWhatWasCommitted) {
  SharedRegion other_region(kRegionBytes);
  auto other = other_region.open(config("store-b"), true);
  for (int i = 0; i < 5; ++i) {
    other->track(kTopic, "remote-" + std::to_string(i), cart("/r"), Owner{2, 1}, 0);
  }
  const Delta delta = Replication(*other).extract_delta(0);
  run_killed_at(2, [&] { Replication(tracker_).merge(delta); });
  expect_repaired();
  std::vector<PresenceEntry> list;
  tracker_.snapshot(kTopic, list);
  EXPECT_EQ(list.size(), kept_.size() + 1);  // the first remote meta was committed
  // The range was not acknowledged: merging again completes it.
  EXPECT_EQ(Replication(tracker_).merge(delta), MergeStatus::ok);
  tracker_.snapshot(kTopic, list);
  EXPECT_EQ(list.size(), kept_.size() + 5);
  std::string why;
  EXPECT_TRUE(tracker_.check_invariants(&why)) << why;
}

TEST_F(TrackerCrashTest, RepairOfAHealthyRegionChangesNothingVisible) {
  std::vector<PresenceEntry> before;
  tracker_.snapshot(kTopic, before);
  const StatsSnapshot stats = tracker_.stats(kTopic);
  tracker_.repair();
  EXPECT_EQ(tracker_.usage().repairs, 0u);  // counted are the repairs after a death
  std::string why;
  EXPECT_TRUE(tracker_.check_invariants(&why)) << why;
  std::vector<Change> changes;
  std::uint64_t next = 0;
  EXPECT_EQ(tracker_.changes_since(seq_, 100, changes, &next), ChangeStatus::behind);
  std::vector<PresenceEntry> after;
  tracker_.snapshot(kTopic, after);
  EXPECT_EQ(after, before);
  EXPECT_EQ(tracker_.stats(kTopic), stats);
  EXPECT_EQ(tracker_.usage().used_bytes, baseline_);
  // Local deltas still work from the rebuilt, clock-ordered list; older peers get a full state.
  const Delta d = Replication(tracker_).extract_delta(0);
  EXPECT_TRUE(d.full_state);
  EXPECT_EQ(d.joins.size(), kept_.size());
  EXPECT_TRUE(std::is_sorted(d.joins.begin(), d.joins.end(),
                             [](const auto& a, const auto& b) { return a.clock < b.clock; }));
}

// The reaper's rule: a meta's owner is its process, the pid and the start
// time; a new process that got the pid of a dead owner is not that owner.
TEST_F(TrackerCrashTest, AReusedPidDoesNotKeepADeadOwnersMetasAlive) {
  const auto self = process_identity(static_cast<std::uint32_t>(getpid()));
  ASSERT_TRUE(self) << self.reason();
  const ProcessIdentity former{self->pid, self->start_time - 1};  // same pid, earlier process
  const TrackResult stale =
      tracker_.track(kTopic, "cart-stale", cart("/"), Owner{former.pid, 1, former.start_time}, 0);
  const TrackResult live =
      tracker_.track(kTopic, "cart-live", cart("/"), Owner{self->pid, 2, self->start_time}, 0);
  ASSERT_EQ(stale.error, TrackError::none);
  ASSERT_EQ(live.error, TrackError::none);
  std::size_t reaped = 0;
  for (const ProcessIdentity& owner : tracker_.owners()) {
    if (!is_running(owner)) reaped += tracker_.untrack_owner(owner);
  }
  EXPECT_EQ(reaped, 1u);  // pid 1 (of the fixture's metas, start time unknown) runs
  EXPECT_FALSE(tracker_.get(stale.handle));
  EXPECT_TRUE(tracker_.get(live.handle));
  for (const auto& r : kept_) EXPECT_TRUE(tracker_.get(r.handle));
  const auto owners = tracker_.owners();
  EXPECT_EQ(std::count(owners.begin(), owners.end(), former), 0);
  EXPECT_EQ(std::count(owners.begin(), owners.end(), *self), 1);
  std::string why;
  EXPECT_TRUE(tracker_.check_invariants(&why)) << why;
}

}  // namespace
}  // namespace presence
