#include "rate_driver.hpp"

#include <algorithm>
#include <cmath>

#include "clock.hpp"

namespace presence::sim {

std::uint64_t RateDriver::take(std::int64_t now_ns, double per_second) noexcept {
  if (last_ns_ < 0 || per_second <= 0.0) {
    last_ns_ = now_ns;
    credit_ = 0.0;
    return 0;
  }
  const double elapsed = ns_to_seconds(now_ns - last_ns_);
  last_ns_ = now_ns;
  credit_ = std::min(credit_ + per_second * elapsed, std::max(1.0, per_second * max_burst_s_));
  const double whole = std::floor(credit_);
  credit_ -= whole;
  return static_cast<std::uint64_t>(whole);
}

}  // namespace presence::sim
