// Microbenchmarks of cluster replication, core only: what a node pays to
// merge one replicated update next to 10k or 500k presences, the wire bytes
// of a batched delta (50 ms at 30,000 updates/s) and of a full state, and the
// merge of a 200k full state (the catch-up of a joining node), whole and in
// the slices the module runs, its extraction at the origin (one lock hold or
// slices), and the sealed envelope around a delta.
#include <benchmark/benchmark.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench_zone.hpp"
#include "presence/cluster_message.hpp"
#include "presence/delta_codec.hpp"
#include "presence/replication.hpp"
#include "presence/tracker.hpp"

namespace {

using presence::CartMeta;
using presence::Delta;
using presence::MergeStatus;
using presence::MetaHandle;
using presence::Owner;
using presence::Replication;
using presence::Tracker;
using presence::bench::typical_key;
using presence::bench::typical_meta;
using presence::bench::Zone;

constexpr std::string_view kTopic = "admin:cart_tracker";
// A wall-clock time in milliseconds (2025-12-01): the codec sees real magnitudes.
constexpr std::int64_t kNowMs = 1'764'547'200'000;
// Shoppers joined over the ten minutes before kNowMs.
constexpr std::int64_t kJoinSpreadMs = 600'000;
// The rate and batch period: 30,000 updates/s published every 50 ms.
constexpr std::size_t kUpdatesPerSecond = 30'000;
constexpr std::int64_t kBatchMs = 50;
constexpr std::size_t kBatchUpdates = kUpdatesPerSecond * kBatchMs / 1000;
constexpr std::size_t kBatchShoppers = 10'000;

// Zone bytes for n typical presences (about 230 B each all-in) plus room.
std::size_t zone_bytes_for(std::size_t presences) {
  return (presences * 256 + (32u << 20) + ((1u << 20) - 1)) & ~std::size_t{(1u << 20) - 1};
}

std::vector<MetaHandle> fill(Tracker& t, std::size_t n) {
  std::vector<MetaHandle> handles;
  handles.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto joined_at = kNowMs - kJoinSpreadMs + static_cast<std::int64_t>(i % kJoinSpreadMs);
    auto r = t.track(kTopic, typical_key(i), typical_meta(i), Owner{1, i}, joined_at);
    if (r.error != presence::TrackError::none) std::abort();
    handles.push_back(r.handle);
  }
  return handles;
}

// A typical shopper's update: every other one a new page, the others a cart change.
CartMeta updated_meta(std::size_t shopper, std::size_t step) {
  CartMeta meta = typical_meta(shopper);
  if (step % 2 == 0) {
    meta = typical_meta(shopper + 7 * (step + 1));
    meta.items = typical_meta(shopper).items;
  } else {
    meta.items[0].qty = static_cast<std::uint32_t>(1 + step % 3);
  }
  return meta;
}

// n updates spread over the shoppers like the simulator's (a stride that visits
// each one before repeating), at `rate` per second from `start_ms`.
void apply_updates(Tracker& t, std::vector<MetaHandle>& handles, std::size_t n, std::size_t first,
                   std::int64_t start_ms) {
  for (std::size_t u = 0; u < n; ++u) {
    const std::size_t step = first + u;
    const std::size_t shopper = (step * 7919) % handles.size();
    const auto now = start_ms + static_cast<std::int64_t>(step * 1000 / kUpdatesPerSecond);
    auto r = t.update(handles[shopper], updated_meta(shopper, step), now);
    if (r.error != presence::TrackError::none) std::abort();
    handles[shopper] = r.handle;
  }
}

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::uint64_t own_clock(Replication& r) {
  return r.context().replicas[0].clock;
}

