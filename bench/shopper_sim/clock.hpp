// One clock for every measurement: CLOCK_MONOTONIC is system-wide, so times taken in different
// simulator processes on the same machine compare directly.
#pragma once

#include <cstdint>
#include <ctime>

namespace presence::sim {

inline constexpr std::int64_t kNsPerMs = 1'000'000;
inline constexpr std::int64_t kNsPerSecond = 1'000'000'000;

inline std::int64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * kNsPerSecond + ts.tv_nsec;
}

inline std::int64_t seconds_to_ns(double seconds) noexcept {
  return static_cast<std::int64_t>(seconds * static_cast<double>(kNsPerSecond));
}

inline double ns_to_seconds(std::int64_t ns) noexcept {
  return static_cast<double>(ns) / static_cast<double>(kNsPerSecond);
}

}  // namespace presence::sim
