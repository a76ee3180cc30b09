// What the tracker benchmarks share: a tracker on an anonymous shared mapping
// with a process-shared mutex in front of it, and the typical shopper's meta.
#pragma once

#include <pthread.h>
#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

#include "presence/tracker.hpp"

namespace presence::bench {

inline constexpr std::size_t kBenchChangeLogBytes = 4 * 1024 * 1024;

// The holds of every Zone's lock in this process, timed while `watched`: how
// long another worker would wait behind the operation measured (wall clock,
// preemption included) and the work of the hold (this thread's CPU).
struct LockHolds {
  static inline bool watched = false;
  static inline std::chrono::steady_clock::time_point taken{};
  static inline std::int64_t taken_cpu_ns = 0;
  static inline std::int64_t longest_ns = 0;
  static inline std::int64_t longest_cpu_ns = 0;
  static inline std::size_t holds = 0;
  static void watch() {
    watched = true;
    longest_ns = 0;
    longest_cpu_ns = 0;
    holds = 0;
  }
  static std::int64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  }
};

class Zone {
 public:
  explicit Zone(std::size_t bytes, std::string node = "store-a") : bytes_(bytes + kLockBytes) {
    mem_ = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem_ == MAP_FAILED) std::abort();
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(static_cast<pthread_mutex_t*>(mem_), &attr);
    std::string error;
    auto t = Tracker::open(static_cast<std::byte*>(mem_) + kLockBytes, bytes,
                           LockOps{mem_, &lock, &unlock},
                           TrackerConfig{std::move(node), 1, kBenchChangeLogBytes}, true, &error);
    if (!t) std::abort();
    tracker.emplace(*t);
  }
  ~Zone() { munmap(mem_, bytes_); }
  Zone(const Zone&) = delete;
  Zone& operator=(const Zone&) = delete;

  // A word beside the lock that forked benchmark processes may share.
  std::atomic<int>& flag() {
    return *reinterpret_cast<std::atomic<int>*>(static_cast<std::byte*>(mem_) + 64);
  }

  std::optional<Tracker> tracker;

 private:
  static constexpr std::size_t kLockBytes = 128;
  static void lock(void* m) noexcept {
    pthread_mutex_lock(static_cast<pthread_mutex_t*>(m));
    if (LockHolds::watched) {
      LockHolds::taken = std::chrono::steady_clock::now();
      LockHolds::taken_cpu_ns = LockHolds::thread_cpu_ns();
    }
  }
  static void unlock(void* m) noexcept {
    if (LockHolds::watched) {
      const std::int64_t held = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::steady_clock::now() - LockHolds::taken)
                                    .count();
      LockHolds::longest_ns = std::max(LockHolds::longest_ns, held);
      LockHolds::longest_cpu_ns =
          std::max(LockHolds::longest_cpu_ns, LockHolds::thread_cpu_ns() - LockHolds::taken_cpu_ns);
      ++LockHolds::holds;
    }
    pthread_mutex_unlock(static_cast<pthread_mutex_t*>(m));
  }
  std::size_t bytes_;
  void* mem_;
};

// The typical meta: a 20-byte page and two items; 36-byte keys (UUIDs).
inline CartMeta typical_meta(std::size_t i) {
  char page[21];
  std::snprintf(page, sizeof page, "/products/shoe-%05zu", i % 50);
  return CartMeta{page,
                  {CartItem{"air-max-" + std::to_string(i % 20), std::to_string(8 + i % 5), 1},
                   CartItem{"samba-" + std::to_string(i % 7), "10.5", 2}}};
}

inline std::string typical_key(std::size_t i) {
  char key[48];  // 36 bytes below 10^12 shoppers; room for any size_t
  std::snprintf(key, sizeof key, "8c1f2a4e-0b6d-4f7a-9e3c-%012zu", i);
  return key;
}

}  // namespace presence::bench
