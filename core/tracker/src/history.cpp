#include "presence/history.hpp"

#include <algorithm>
#include <atomic>

#include "tracker_lock.hpp"

namespace presence {

namespace {

constexpr std::int64_t kMsPerSecond = 1000;
constexpr std::int64_t kSecondsPerMinute = 60;

std::int64_t second_of(std::int64_t ms) noexcept {
  return ms >= 0 ? ms / kMsPerSecond : (ms - kMsPerSecond + 1) / kMsPerSecond;
}

std::uint64_t since(std::uint64_t now, std::uint64_t then) noexcept {
  // A counter never goes back; a region repaired from an older state might.
  return now >= then ? now - then : 0;
}

void add_counts(HistorySample& into, const HistorySample& s) noexcept {
  into.joins += s.joins;
  into.leaves += s.leaves;
  into.updates += s.updates;
  into.cart_added += s.cart_added;
  into.cart_removed += s.cart_removed;
}

}  // namespace

void History::format(shm::HistoryState& state, shm::Offset seconds_at, std::uint32_t seconds,
                     shm::Offset minutes_at, std::uint32_t minutes) noexcept {
  state = shm::HistoryState{};
  state.seconds = seconds_at;
  state.second_slots = seconds;
  state.minutes = minutes_at;
  state.minute_slots = minutes;
}

const shm::HistoryCursor& History::committed() const noexcept {
  const std::uint32_t i =
      std::atomic_ref<std::uint32_t>(st_.current).load(std::memory_order_acquire);
  return st_.cursor[i & 1u];
}

HistorySample* History::slots(HistoryResolution res) const noexcept {
  return reinterpret_cast<HistorySample*>(
      base_ + (res == HistoryResolution::second ? st_.seconds : st_.minutes));
}

std::size_t History::capacity(HistoryResolution res) const noexcept {
  return res == HistoryResolution::second ? st_.second_slots : st_.minute_slots;
}

std::uint64_t History::written(HistoryResolution res) const noexcept {
  const auto& c = committed();
  return res == HistoryResolution::second ? c.seconds_written : c.minutes_written;
}

HistoryPeak History::peak() const noexcept {
  return committed().peak;
}

bool History::sampled(std::int64_t now_ms) const noexcept {
  const std::int64_t last =
      std::atomic_ref<std::int64_t>(st_.last_second).load(std::memory_order_acquire);
  return last != 0 && second_of(now_ms) <= last;
}

std::int64_t History::last_ms() const noexcept {
  return std::atomic_ref<std::int64_t>(st_.last_second).load(std::memory_order_acquire) *
         kMsPerSecond;
}

bool History::record(std::int64_t now_ms, std::uint64_t shoppers, std::uint64_t connections,
                     const ActivityTotals& totals, std::uint16_t node) noexcept {
  const std::uint32_t cur = st_.current & 1u;
  const shm::HistoryCursor& was = st_.cursor[cur];
  const std::int64_t second = second_of(now_ms);
  if (second <= 0 || (was.last_second != 0 && second <= was.last_second)) return false;

  shm::HistoryCursor next = was;
  HistorySample s{};
  s.at_ms = second * kMsPerSecond;
  s.shoppers = shoppers;
  s.shoppers_max = shoppers;
  s.connections = connections;
  s.joins = since(totals.joins, was.totals_at_last.joins);
  s.leaves = since(totals.leaves, was.totals_at_last.leaves);
  s.updates = since(totals.updates, was.totals_at_last.updates);
  s.cart_added = since(totals.cart_added, was.totals_at_last.cart_added);
  s.cart_removed = since(totals.cart_removed, was.totals_at_last.cart_removed);
  s.node = node;

  // Slots past the committed count are free to write: a crash before the
  // cursor switch leaves them unread.
  slots(HistoryResolution::second)[next.seconds_written % st_.second_slots] = s;
  ++next.seconds_written;

  const std::int64_t minute_ms = second / kSecondsPerMinute * kSecondsPerMinute * kMsPerSecond;
  if (next.minute.at_ms != 0 && next.minute.at_ms != minute_ms) {
    slots(HistoryResolution::minute)[next.minutes_written % st_.minute_slots] = next.minute;
    ++next.minutes_written;
    next.minute = HistorySample{};
  }
  if (next.minute.at_ms == 0) {
    next.minute = s;
    next.minute.at_ms = minute_ms;
  } else {
    next.minute.shoppers = s.shoppers;
    next.minute.shoppers_max = std::max(next.minute.shoppers_max, s.shoppers);
    next.minute.connections = s.connections;
    add_counts(next.minute, s);
  }
  if (shoppers > next.peak.shoppers) next.peak = HistoryPeak{shoppers, s.at_ms};
  next.last_second = second;
  next.totals_at_last = totals;

  shm::crash_point(shm::CrashPoint::history_sample_written);
  st_.cursor[cur ^ 1u] = next;
  std::atomic_ref<std::uint32_t>(st_.current).store(cur ^ 1u, std::memory_order_release);
  std::atomic_ref<std::int64_t>(st_.last_second).store(second, std::memory_order_release);
  return true;
}

std::uint64_t History::read(HistoryResolution res, std::uint64_t from, std::size_t max,
                            std::vector<HistorySample>& out) const {
  const std::uint64_t written_now = written(res);
  const std::size_t cap = capacity(res);
  const std::uint64_t oldest = written_now > cap ? written_now - cap : 0;
  const std::uint64_t begin = std::min(std::max(from, oldest), written_now);
  const std::uint64_t end = std::min<std::uint64_t>(written_now, begin + max);
  const HistorySample* ring = slots(res);
  for (std::uint64_t n = begin; n < end; ++n) out.push_back(ring[n % cap]);
  return end;
}

}  // namespace presence
