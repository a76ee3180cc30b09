// One origin's part of a causal context: a version-vector clock (every clock up
// to it is seen) plus a bounded cloud of seen ranges beyond it, sorted, disjoint
// and not adjacent to each other or to the clock.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "tracker_layout.hpp"

namespace presence::shm {

struct OriginContext {
  std::uint64_t clock = 0;
  std::uint16_t cloud_len = 0;
  std::array<CloudRangeRecord, kMaxCloudRanges> cloud{};

  static OriginContext of(const ReplicaSlot& slot) noexcept {
    OriginContext c;
    c.clock = slot.clock;
    c.cloud_len = slot.cloud_len;
    c.cloud = slot.cloud;
    return c;
  }
  void store(ReplicaSlot& slot) const noexcept {
    slot.clock = clock;
    slot.cloud_len = cloud_len;
    slot.cloud = cloud;
  }

  bool contains(std::uint64_t c) const noexcept {
    if (c <= clock) return true;
    for (std::size_t i = 0; i < cloud_len; ++i) {
      if (c >= cloud[i].first && c <= cloud[i].last) return true;
    }
    return false;
  }

  // Adds [first, last]; false (and unchanged) when the cloud would overflow.
  bool add(std::uint64_t first, std::uint64_t last) noexcept {
    if (last < first || last <= clock) return true;
    first = std::max(first, clock + 1);
    std::array<CloudRangeRecord, kMaxCloudRanges + 1> merged{};
    std::size_t n = 0;
    bool placed = false;
    auto push = [&](CloudRangeRecord r) {
      if (n > 0 && r.first <= merged[n - 1].last + 1) {
        merged[n - 1].last = std::max(merged[n - 1].last, r.last);
      } else {
        merged[n++] = r;
      }
    };
    for (std::size_t i = 0; i < cloud_len; ++i) {
      if (!placed && first < cloud[i].first) {
        push({first, last});
        placed = true;
      }
      push(cloud[i]);
    }
    if (!placed) push({first, last});
    std::uint64_t new_clock = clock;
    std::size_t skip = 0;
    while (skip < n && merged[skip].first <= new_clock + 1) {
      new_clock = std::max(new_clock, merged[skip].last);
      ++skip;
    }
    if (n - skip > kMaxCloudRanges) return false;
    clock = new_clock;
    cloud_len = static_cast<std::uint16_t>(n - skip);
    std::copy(merged.begin() + static_cast<std::ptrdiff_t>(skip),
              merged.begin() + static_cast<std::ptrdiff_t>(n), cloud.begin());
    return true;
  }
};

}  // namespace presence::shm
