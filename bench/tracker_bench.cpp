// Microbenchmarks of the shared-memory presence tracker: track and
// untrack, alone and with two processes contending; shared bytes per presence
// and the zone for 1,000,000; merging a one-entry delta into 100k remote
// entries; stats, listing and get_by_key on a 100k topic; what an admin's
// resync and one broadcast tick's presence_diff cost.
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include "bench_zone.hpp"
#include "presence/presence_json.hpp"
#include "presence/replication.hpp"
#include "presence/tracker.hpp"

namespace {

using presence::CartItem;
using presence::CartMeta;
using presence::Owner;
using presence::Tracker;
using presence::bench::typical_key;
using presence::bench::typical_meta;
using presence::bench::Zone;

constexpr std::string_view kTopic = "admin:cart_tracker";
constexpr std::size_t kPresences = 100'000;
constexpr std::size_t kChangeLogBytes = 4 * 1024 * 1024;

void fill(Tracker& t, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (t.track(kTopic, typical_key(i), typical_meta(i), Owner{1, i}, 1000).error !=
        presence::TrackError::none) {
      std::abort();
    }
  }
}

void BM_TrackUntrack(benchmark::State& state) {
  Zone zone(64 << 20);
  fill(*zone.tracker, 1000);
  const CartMeta meta = typical_meta(3);
  const std::string key = typical_key(5000);
  for (auto _ : state) {
    const auto r = zone.tracker->track(kTopic, key, meta, Owner{1, 1}, 1);
    zone.tracker->untrack(r.handle);
  }
  state.SetItemsProcessed(2 * state.iterations());
}
BENCHMARK(BM_TrackUntrack);

// Two processes, each doing the same number of track+untrack pairs on one zone.
void BM_TrackUntrackTwoProcesses(benchmark::State& state) {
  Zone zone(64 << 20);
  const CartMeta meta = typical_meta(3);
  for (auto _ : state) {
    const auto pairs = static_cast<std::size_t>(state.range(0));
    zone.flag().store(0);
    const pid_t child = fork();
    if (child == 0) {
      zone.flag().fetch_add(1);
      while (zone.flag().load() < 2) {
      }
      for (std::size_t i = 0; i < pairs; ++i) {
        zone.tracker->untrack(
            zone.tracker->track(kTopic, typical_key(i % 64), meta, Owner{2, i}, 1).handle);
      }
      _exit(0);
    }
    while (zone.flag().load() < 1) {
    }
    const auto start = std::chrono::steady_clock::now();
    zone.flag().fetch_add(1);
    for (std::size_t i = 0; i < pairs; ++i) {
      zone.tracker->untrack(
          zone.tracker->track(kTopic, typical_key(i % 64), meta, Owner{1, i}, 1).handle);
    }
    int status = 0;
    waitpid(child, &status, 0);
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    state.SetItemsProcessed(state.items_processed() + static_cast<std::int64_t>(4 * pairs));
  }
}
BENCHMARK(BM_TrackUntrackTwoProcesses)
    ->Arg(500'000)
    ->UseManualTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

// Shared bytes per presence with the typical meta, arena and index included.
void BM_BytesPerPresence(benchmark::State& state) {
  constexpr std::size_t kZoneBytes = 256 << 20;
  for (auto _ : state) {
    Zone zone(kZoneBytes);
    const auto empty = zone.tracker->usage();
    fill(*zone.tracker, kPresences);
    const auto full = zone.tracker->usage();
    state.counters["arena_bytes_per_presence"] =
        static_cast<double>(full.used_bytes - empty.used_bytes) / kPresences;
  }
}
BENCHMARK(BM_BytesPerPresence)->Iterations(1)->Unit(benchmark::kMillisecond);

// The smallest zone (in MiB) that takes 1,000,000 typical presences, found by trying.
void BM_ZoneFor1M(benchmark::State& state) {
  constexpr std::size_t kMillion = 1'000'000;
  const std::size_t mib = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    Zone zone(mib << 20);
    std::size_t stored = 0;
    for (; stored < kMillion; ++stored) {
      if (zone.tracker
              ->track(kTopic, typical_key(stored), typical_meta(stored), Owner{1, stored}, 1)
              .error != presence::TrackError::none) {
        break;
      }
    }
    state.counters["zone_mib"] = static_cast<double>(mib);
    state.counters["stored"] = static_cast<double>(stored);
    state.counters["all_bytes_per_presence"] = static_cast<double>(mib << 20) / kMillion;
  }
}
BENCHMARK(BM_ZoneFor1M)->Arg(212)->Arg(216)->Iterations(1)->Unit(benchmark::kMillisecond);

// One shared 100k-presence zone for the read benchmarks.
Zone& populated() {
  static Zone* zone = [] {
    auto* z = new Zone(64 << 20);
    fill(*z->tracker, kPresences);
    return z;
  }();
  return *zone;
}

void BM_Stats100k(benchmark::State& state) {
  Zone& zone = populated();
  for (auto _ : state) benchmark::DoNotOptimize(zone.tracker->stats(kTopic));
}
BENCHMARK(BM_Stats100k)->Unit(benchmark::kMicrosecond);

