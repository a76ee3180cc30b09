// Turns a target rate (events per second, which may change from tick to tick) into whole events
// per tick, carrying the fraction over; credit is capped so a stall never becomes a burst.
#pragma once

#include <cstdint>

namespace presence::sim {

class RateDriver {
 public:
  // max_burst_s: at most this many seconds' worth of events are owed after a stall.
  explicit RateDriver(double max_burst_s) noexcept : max_burst_s_(max_burst_s) {}

  // Events due at now_ns for the rate that held since the previous call.
  std::uint64_t take(std::int64_t now_ns, double per_second) noexcept;

 private:
  double max_burst_s_;
  std::int64_t last_ns_ = -1;
  double credit_ = 0.0;
};

}  // namespace presence::sim
