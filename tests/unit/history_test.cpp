// The timeline's rings: one sample a second, wrap-around, the per-minute
// roll-up, the peak, the activity totals the tracker keeps for them, and
// survival across a re-open (reload) and a writer killed mid-sample; then a
// property against a plain model.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <vector>

#include "presence/channel_session.hpp"
#include "presence/crash_hook.hpp"
#include "presence/history.hpp"
#include "presence/history_feed.hpp"
#include "presence/tracker.hpp"
#include "tracker_test_support.hpp"

namespace presence {
namespace {

using test::cart;
using test::config;
using test::SharedRegion;

constexpr std::int64_t kSecond = 1000;
constexpr std::int64_t kLaunchMs = 1764277200000;  // a whole minute
constexpr std::size_t kRegionBytes = 4 * 1024 * 1024;

// A History over process memory: the rings after one another from offset 0.
struct Rings {
  Rings(std::uint32_t seconds, std::uint32_t minutes) : ring(seconds + minutes) {
    History::format(state, 0, seconds, static_cast<shm::Offset>(seconds * sizeof(HistorySample)),
                    minutes);
  }
  History history() { return History(reinterpret_cast<std::byte*>(ring.data()), state); }
  std::vector<HistorySample> read(HistoryResolution res, std::uint64_t from = 0) {
    std::vector<HistorySample> out;
    history().read(res, from, 1u << 20, out);
    return out;
  }
  shm::HistoryState state{};
  std::vector<HistorySample> ring;
};

ActivityTotals joins(std::uint64_t n) {
  ActivityTotals t;
  t.joins = n;
  return t;
}

TEST(History, OneSampleASecondWhoeverAsks) {
  Rings r(60, 60);
  auto h = r.history();
  EXPECT_FALSE(h.sampled(kLaunchMs));
  EXPECT_TRUE(h.record(kLaunchMs + 10, 5, 6, joins(5), 0));
  EXPECT_TRUE(h.sampled(kLaunchMs + 999));
  EXPECT_FALSE(h.record(kLaunchMs + 999, 7, 7, joins(7), 0));  // same second
  EXPECT_FALSE(h.record(kLaunchMs - 1, 7, 7, joins(7), 0));    // clock went back
  EXPECT_FALSE(h.sampled(kLaunchMs + kSecond));
  EXPECT_TRUE(h.record(kLaunchMs + kSecond, 7, 9, joins(7), 0));
  const auto s = r.read(HistoryResolution::second);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].at_ms, kLaunchMs);  // the start of its second
  EXPECT_EQ(s[0].shoppers, 5u);
  EXPECT_EQ(s[0].connections, 6u);
  EXPECT_EQ(s[1].joins, 2u);  // counts are per period: totals 5 then 7
  EXPECT_EQ(h.last_ms(), kLaunchMs + kSecond);
}

TEST(History, TheSecondRingWrapsAroundKeepingTheNewest) {
  Rings r(60, 60);
  auto h = r.history();
  for (int i = 0; i < 150; ++i) ASSERT_TRUE(h.record(kLaunchMs + i * kSecond, i, i, joins(i), 0));
  const auto s = r.read(HistoryResolution::second);
  ASSERT_EQ(s.size(), 60u);  // one past the capacity and beyond: only the last 60
  for (std::size_t i = 0; i < s.size(); ++i) EXPECT_EQ(s[i].shoppers, 90 + i);
  EXPECT_EQ(h.written(HistoryResolution::second), 150u);
  // A reader that fell behind resumes at the oldest held; one up to date gets nothing.
  std::vector<HistorySample> out;
  EXPECT_EQ(h.read(HistoryResolution::second, 3, 10, out), 100u);
  EXPECT_EQ(out.front().shoppers, 90u);
  out.clear();
  EXPECT_EQ(h.read(HistoryResolution::second, 150, 10, out), 150u);
  EXPECT_TRUE(out.empty());
}

