// Several forked processes track and untrack on one shared region under a
// robust process-shared mutex; one is SIGKILLed mid-run (possibly inside a
// critical section). Its metas are removed by owner and every invariant holds.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <random>

#include "presence/tracker.hpp"
#include "tracker_test_support.hpp"

namespace presence {
namespace {

using test::cart;
using test::config;
using test::SharedRegion;

constexpr std::string_view kTopic = "admin:cart_tracker";
constexpr int kWorkers = 3;
constexpr int kOpsPerWorker = 10000;
constexpr int kKeptPerWorker = 10;

// Random tracks and untracks of its own metas, leaving exactly kKeptPerWorker.
void work(Tracker& t, std::uint32_t seed, bool forever) {
  std::mt19937 rng(seed);
  std::vector<MetaHandle> mine;
  const auto pid = static_cast<std::uint32_t>(getpid());
  for (int op = 0; forever || op < kOpsPerWorker; ++op) {
    if (mine.size() < 50 && (mine.empty() || rng() % 2 == 0)) {
      const TrackResult r = t.track(kTopic, "cart-" + std::to_string(rng() % 40),
                                    cart("/p" + std::to_string(rng() % 5), {{"samba", "9", 1}}),
                                    Owner{pid, static_cast<std::uint64_t>(op)}, op);
      if (r.error == TrackError::none) mine.push_back(r.handle);
    } else if (rng() % 3 == 0) {
      const std::size_t k = rng() % mine.size();
      const TrackResult r = t.update(mine[k], cart("/u", {{"gazelle", "8", 2}}), op);
      if (r.error != TrackError::none) _exit(4);
      mine[k] = r.handle;
    } else {
      const std::size_t k = rng() % mine.size();
      if (!t.untrack(mine[k])) _exit(2);
      mine.erase(mine.begin() + static_cast<std::ptrdiff_t>(k));
    }
  }
  for (const MetaHandle h : mine) {
    if (!t.untrack(h)) _exit(5);
  }
  for (int i = 0; i < kKeptPerWorker; ++i) {
    if (t.track(kTopic, "kept", cart("/k"), Owner{pid, 1}, 0).error != TrackError::none) _exit(3);
  }
}

TEST(ShmMultiProcess, WorkersShareOneRegionAndADeadOnesMetasAreRemoved) {
  SharedRegion region(8 * 1024 * 1024);
  auto tracker = region.open(config(), true);
  ASSERT_TRUE(tracker);
  const std::size_t baseline = tracker->usage().used_bytes;

  std::vector<pid_t> workers;
  for (int w = 0; w < kWorkers + 1; ++w) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Each process attaches its own handle, as an nginx worker would.
      auto mine = region.open(config(), false);
      if (!mine) _exit(1);
      work(*mine, static_cast<std::uint32_t>(w + 1), w == kWorkers);
      _exit(0);
    }
    workers.push_back(pid);
  }
  const pid_t victim = workers.back();
  workers.pop_back();
  for (const pid_t pid : workers) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "worker died";
    ASSERT_EQ(WEXITSTATUS(status), 0);
  }
  kill(victim, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(victim, &status, 0), victim);
  ASSERT_TRUE(WIFSIGNALED(status));

  std::string why;
  EXPECT_TRUE(tracker->check_invariants(&why)) << why;
  tracker->untrack_owner({static_cast<std::uint32_t>(victim), 0});
  EXPECT_EQ(tracker->usage().metas, static_cast<std::uint64_t>(kWorkers * kKeptPerWorker));
  const StatsSnapshot stats = tracker->stats(kTopic);
  EXPECT_EQ(stats.connections, static_cast<std::uint64_t>(kWorkers * kKeptPerWorker));
  EXPECT_EQ(stats.shoppers, 1u);
  EXPECT_TRUE(tracker->check_invariants(&why)) << why;
  EXPECT_EQ(tracker->owners().size(), static_cast<std::size_t>(kWorkers));
  for (const pid_t pid : workers) {
    EXPECT_EQ(tracker->untrack_owner({static_cast<std::uint32_t>(pid), 0}),
              static_cast<std::size_t>(kKeptPerWorker));
  }
  EXPECT_EQ(tracker->usage().metas, 0u);
  EXPECT_EQ(tracker->usage().used_bytes, baseline);
  EXPECT_TRUE(tracker->check_invariants(&why)) << why;
}

}  // namespace
}  // namespace presence
