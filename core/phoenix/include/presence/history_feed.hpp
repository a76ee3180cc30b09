// An admin's view of the timeline on `admin:history`: the retained samples
// (minutes, then seconds, oldest first) in bounded chunks, then the new ones
// as they are sampled. Each call yields the text of at most one push.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "presence/history.hpp"

namespace presence {

class Tracker;

inline constexpr std::string_view kAdminHistoryTopic = "admin:history";
// Samples in one `history` push: ~75 bytes each, so a push stays under 10 KB.
inline constexpr std::size_t kHistorySamplesPerPush = 120;

// Where one admin is in the timeline (process-local; starts at the backlog).
struct HistoryView {
  bool backlog_sent = false;
  std::uint64_t next_minute = 0;
  std::uint64_t next_second = 0;
  std::int64_t seen_ms = 0;  // the newest second sampled when last read
};

// {"node", "resolution", "interval_ms", "peak": {"shoppers", "at"}, "more",
//  "samples": [[at, shoppers, shoppers_max, connections, joins, leaves,
//  updates, cart_added, cart_removed], ...]}
void append_history_payload(std::string& out, std::string_view node, HistoryResolution res,
                            const std::vector<HistorySample>& samples, const HistoryPeak& peak,
                            bool more);

// The payload of the next `history` push for `view`, advancing it; empty when
// there is nothing new. Takes the tracker's lock only when a sample is new.
std::string next_history_payload(Tracker& tracker, HistoryView& view, std::string_view node,
                                 std::size_t max_samples = kHistorySamplesPerPush);

}  // namespace presence