TEST(History, MinutesRollUpWhenTheNextMinuteStarts) {
  Rings r(60, 60);
  auto h = r.history();
  ActivityTotals t;
  for (int i = 0; i < 120; ++i) {
    t.joins += 2;
    t.leaves += 1;
    t.cart_added += 3;
    const std::uint64_t shoppers = i < 60 ? 10 + i : 200 - i;
    ASSERT_TRUE(h.record(kLaunchMs + i * kSecond, shoppers, shoppers + 1, t, 0));
  }
  EXPECT_EQ(r.read(HistoryResolution::minute).size(), 1u);  // the second minute is still open
  ASSERT_TRUE(h.record(kLaunchMs + 120 * kSecond, 1, 1, t, 0));
  const auto m = r.read(HistoryResolution::minute);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].at_ms, kLaunchMs);
  EXPECT_EQ(m[0].joins, 120u);  // the first sample counts everything since format
  EXPECT_EQ(m[0].leaves, 60u);
  EXPECT_EQ(m[0].cart_added, 180u);
  EXPECT_EQ(m[0].shoppers, 69u);  // its last second
  EXPECT_EQ(m[0].shoppers_max, 69u);
  EXPECT_EQ(m[1].at_ms, kLaunchMs + 60 * kSecond);
  EXPECT_EQ(m[1].shoppers, 81u);
  EXPECT_EQ(m[1].shoppers_max, 140u);
  EXPECT_EQ(m[1].connections, 82u);
}

TEST(History, PeakIsTheFirstSecondOfTheMostShoppers) {
  Rings r(60, 60);
  auto h = r.history();
  const std::uint64_t shape[] = {1, 5, 9, 9, 4, 2};
  for (std::size_t i = 0; i < std::size(shape); ++i) {
    h.record(kLaunchMs + static_cast<std::int64_t>(i) * kSecond, shape[i], shape[i], {}, 0);
  }
  EXPECT_EQ(h.peak(), (HistoryPeak{9, kLaunchMs + 2 * kSecond}));
}

class TrackerHistory : public ::testing::Test {
 protected:
  TrackerHistory() : region_(kRegionBytes), tracker_(*region_.open(config(), true)) {}
  std::vector<HistorySample> seconds() {
    std::vector<HistorySample> out;
    tracker_.history(HistoryResolution::second, 0, 1u << 20, out, nullptr);
    return out;
  }
  SharedRegion region_;
  Tracker tracker_;
};

TEST_F(TrackerHistory, KeepsActivityTotalsNettedPerProductAndSize) {
  const auto a =
      tracker_.track(kCartTrackerTopic, "alice", cart("/", {{"samba", "9", 2}}), Owner{1, 1}, 0);
  auto b = tracker_.track(kCartTrackerTopic, "bob", cart("/"), Owner{1, 2}, 0);
  b = tracker_.update(b.handle, cart("/", {{"samba", "9", 1}, {"gazelle", "10", 1}}), 0);
  b = tracker_.update(b.handle, cart("/", {{"samba", "9", 3}}), 0);  // +2 samba, -1 gazelle
  tracker_.untrack(a.handle);                                        // -2 samba
  const ActivityTotals t = tracker_.activity();
  EXPECT_EQ(t.joins, 2u);
  EXPECT_EQ(t.updates, 2u);
  EXPECT_EQ(t.leaves, 1u);
  EXPECT_EQ(t.cart_added, 2u + 2u + 2u);
  EXPECT_EQ(t.cart_removed, 1u + 2u);
}

TEST_F(TrackerHistory, SamplesTheTopicAndSurvivesAReopen) {
  tracker_.track(kCartTrackerTopic, "alice", cart("/"), Owner{1, 1}, 0);
  tracker_.track(kCartTrackerTopic, "alice", cart("/p"), Owner{1, 2}, 0);
  EXPECT_TRUE(tracker_.sample_history(kCartTrackerTopic, kLaunchMs));
  EXPECT_FALSE(tracker_.sample_history(kCartTrackerTopic, kLaunchMs + 500));
  // A reload: the next configuration attaches to the same region.
  auto again = region_.open(config(), false);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->sample_history(kCartTrackerTopic, kLaunchMs + kSecond));
  const auto s = seconds();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].shoppers, 1u);
  EXPECT_EQ(s[0].connections, 2u);
  EXPECT_EQ(s[0].joins, 2u);
  EXPECT_EQ(s[1].joins, 0u);
  HistoryPeak peak;
  std::vector<HistorySample> out;
  again->history(HistoryResolution::second, 0, 1, out, &peak);
  EXPECT_EQ(peak, (HistoryPeak{1, kLaunchMs}));
}

