// The critical section: takes the caller's lock, repairs the region if the
// previous holder died inside an operation, and marks an operation in progress
// until it is released.
#pragma once

#include "presence/tracker_types.hpp"
#include "tracker_layout.hpp"

namespace presence::shm {

// Rebuilds every derived structure from the committed metas (tracker_repair.cpp).
void repair_region(std::byte* base) noexcept;

// Test-only: called at named points inside critical sections (null in production).
enum class CrashPoint { meta_committed, meta_unlinked, merge_applied, history_sample_written };
void crash_point(CrashPoint point) noexcept;

class Locked {
 public:
  Locked(std::byte* base, LockOps ops) noexcept : base_(base), ops_(ops) {
    ops_.lock(ops_.ctx);
    auto& h = *reinterpret_cast<Header*>(base_);
    if (h.op_in_progress != 0) {
      repair_region(base_);
      ++h.repairs;
    }
    h.op_in_progress = 1;
  }
  ~Locked() { release(); }
  Locked(const Locked&) = delete;
  Locked& operator=(const Locked&) = delete;

  void release() noexcept {
    if (!held_) return;
    reinterpret_cast<Header*>(base_)->op_in_progress = 0;
    held_ = false;
    ops_.unlock(ops_.ctx);
  }

 private:
  std::byte* base_;
  LockOps ops_;
  bool held_ = true;
};

}  // namespace presence::shm
