// A tracker on an anonymous shared mapping, guarded by a robust process-shared
// pthread mutex living in the same mapping: what the tests use in place of an
// nginx zone and its shpool->mutex. Survives fork().
#pragma once

#include <pthread.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <optional>
#include <string>

#include "presence/tracker.hpp"

namespace presence::test {

class SharedRegion {
 public:
  static constexpr std::size_t kLockBytes = 64;

  explicit SharedRegion(std::size_t tracker_bytes) : bytes_(tracker_bytes + kLockBytes) {
    mem_ = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem_ == MAP_FAILED) std::abort();
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(mutex(), &attr);
    pthread_mutexattr_destroy(&attr);
  }
  ~SharedRegion() { munmap(mem_, bytes_); }
  SharedRegion(const SharedRegion&) = delete;
  SharedRegion& operator=(const SharedRegion&) = delete;

  pthread_mutex_t* mutex() { return static_cast<pthread_mutex_t*>(mem_); }
  void* tracker_region() { return static_cast<std::byte*>(mem_) + kLockBytes; }
  std::size_t tracker_bytes() const { return bytes_ - kLockBytes; }

  LockOps lock_ops() { return LockOps{mutex(), &lock, &unlock}; }

  std::optional<Tracker> open(const TrackerConfig& cfg, bool fresh, std::string* error = nullptr) {
    return Tracker::open(tracker_region(), tracker_bytes(), lock_ops(), cfg, fresh, error);
  }

 private:
  // Like nginx's master force-unlocking the zone mutex of a dead worker.
  static void lock(void* m) noexcept {
    if (pthread_mutex_lock(static_cast<pthread_mutex_t*>(m)) == EOWNERDEAD) {
      pthread_mutex_consistent(static_cast<pthread_mutex_t*>(m));
    }
  }
  static void unlock(void* m) noexcept { pthread_mutex_unlock(static_cast<pthread_mutex_t*>(m)); }

  std::size_t bytes_;
  void* mem_;
};

inline TrackerConfig config(std::string node = "store-a", std::uint64_t generation = 1,
                            std::size_t log_bytes = 256 * 1024) {
  return TrackerConfig{std::move(node), generation, log_bytes};
}

inline CartMeta cart(std::string page, std::vector<CartItem> items = {}) {
  return CartMeta{std::move(page), std::move(items)};
}

}  // namespace presence::test
