// The launch timeline's cost: one broadcast tick's sampling (the tick that
// takes the second's sample, and the others that find it taken) at 100,000
// and 1,000,000 presences; an admin's read of one new sample; the whole
// default backlog encoded for a joining admin; the zone bytes of the rings.
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>

#include "bench_zone.hpp"
#include "presence/channel_session.hpp"
#include "presence/history_feed.hpp"
#include "presence/tracker.hpp"

namespace {

using presence::CartItem;
using presence::CartMeta;
using presence::HistoryResolution;
using presence::Owner;
using presence::Tracker;
using presence::bench::typical_key;
using presence::bench::typical_meta;
using presence::bench::Zone;

constexpr std::int64_t kLaunchMs = 1764277200000;

// A zone holding `n` typical presences (a 20-byte page, two items, UUID keys).
Zone& zone_of(std::size_t n) {
  static Zone* small = nullptr;
  static Zone* large = nullptr;
  Zone*& z = n <= 100'000 ? small : large;
  if (z == nullptr) {
    z = new Zone(n <= 100'000 ? std::size_t{64} << 20 : std::size_t{256} << 20);
    for (std::size_t i = 0; i < n; ++i) {
      char key[48];
      std::snprintf(key, sizeof key, "8c1f2a4e-0b6d-4f7a-9e3c-%012zu", i);
      char page[32];
      std::snprintf(page, sizeof page, "/products/shoe-%05zu", i % 50);
      const CartMeta meta{
          page,
          {CartItem{"air-max-" + std::to_string(i % 20), std::to_string(8 + i % 5), 1},
           CartItem{"samba-" + std::to_string(i % 7), "10.5", 2}}};
      if (z->tracker->track(presence::kCartTrackerTopic, key, meta, Owner{1, i}, 1).error !=
          presence::TrackError::none) {
        std::abort();
      }
    }
  }
  return *z;
}

// The tick that takes a new second's sample: every iteration is a new second.
void BM_SampleTakingTheSecond(benchmark::State& state) {
  Zone& zone = zone_of(static_cast<std::size_t>(state.range(0)));
  std::int64_t now = std::max(kLaunchMs, zone.tracker->history_last_ms());
  for (auto _ : state) {
    now += 1000;
    benchmark::DoNotOptimize(zone.tracker->sample_history(presence::kCartTrackerTopic, now));
  }
  state.counters["presences"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_SampleTakingTheSecond)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kNanosecond);

// The other ticks of the second (other workers, the rest of the interval).
void BM_SampleAlreadyTaken(benchmark::State& state) {
  Zone& zone = zone_of(static_cast<std::size_t>(state.range(0)));
  const std::int64_t now = zone.tracker->history_last_ms() + 1000;
  zone.tracker->sample_history(presence::kCartTrackerTopic, now);
  for (auto _ : state) {
    benchmark::DoNotOptimize(zone.tracker->sample_history(presence::kCartTrackerTopic, now + 500));
  }
  state.counters["presences"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_SampleAlreadyTaken)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kNanosecond);

// An admin's tick after a new second: the read and the encoding of one push.
void BM_AdminReadsOneNewSample(benchmark::State& state) {
  Zone& zone = zone_of(100'000);
  std::int64_t now = zone.tracker->history_last_ms();
  presence::HistoryView view;
  while (!presence::next_history_payload(*zone.tracker, view, "store-a").empty()) {
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    now += 1000;
    zone.tracker->sample_history(presence::kCartTrackerTopic, now);
    state.ResumeTiming();
    bytes = presence::next_history_payload(*zone.tracker, view, "store-a").size();
    benchmark::DoNotOptimize(presence::next_history_payload(*zone.tracker, view, "store-a"));
  }
  state.counters["push_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_AdminReadsOneNewSample)->Unit(benchmark::kMicrosecond);

// A joining admin's whole backlog with the default windows full (1 h + 24 h).
void BM_BacklogOfAFullTimeline(benchmark::State& state) {
  Zone zone(16 << 20);
  for (std::int64_t s = 0; s < 24 * 3600; ++s) {
    zone.tracker->sample_history(presence::kCartTrackerTopic, kLaunchMs + s * 1000);
  }
  std::size_t pushes = 0;
  std::size_t bytes = 0;
  for (auto _ : state) {
    presence::HistoryView view;
    pushes = bytes = 0;
    for (std::string p;
         !(p = presence::next_history_payload(*zone.tracker, view, "store-a")).empty();) {
      ++pushes;
      bytes += p.size();
    }
  }
  state.counters["pushes"] = static_cast<double>(pushes);
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["ring_bytes"] = static_cast<double>(
      presence::History::ring_bytes(zone.tracker->history_capacity(HistoryResolution::second),
                                    zone.tracker->history_capacity(HistoryResolution::minute)));
}
BENCHMARK(BM_BacklogOfAFullTimeline)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
