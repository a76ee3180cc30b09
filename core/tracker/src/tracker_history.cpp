// The tracker's side of the timeline: sampling its aggregates into the
// history rings of the region, and reading them back, under its lock.
#include "presence/tracker.hpp"

#include <algorithm>

#include "presence_store.hpp"
#include "tracker_lock.hpp"

namespace presence {

using shm::Offset;
using shm::PresenceStore;

bool Tracker::sample_history(std::string_view topic, std::int64_t now_ms) {
  if (History(base_, header().history).sampled(now_ms)) return false;
  shm::Locked locked(base_, lock_);
  PresenceStore s(base_);
  auto& h = s.header();
  std::uint64_t shoppers = 0;
  std::uint64_t connections = 0;
  if (const Offset t = s.find_topic(topic); t != 0) {
    shoppers = s.at<shm::TopicRecord>(t).shoppers;
    connections = s.at<shm::TopicRecord>(t).connections;
  }
  return History(base_, h.history)
      .record(now_ms, shoppers, connections, h.activity, shm::kLocalReplica);
}

std::uint64_t Tracker::history(HistoryResolution res, std::uint64_t from, std::size_t max,
                               std::vector<HistorySample>& out, HistoryPeak* peak) {
  out.clear();
  out.reserve(std::min(max, History(base_, header().history).capacity(res)));
  shm::Locked locked(base_, lock_);
  const History history(base_, header().history);
  if (peak != nullptr) *peak = history.peak();
  return history.read(res, from, max, out);
}

std::int64_t Tracker::history_last_ms() const noexcept {
  return History(base_, header().history).last_ms();
}

std::size_t Tracker::history_capacity(HistoryResolution res) const noexcept {
  return History(base_, header().history).capacity(res);
}

ActivityTotals Tracker::activity() {
  shm::Locked locked(base_, lock_);
  return header().activity;
}

}  // namespace presence