TEST_F(TrackerHistory, RejectsWindowsOutsideTheirBounds) {
  std::string error;
  for (auto [seconds, minutes] : {std::pair{kMinHistorySeconds - 1, kDefaultHistoryMinutes},
                                  std::pair{kMaxHistorySeconds + 1, kDefaultHistoryMinutes},
                                  std::pair{kDefaultHistorySeconds, kMinHistoryMinutes - 1},
                                  std::pair{kDefaultHistorySeconds, kMaxHistoryMinutes + 1}}) {
    TrackerConfig cfg = config();
    cfg.history_seconds = seconds;
    cfg.history_minutes = minutes;
    SharedRegion region(kRegionBytes);
    EXPECT_FALSE(region.open(cfg, true, &error));
    EXPECT_NE(error.find("history"), std::string::npos) << error;
  }
  TrackerConfig edge = config();
  edge.history_seconds = kMaxHistorySeconds;
  edge.history_minutes = kMaxHistoryMinutes;
  SharedRegion region(kRegionBytes);
  EXPECT_TRUE(region.open(edge, true, &error)) << error;
}

int g_crash_at = -1;
void die_at(int point) noexcept {
  if (point == g_crash_at) raise(SIGKILL);
}

TEST_F(TrackerHistory, AWriterKilledMidSampleLeavesThePreviousSamples) {
  tracker_.track(kCartTrackerTopic, "alice", cart("/"), Owner{1, 1}, 0);
  ASSERT_TRUE(tracker_.sample_history(kCartTrackerTopic, kLaunchMs));
  tracker_.track(kCartTrackerTopic, "bob", cart("/"), Owner{1, 2}, 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    g_crash_at = 3;  // history sample written, not committed
    testing::set_crash_hook(&die_at);
    tracker_.sample_history(kCartTrackerTopic, kLaunchMs + kSecond);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "crash point not hit";

  auto s = seconds();  // the next locker repairs the region
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].shoppers, 1u);
  EXPECT_EQ(tracker_.history_last_ms(), kLaunchMs);
  std::string why;
  EXPECT_TRUE(tracker_.check_invariants(&why)) << why;
  // The killed second is sampled again, with what happened in it.
  ASSERT_TRUE(tracker_.sample_history(kCartTrackerTopic, kLaunchMs + kSecond));
  s = seconds();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].shoppers, 2u);
  EXPECT_EQ(s[1].joins, 1u);
}

TEST_F(TrackerHistory, AnAdminGetsTheBacklogInBoundedChunksThenEachNewSample) {
  for (int i = 0; i < 130; ++i) {
    tracker_.sample_history(kCartTrackerTopic, kLaunchMs + i * kSecond);
  }
  HistoryView view;
  std::vector<std::string> pushes;
  for (std::string p; !(p = next_history_payload(tracker_, view, "store-a", 50)).empty();) {
    pushes.push_back(p);
  }
  // 2 minutes in one chunk, 130 seconds in 50 + 50 + 30, then the end of the backlog.
  ASSERT_EQ(pushes.size(), 5u);
  EXPECT_NE(pushes[0].find("\"resolution\":\"minute\""), std::string::npos);
  EXPECT_NE(pushes[0].find("\"more\":true"), std::string::npos);
  EXPECT_NE(pushes[3].find("\"more\":true"), std::string::npos);
  EXPECT_NE(pushes[4].find("\"more\":false,\"samples\":[]"), std::string::npos);
  EXPECT_NE(pushes[1].find("\"node\":\"store-a\""), std::string::npos);
  EXPECT_TRUE(next_history_payload(tracker_, view, "store-a", 50).empty());

  tracker_.sample_history(kCartTrackerTopic, kLaunchMs + 130 * kSecond);
  const std::string live = next_history_payload(tracker_, view, "store-a", 50);
  EXPECT_NE(live.find("\"more\":false,\"samples\":[[" + std::to_string(kLaunchMs + 130 * kSecond)),
            std::string::npos)
      << live;
  EXPECT_TRUE(next_history_payload(tracker_, view, "store-a", 50).empty());
}

