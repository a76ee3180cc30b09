// Reads copy bytes out from under the lock into a process-local buffer that is
// grown only while the lock is released, then decode at leisure.
#pragma once

#include <cstddef>
#include <vector>

#include "presence_store.hpp"
#include "tracker_lock.hpp"

namespace presence::shm {

// size(store) says how many bytes copy(store, out) will write; both run locked.
// Returns the bytes copied into `buf` (its capacity may exceed them).
template <class Size, class Copy>
std::size_t copy_locked(std::byte* base, LockOps lock, std::vector<std::byte>& buf, Size&& size,
                        Copy&& copy) {
  for (;;) {
    std::size_t need = 0;
    {
      Locked locked(base, lock);
      PresenceStore store(base);
      need = size(store);
      if (need <= buf.size()) {
        copy(store, buf.data());
        return need;
      }
    }
    buf.resize(need + need / 4 + 256);
  }
}

// The scratch buffer of this thread, reused across calls.
std::vector<std::byte>& scratch_buffer();

}  // namespace presence::shm