// One replicated update (a delta of one join with prev_clock) merged into a
// replica already holding `range(0)` presences of that origin: should not grow
// with the presences held.
void BM_MergeOneUpdate(benchmark::State& state) {
  const auto presences = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t kDeltas = 20'000;
  Zone origin(zone_bytes_for(presences), "store-a");
  Zone replica(zone_bytes_for(presences), "store-b");
  auto handles = fill(*origin.tracker, presences);
  Replication origin_crdt(*origin.tracker);
  Replication replica_crdt(*replica.tracker);
  if (replica_crdt.merge(origin_crdt.extract_full_state()) != MergeStatus::ok) {
    state.SkipWithError("full state merge failed");
    return;
  }
  std::vector<Delta> deltas;
  deltas.reserve(kDeltas);
  std::uint64_t cursor = own_clock(origin_crdt);
  for (std::size_t i = 0; i < kDeltas; ++i) {
    apply_updates(*origin.tracker, handles, 1, i, kNowMs);
    deltas.push_back(origin_crdt.extract_delta(cursor));
    cursor = deltas.back().to;
    if (deltas.back().joins.size() != 1 || deltas.back().joins[0].prev_clock == 0) {
      state.SkipWithError("a one-update delta expected");
      return;
    }
  }
  std::size_t next = 0;
  for (auto _ : state) {
    if (replica_crdt.merge(deltas[next++]) != MergeStatus::ok) {
      state.SkipWithError("delta merge failed");
      break;
    }
  }
  state.counters["presences_held"] = static_cast<double>(replica.tracker->usage().metas);
}
// 100k and 1M show where the cost stops growing: past the caches it is memory latency.
BENCHMARK(BM_MergeOneUpdate)
    ->Arg(10'000)
    ->Arg(100'000)
    ->Arg(500'000)
    ->Arg(1'000'000)
    ->Iterations(20'000)
    ->Unit(benchmark::kMicrosecond);

// The delta one batch period publishes at 30,000 updates/s: 1,500 updates of
// 10,000 typical shoppers, encoded. bytes_per_update is the codec's wire cost
// (the sealed envelope's fixed overhead comes on top, once per batch).
struct Batch {
  Zone origin{zone_bytes_for(kBatchShoppers), "store-a"};
  Delta delta;
  std::string wire;
  Batch() {
    auto handles = fill(*origin.tracker, kBatchShoppers);
    Replication crdt(*origin.tracker);
    const std::uint64_t cursor = own_clock(crdt);
    apply_updates(*origin.tracker, handles, kBatchUpdates, 0, kNowMs);
    delta = crdt.extract_delta(cursor);
    wire = presence::encode_delta(delta);
  }
};

Batch& batch() {
  static Batch b;
  return b;
}

void BM_EncodeBatchedDelta(benchmark::State& state) {
  Batch& b = batch();
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string wire = presence::encode_delta(b.delta);
    bytes = wire.size();
    benchmark::DoNotOptimize(wire.data());
  }
  state.counters["updates"] = static_cast<double>(b.delta.joins.size());
  state.counters["wire_bytes"] = static_cast<double>(bytes);
  state.counters["bytes_per_update"] =
      static_cast<double>(bytes) / static_cast<double>(b.delta.joins.size());
}
BENCHMARK(BM_EncodeBatchedDelta)->Unit(benchmark::kMicrosecond);

void BM_DecodeBatchedDelta(benchmark::State& state) {
  Batch& b = batch();
  for (auto _ : state) {
    auto decoded = presence::decode_delta(b.wire);
    if (!decoded) {
      state.SkipWithError("decode failed");
      break;
    }
    benchmark::DoNotOptimize(decoded->joins.data());
  }
  state.counters["wire_bytes"] = static_cast<double>(b.wire.size());
}
BENCHMARK(BM_DecodeBatchedDelta)->Unit(benchmark::kMicrosecond);

// A full state of `range(0)` typical presences: extraction and encoding, and
// its wire bytes per presence (Phoenix.Tracker: 165 to 178).
void BM_FullStateBytes(benchmark::State& state) {
  const auto presences = static_cast<std::size_t>(state.range(0));
  Zone origin(zone_bytes_for(presences), "store-a");
  fill(*origin.tracker, presences);
  Replication crdt(*origin.tracker);
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string wire = presence::encode_delta(crdt.extract_full_state());
    bytes = wire.size();
    benchmark::DoNotOptimize(wire.data());
  }
  state.counters["wire_bytes"] = static_cast<double>(bytes);
  state.counters["bytes_per_presence"] =
      static_cast<double>(bytes) / static_cast<double>(presences);
}
BENCHMARK(BM_FullStateBytes)->Arg(10'000)->Arg(200'000)->Unit(benchmark::kMillisecond);

// The catch-up of a joining node: a 200k full state decoded and merged into an
// empty replica in one call (the whole merge under the lock).
void BM_FullStateMerge200k(benchmark::State& state) {
  constexpr std::size_t kPresences = 200'000;
  Zone origin(zone_bytes_for(kPresences), "store-a");
  fill(*origin.tracker, kPresences);
  const std::string wire =
      presence::encode_delta(Replication(*origin.tracker).extract_full_state());
  double decode_ms = 0;
  double merge_ms = 0;
  for (auto _ : state) {
    auto replica = std::make_unique<Zone>(zone_bytes_for(kPresences), "store-b");
    Replication crdt(*replica->tracker);
    const auto start = std::chrono::steady_clock::now();
    auto decoded = presence::decode_delta(wire);
    const auto decoded_at = std::chrono::steady_clock::now();
    if (!decoded || crdt.merge(*decoded) != MergeStatus::ok) {
      state.SkipWithError("full state merge failed");
      break;
    }
    const auto merged_at = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(merged_at - start).count());
    decode_ms += std::chrono::duration<double, std::milli>(decoded_at - start).count();
    merge_ms += std::chrono::duration<double, std::milli>(merged_at - decoded_at).count();
    state.counters["presences"] = static_cast<double>(replica->tracker->usage().metas);
  }
  const auto runs = static_cast<double>(state.iterations());
  state.counters["decode_ms"] = decode_ms / runs;
  state.counters["merge_ms"] = merge_ms / runs;
}
BENCHMARK(BM_FullStateMerge200k)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);