TEST_F(TrackerHistory, APushHoldsAtMostItsBoundOfSamples) {
  // One past the bound of a push: 121 seconds go out as 120 and 1.
  for (std::int64_t i = 0; i < std::int64_t{kHistorySamplesPerPush} + 1; ++i) {
    tracker_.sample_history(kCartTrackerTopic, kLaunchMs + i * kSecond);
  }
  HistoryView view;
  std::vector<std::size_t> seconds;
  for (std::string p; !(p = next_history_payload(tracker_, view, "store-a")).empty();) {
    const auto doc = nlohmann::json::parse(p);
    if (doc["resolution"] == "second") seconds.push_back(doc["samples"].size());
  }
  EXPECT_EQ(seconds, (std::vector<std::size_t>{kHistorySamplesPerPush, 1, 0}));
}

// The model: every sample ever, and the minutes closed so far.
struct Model {
  std::vector<HistorySample> seconds, minutes;
  HistorySample open{};
  HistoryPeak peak;
};

RC_GTEST_PROP(HistoryProperty, RingsHoldTheNewestOfWhatAModelRecorded, ()) {
  const auto steps = *rc::gen::container<std::vector<std::pair<int, int>>>(
      rc::gen::pair(rc::gen::inRange(0, 150), rc::gen::inRange(0, 1000)));
  Rings r(60, 60);
  auto h = r.history();
  Model model;
  std::int64_t now = kLaunchMs;
  ActivityTotals totals;
  std::uint64_t last_joins = 0;
  bool any = false;
  for (const auto& [advance_s, shoppers] : steps) {
    now += advance_s * kSecond / 2;  // half-second steps: some land in a sampled second
    totals.joins += static_cast<std::uint64_t>(shoppers % 7);
    const bool fresh = !any || now / kSecond > model.seconds.back().at_ms / kSecond;
    RC_ASSERT(h.record(now, shoppers, shoppers, totals, 0) == fresh);
    if (!fresh) continue;
    any = true;
    HistorySample s{};
    s.at_ms = now / kSecond * kSecond;
    s.shoppers = s.shoppers_max = s.connections = static_cast<std::uint64_t>(shoppers);
    s.joins = totals.joins - last_joins;
    last_joins = totals.joins;
    model.seconds.push_back(s);
    const std::int64_t minute = s.at_ms / 60000 * 60000;
    if (model.open.at_ms != 0 && model.open.at_ms != minute) {
      model.minutes.push_back(model.open);
      model.open = {};
    }
    if (model.open.at_ms == 0) {
      model.open = s;
      model.open.at_ms = minute;
    } else {
      model.open.shoppers = model.open.connections = s.shoppers;
      model.open.shoppers_max = std::max(model.open.shoppers_max, s.shoppers);
      model.open.joins += s.joins;
    }
    if (s.shoppers > model.peak.shoppers) model.peak = {s.shoppers, s.at_ms};
  }
  auto tail = [](const std::vector<HistorySample>& all, std::size_t n) {
    return std::vector<HistorySample>(
        all.end() - static_cast<std::ptrdiff_t>(std::min(n, all.size())), all.end());
  };
  RC_ASSERT(r.read(HistoryResolution::second) == tail(model.seconds, 60));
  RC_ASSERT(r.read(HistoryResolution::minute) == tail(model.minutes, 60));
  RC_ASSERT(h.peak() == model.peak);
}

}  // namespace
}  // namespace presence
