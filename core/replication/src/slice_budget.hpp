// The time budget of one slice of sliced work under the zone lock (merge,
// full-state extraction): the clock is read every few dozen records only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace presence {

// Records between two reads of the clock.
inline constexpr std::size_t kClockEvery = 32;

class SliceBudget {
 public:
  explicit SliceBudget(std::int64_t ns) : deadline_(Clock::now() + std::chrono::nanoseconds(ns)) {}
  // True when the slice must end; reads the clock every kClockEvery steps.
  bool spent() {
    if (++steps_ % kClockEvery != 0) return false;
    return Clock::now() >= deadline_;
  }

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point deadline_;
  std::size_t steps_ = 0;
};

}  // namespace presence
