// Microbenchmarks of an admin socket's output: the admin feed's tick (read
// the changes, write one presence_diff in place, queue it) and the send
// queue's push and drain per frame.
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "bench_zone.hpp"
#include "presence/admin_feed.hpp"
#include "presence/channel_session.hpp"
#include "presence/send_queue.hpp"
#include "presence/tracker.hpp"

namespace {

using presence::CartItem;
using presence::CartMeta;
using presence::Owner;
using presence::Tracker;
using presence::bench::typical_key;
using presence::bench::typical_meta;
using presence::bench::Zone;

// One broadcast tick at 50,000 updates/s for one admin, as
// BM_PresenceDiff5000Updates in tracker_bench, plus the frame, the queue
// and draining it: 5,000 updates (10,000 changes) of 10,000 shoppers.
void BM_AdminFeedTick5000Updates(benchmark::State& state) {
  constexpr std::size_t kShoppers = 10'000;
  constexpr std::size_t kUpdates = 5'000;
  Zone zone(64 << 20);
  std::vector<presence::MetaHandle> handles;
  for (std::size_t i = 0; i < kShoppers; ++i) {
    handles.push_back(
        zone.tracker
            ->track(presence::kCartTrackerTopic, typical_key(i), typical_meta(i), Owner{1, i}, 1000)
            .handle);
  }
  presence::ChannelSession session(presence::SocketRole::admin, "ops", Owner{2, 1}, 4);
  std::vector<std::string> replies;
  session.on_text(R"(["1","1","admin:cart_tracker","phx_join",{}])", *zone.tracker, 1000, replies);
  const std::uint64_t since = session.presence_seq();
  for (std::size_t i = 0; i < kUpdates; ++i) {
    zone.tracker->update(handles[i * 2], typical_meta(i + 7), 2000);
  }
  presence::SendQueue queue(1 << 30, true);
  presence::AdminFeed feed;
  presence::AdminFeed::Admin admin(session, queue, nullptr);
  if (!feed.add(admin)) std::abort();
  std::vector<presence::AdminFeed::Admin*> touched;
  std::size_t bytes = 0;
  for (auto _ : state) {
    session.set_presence_seq(since);
    touched.clear();
    feed.tick(*zone.tracker, 3000, touched);
    bytes = queue.pending();
    queue.advance(queue.next_chunk().size());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_AdminFeedTick5000Updates)->Unit(benchmark::kMillisecond);

// A reply-sized frame pushed and sent, on an admin queue (frame ends kept).
void BM_SendQueuePushAdvance(benchmark::State& state) {
  presence::SendQueue queue(1 << 20, state.range(0) != 0);
  const std::string text(static_cast<std::size_t>(state.range(1)), 'x');
  for (auto _ : state) {
    queue.push_text(text);
    std::span<char> chunk = queue.next_chunk();
    benchmark::DoNotOptimize(chunk.data());
    queue.advance(chunk.size());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(1));
}
BENCHMARK(BM_SendQueuePushAdvance)->Args({0, 100})->Args({1, 100})->Args({1, 4096});

// An admin a frame behind: every push lands behind unsent bytes.
void BM_SendQueueBacklog(benchmark::State& state) {
  presence::SendQueue queue(1 << 30, true);
  const std::string text(200, 'x');
  queue.push_text(text);
  for (auto _ : state) {
    queue.push_text(text);
    if (queue.congested() || queue.pending() > 64 * 1024) {
      queue.advance(queue.next_chunk().size() - 1);
    }
  }
}
BENCHMARK(BM_SendQueueBacklog);

}  // namespace

BENCHMARK_MAIN();