// The same catch-up the way the cluster node applies it: slices of the module's
// 2 ms budget, each one lock hold. Slice times are whole calls (lock taken, held
// and given back), wall clock (what other workers wait behind, preemption on a
// busy machine included) and this thread's CPU (the work of one hold).
void BM_FullStateSlicedMerge200k(benchmark::State& state) {
  constexpr std::size_t kPresences = 200'000;
  constexpr std::int64_t kSliceBudgetNs = 2'000'000;
  Zone origin(zone_bytes_for(kPresences), "store-a");
  fill(*origin.tracker, kPresences);
  const std::string wire =
      presence::encode_delta(Replication(*origin.tracker).extract_full_state());
  std::vector<double> slice_ms;
  double max_slice_cpu_ms = 0;
  double slices = 0;
  for (auto _ : state) {
    auto replica = std::make_unique<Zone>(zone_bytes_for(kPresences), "store-b");
    Replication crdt(*replica->tracker);
    const auto start = std::chrono::steady_clock::now();
    auto decoded = presence::decode_delta(wire);
    if (!decoded) {
      state.SkipWithError("decode failed");
      break;
    }
    presence::MergeJob job(std::move(*decoded));
    MergeStatus status = MergeStatus::ok;
    while (!job.done() && status == MergeStatus::ok) {
      const double cpu_start = thread_cpu_ms();
      const auto slice_start = std::chrono::steady_clock::now();
      status = crdt.merge_slice(job, kSliceBudgetNs);
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - slice_start)
              .count();
      slice_ms.push_back(ms);
      max_slice_cpu_ms = std::max(max_slice_cpu_ms, thread_cpu_ms() - cpu_start);
    }
    if (status != MergeStatus::ok || replica->tracker->usage().metas != kPresences) {
      state.SkipWithError("sliced merge failed");
      break;
    }
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    slices = static_cast<double>(job.slices());
  }
  std::sort(slice_ms.begin(), slice_ms.end());
  state.counters["slices"] = slices;
  if (!slice_ms.empty()) {
    state.counters["slice_p50_ms"] = slice_ms[slice_ms.size() / 2];
    state.counters["slice_p99_ms"] = slice_ms[slice_ms.size() * 99 / 100];
    state.counters["max_slice_ms"] = slice_ms.back();
  }
  state.counters["max_slice_cpu_ms"] = max_slice_cpu_ms;
}
BENCHMARK(BM_FullStateSlicedMerge200k)
    ->UseManualTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

