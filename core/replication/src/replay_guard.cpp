// Replay protection per sender generation: a sliding window of the last
// kReplayWindow seqs below the newest seen, a bound on clock skew, and a
// bounded number of senders (the least recently heard is forgotten first).
#include <algorithm>

#include "presence/cluster_message.hpp"

namespace presence::cluster {

static_assert(kReplayWindow <= 64, "the window is one 64-bit mask");

ReplayVerdict ReplayGuard::check(const ReplicaName& sender, std::uint64_t seq, std::int64_t sent_ms,
                                 std::int64_t now_ms) {
  const std::int64_t skew = now_ms >= sent_ms ? now_ms - sent_ms : sent_ms - now_ms;
  if (skew > kMaxClockSkewMs || sent_ms < 0) return ReplayVerdict::stale;
  auto it = std::find_if(windows_.begin(), windows_.end(),
                         [&](const Window& w) { return w.sender == sender; });
  if (it == windows_.end()) {
    if (windows_.size() >= kMaxGuardedSenders) {
      it = std::min_element(windows_.begin(), windows_.end(), [](const Window& a, const Window& b) {
        return a.last_used_ms < b.last_used_ms;
      });
      *it = Window{sender, seq, 1, now_ms};
    } else {
      windows_.push_back(Window{sender, seq, 1, now_ms});
    }
    return ReplayVerdict::fresh;
  }
  Window& w = *it;
  if (seq > w.newest) {
    const std::uint64_t shift = seq - w.newest;
    w.seen = shift >= 64 ? 0 : w.seen << shift;
    w.seen |= 1;
    w.newest = seq;
    w.last_used_ms = now_ms;
    return ReplayVerdict::fresh;
  }
  const std::uint64_t age = w.newest - seq;
  // Too old to tell apart from a replay: refused like one.
  if (age >= kReplayWindow) return ReplayVerdict::replayed;
  const std::uint64_t bit = std::uint64_t{1} << age;
  if ((w.seen & bit) != 0) return ReplayVerdict::replayed;
  w.seen |= bit;
  w.last_used_ms = now_ms;
  return ReplayVerdict::fresh;
}

void ReplayGuard::forget(const ReplicaName& sender) {
  std::erase_if(windows_, [&](const Window& w) { return w.sender == sender; });
}

}  // namespace presence::cluster
