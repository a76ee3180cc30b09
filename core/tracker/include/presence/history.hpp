// The launch timeline: the tracker's aggregates sampled once a second into a
// fixed ring in the shared region (the last hour by default), rolled up into
// a ring of minutes (the last day), with the peak of shoppers and its time.
// Fixed size, no allocation per sample; the ring's bookkeeping is written
// twice and switched by one index, so a writer killed mid-sample leaves the
// previous sample set intact.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "presence/shm_region.hpp"

namespace presence {

// Counters that only grow, kept by the tracker for this node's own shoppers.
struct ActivityTotals {
  std::uint64_t joins = 0;         // presences tracked
  std::uint64_t leaves = 0;        // presences untracked (left, closed, worker died)
  std::uint64_t updates = 0;       // presences updated
  std::uint64_t cart_added = 0;    // shoes put into carts (joins, net per update)
  std::uint64_t cart_removed = 0;  // shoes taken out of carts (net per update, leaves)
  bool operator==(const ActivityTotals&) const = default;
};
static_assert(std::is_trivially_copyable_v<ActivityTotals>);

enum class HistoryResolution : std::uint8_t { second = 0, minute = 1 };

// One second (or one minute) of one node. Gauges are read at the sample (a
// minute keeps its last second's and its largest), counts cover the period.
struct HistorySample {
  std::int64_t at_ms = 0;  // start of the second or minute, Unix ms
  std::uint64_t shoppers = 0;
  std::uint64_t shoppers_max = 0;
  std::uint64_t connections = 0;
  std::uint64_t joins = 0;
  std::uint64_t leaves = 0;
  std::uint64_t updates = 0;
  std::uint64_t cart_added = 0;
  std::uint64_t cart_removed = 0;
  std::uint16_t node = 0;  // replica slot of the node whose shoppers these are
  std::uint16_t reserved[3] = {};
  bool operator==(const HistorySample&) const = default;
};
static_assert(std::is_trivially_copyable_v<HistorySample> && sizeof(HistorySample) == 80);

struct HistoryPeak {
  std::uint64_t shoppers = 0;
  std::int64_t at_ms = 0;  // the second the peak was first reached; 0: none yet
  bool operator==(const HistoryPeak&) const = default;
};

// Bounds of the two rings, in samples (presence_history's windows).
inline constexpr std::size_t kMinHistorySeconds = 60;
inline constexpr std::size_t kMaxHistorySeconds = 6 * 3600;
inline constexpr std::size_t kDefaultHistorySeconds = 3600;
inline constexpr std::size_t kMinHistoryMinutes = 60;
inline constexpr std::size_t kMaxHistoryMinutes = 7 * 24 * 60;
inline constexpr std::size_t kDefaultHistoryMinutes = 24 * 60;

namespace shm {

// One copy of the rings' bookkeeping.
struct HistoryCursor {
  std::uint64_t seconds_written;  // samples appended ever; sample n is at slot n % slots
  std::uint64_t minutes_written;
  std::int64_t last_second;  // Unix second of the newest sample; 0: none
  ActivityTotals totals_at_last;
  HistorySample minute;  // the minute being rolled up; at_ms 0: none
  HistoryPeak peak;
};
static_assert(std::is_trivially_copyable_v<HistoryCursor>);

struct HistoryState {
  Offset seconds;  // HistorySample[second_slots]
  std::uint32_t second_slots;
  Offset minutes;  // HistorySample[minute_slots]
  std::uint32_t minute_slots;
  std::uint32_t current;  // atomic: which cursor is committed
  std::uint32_t reserved;
  std::int64_t last_second;  // atomic mirror of the committed cursor's, read without the lock
  std::array<HistoryCursor, 2> cursor;
};
static_assert(std::is_trivially_copyable_v<HistoryState>);

}  // namespace shm

class History {
 public:
  History(std::byte* base, shm::HistoryState& state) noexcept : base_(base), st_(state) {}

  // Bytes the two rings take in the region.
  static std::size_t ring_bytes(std::size_t seconds, std::size_t minutes) noexcept {
    return (seconds + minutes) * sizeof(HistorySample);
  }
  static void format(shm::HistoryState& state, shm::Offset seconds_at, std::uint32_t seconds,
                     shm::Offset minutes_at, std::uint32_t minutes) noexcept;

  // Lock-free: whether the second of now_ms is already sampled (by any process).
  bool sampled(std::int64_t now_ms) const noexcept;
  // Lock-free: the start of the newest second sampled (Unix ms), 0 before the first.
  std::int64_t last_ms() const noexcept;
  // With the caller's lock held: appends the sample of now_ms's second unless
  // there is one (or a later one); rolls a finished minute up. O(1).
  bool record(std::int64_t now_ms, std::uint64_t shoppers, std::uint64_t connections,
              const ActivityTotals& totals, std::uint16_t node) noexcept;

  // With the lock held: samples numbered from `from` on (the oldest held when
  // `from` was overwritten), at most `max`, appended to `out`; returns the
  // number to ask from next time.
  std::uint64_t read(HistoryResolution res, std::uint64_t from, std::size_t max,
                     std::vector<HistorySample>& out) const;
  std::uint64_t written(HistoryResolution res) const noexcept;
  std::size_t capacity(HistoryResolution res) const noexcept;
  HistoryPeak peak() const noexcept;

 private:
  const shm::HistoryCursor& committed() const noexcept;
  HistorySample* slots(HistoryResolution res) const noexcept;

  std::byte* base_;
  shm::HistoryState& st_;
};

}  // namespace presence