// Shoppers choosing their own strings: 100k presences, each on a page of its
// own with a product of its own. stats() copies every string under the lock,
// then ranks them after it and keeps the busiest presence_stats_top (50).
void BM_Stats100kDistinctPages(benchmark::State& state) {
  static Zone* zone = [] {
    auto* z = new Zone(256 << 20);
    for (std::size_t i = 0; i < kPresences; ++i) {
      const CartMeta meta{
          "/attack/page-" + std::to_string(i),
          {CartItem{"product-" + std::to_string(i), "10", static_cast<std::uint32_t>(1 + i % 99)}}};
      if (z->tracker->track(kTopic, typical_key(i), meta, Owner{1, i}, 1000).error !=
          presence::TrackError::none) {
        std::abort();
      }
    }
    return z;
  }();
  std::size_t bytes = 0;
  for (auto _ : state) {
    const presence::StatsSnapshot stats = zone->tracker->stats(kTopic);
    bytes = presence::encode_stats(stats, 0).size();
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["strings"] = static_cast<double>(zone->tracker->usage().strings);
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Stats100kDistinctPages)->Unit(benchmark::kMillisecond);

void BM_List100k(benchmark::State& state) {
  Zone& zone = populated();
  std::vector<presence::PresenceEntry> out;
  for (auto _ : state) {
    zone.tracker->snapshot(kTopic, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["entries"] = static_cast<double>(out.size());
}
BENCHMARK(BM_List100k)->Unit(benchmark::kMillisecond);

// What a resync costs the worker holding the admin: the snapshot of 100k
// presences and its presence_state text (scale by the presence for more).
void BM_PresenceState100k(benchmark::State& state) {
  Zone& zone = populated();
  std::vector<presence::PresenceEntry> out;
  std::size_t bytes = 0;
  for (auto _ : state) {
    zone.tracker->snapshot(kTopic, out);
    const std::string text = presence::encode_presence_state(out);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_PresenceState100k)->Unit(benchmark::kMillisecond);

// One broadcast tick at 50,000 updates/s: read 5,000 updates (10,000 changes)
// of 10,000 shoppers from the change log and write their presence_diff.
void BM_PresenceDiff5000Updates(benchmark::State& state) {
  constexpr std::size_t kShoppers = 10'000;
  constexpr std::size_t kUpdates = 5'000;
  Zone zone(64 << 20);
  std::vector<presence::MetaHandle> handles;
  for (std::size_t i = 0; i < kShoppers; ++i) {
    handles.push_back(
        zone.tracker->track(kTopic, typical_key(i), typical_meta(i), Owner{1, i}, 1000).handle);
  }
  const std::uint64_t since = zone.tracker->head_seq();
  for (std::size_t i = 0; i < kUpdates; ++i) {
    zone.tracker->update(handles[i * 2], typical_meta(i + 7), 2000);
  }
  std::vector<presence::Change> changes;
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::uint64_t next = 0;
    zone.tracker->changes_since(since, 4 * kUpdates, changes, &next);
    const std::string text = presence::encode_presence_diff(changes);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["changes"] = static_cast<double>(changes.size());
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_PresenceDiff5000Updates)->Unit(benchmark::kMillisecond);

void BM_GetByKey100k(benchmark::State& state) {
  Zone& zone = populated();
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(zone.tracker->get_by_key(kTopic, typical_key(i++ % kPresences)));
  }
}
BENCHMARK(BM_GetByKey100k)->Unit(benchmark::kMicrosecond);

// A replica holding 100k remote entries merges a delta with one new join.
void BM_MergeOneEntryDelta(benchmark::State& state) {
  Zone origin(64 << 20, "store-a");
  Zone replica(128 << 20, "store-b");  // room for the entries the iterations add
  fill(*origin.tracker, kPresences);
  presence::Replication origin_crdt(*origin.tracker);
  presence::Replication replica_crdt(*replica.tracker);
  if (const auto s = replica_crdt.merge(origin_crdt.extract_full_state());
      s != presence::MergeStatus::ok) {
    state.SkipWithError(
        ("full state merge failed: " + std::to_string(static_cast<int>(s))).c_str());
    return;
  }
  std::uint64_t clock = origin_crdt.context().replicas[0].clock;
  presence::Delta d;
  d.origin = origin.tracker->local_replica();
  d.joins.push_back(
      presence::DeltaJoin{std::string(kTopic), typical_key(0), 0, 0, 0, typical_meta(1), 1, 1});
  for (auto _ : state) {
    state.PauseTiming();
    d.from = clock;
    d.to = ++clock;
    d.joins[0].clock = d.joins[0].lineage = clock;
    d.joins[0].key = typical_key(kPresences + clock);
    state.ResumeTiming();
    if (const auto s = replica_crdt.merge(d); s != presence::MergeStatus::ok) {
      state.SkipWithError(("delta merge failed: " + std::to_string(static_cast<int>(s))).c_str());
      break;
    }
  }
  state.counters["remote_entries"] = static_cast<double>(replica.tracker->usage().metas);
}
BENCHMARK(BM_MergeOneEntryDelta)->Iterations(200'000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
