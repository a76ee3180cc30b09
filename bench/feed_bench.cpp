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

#include "presence/admin_feed.hpp"
#include "presence/channel_session.hpp"
#include "presence/send_queue.hpp"
#include "presence/tracker.hpp"

namespace {

using presence::CartItem;
using presence::CartMeta;
using presence::Owner;
using presence::Tracker;

// A tracker on an anonymous shared mapping with a process-shared mutex in front of it.
class Zone {
 public:
  explicit Zone(std::size_t bytes) : bytes_(bytes + kLockBytes) {
    mem_ = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem_ == MAP_FAILED) std::abort();
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(static_cast<pthread_mutex_t*>(mem_), &attr);
    auto t = Tracker::open(static_cast<std::byte*>(mem_) + kLockBytes, bytes,
                           presence::LockOps{mem_, &lock, &unlock},
                           presence::TrackerConfig{"store-a", 1, 4 << 20}, true, nullptr);
    if (!t) std::abort();
    tracker.emplace(*t);
  }
  ~Zone() { munmap(mem_, bytes_); }
  Zone(const Zone&) = delete;
  Zone& operator=(const Zone&) = delete;

  std::optional<Tracker> tracker;

 private:
  static constexpr std::size_t kLockBytes = 128;
  static void lock(void* m) noexcept { pthread_mutex_lock(static_cast<pthread_mutex_t*>(m)); }
  static void unlock(void* m) noexcept { pthread_mutex_unlock(static_cast<pthread_mutex_t*>(m)); }
  std::size_t bytes_;
  void* mem_;
};

// The typical meta of tracker_bench: a 20-byte page and two items; 36-byte keys.
CartMeta typical_meta(std::size_t i) {
  char page[21];
  std::snprintf(page, sizeof page, "/products/shoe-%05zu", i % 50);
  return CartMeta{page,
                  {CartItem{"air-max-" + std::to_string(i % 20), std::to_string(8 + i % 5), 1},
                   CartItem{"samba-" + std::to_string(i % 7), "10.5", 2}}};
}

std::string typical_key(std::size_t i) {
  char key[37];
  std::snprintf(key, sizeof key, "8c1f2a4e-0b6d-4f7a-9e3c-%012zu", i);
  return key;
}

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