// Answering a catch-up of 200k presences: the full state extracted in one
// call (a sizing pass and a copy pass over every meta in one lock hold) and
// in the slices the cluster node runs (the module's 2 ms budget). The lock
// holds are timed by the zone's lock itself, wall clock.
void BM_FullStateExtract200k(benchmark::State& state) {
  constexpr std::size_t kPresences = 200'000;
  constexpr std::int64_t kSliceBudgetNs = 2'000'000;
  const bool sliced = state.range(0) != 0;
  Zone origin(zone_bytes_for(kPresences), "store-a");
  fill(*origin.tracker, kPresences);
  Replication crdt(*origin.tracker);
  std::int64_t longest_ns = 0;
  std::int64_t longest_cpu_ns = 0;
  std::size_t holds = 0;
  std::size_t joins = 0;
  for (auto _ : state) {
    presence::bench::LockHolds::watch();
    Delta d;
    if (sliced) {
      presence::ExtractJob job;
      while (!job.done()) crdt.extract_slice(job, kSliceBudgetNs);
      d = job.take();
    } else {
      d = crdt.extract_full_state();
    }
    presence::bench::LockHolds::watched = false;
    longest_ns = std::max(longest_ns, presence::bench::LockHolds::longest_ns);
    longest_cpu_ns = std::max(longest_cpu_ns, presence::bench::LockHolds::longest_cpu_ns);
    holds = presence::bench::LockHolds::holds;
    joins = d.joins.size();
    benchmark::DoNotOptimize(d.joins.data());
  }
  if (joins != kPresences) state.SkipWithError("not every presence was extracted");
  state.counters["max_lock_hold_ms"] = static_cast<double>(longest_ns) / 1e6;
  state.counters["max_lock_hold_cpu_ms"] = static_cast<double>(longest_cpu_ns) / 1e6;
  state.counters["lock_holds"] = static_cast<double>(holds);
}
BENCHMARK(BM_FullStateExtract200k)
    ->ArgName("sliced")
    ->Arg(0)
    ->Arg(1)
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);

// The sealed envelope around the 50 ms batch: kind, sender, seq, send time and
// the MAC, once per published message.
void BM_SealBatchedDelta(benchmark::State& state) {
  Batch& b = batch();
  const auto key = presence::cluster::derive_key(std::string(48, 'k'));
  if (!key) {
    state.SkipWithError("derive_key failed");
    return;
  }
  presence::cluster::Envelope e{presence::cluster::Kind::delta,
                                presence::ReplicaName{"store-a", 1764547200123},
                                (std::uint64_t{1764547200123} << 16) + 1,
                                kNowMs,
                                "",
                                b.wire};
  std::size_t sealed = 0;
  for (auto _ : state) {
    const std::string bytes = presence::cluster::seal(e, *key);
    sealed = bytes.size();
    benchmark::DoNotOptimize(bytes.data());
  }
  state.counters["payload_bytes"] = static_cast<double>(b.wire.size());
  state.counters["envelope_bytes"] = static_cast<double>(sealed - b.wire.size());
  state.counters["sealed_bytes_per_update"] =
      static_cast<double>(sealed) / static_cast<double>(b.delta.joins.size());
}
BENCHMARK(BM_SealBatchedDelta)->Unit(benchmark::kMicrosecond);

void BM_OpenBatchedDelta(benchmark::State& state) {
  Batch& b = batch();
  const auto key = presence::cluster::derive_key(std::string(48, 'k'));
  const std::string sealed = presence::cluster::seal(
      presence::cluster::Envelope{presence::cluster::Kind::delta,
                                  presence::ReplicaName{"store-a", 1764547200123}, 1, kNowMs, "",
                                  b.wire},
      *key);
  for (auto _ : state) {
    auto opened = presence::cluster::open(sealed, *key);
    if (!opened) {
      state.SkipWithError("open failed");
      break;
    }
    benchmark::DoNotOptimize(opened->payload.data());
  }
}
BENCHMARK(BM_OpenBatchedDelta)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
