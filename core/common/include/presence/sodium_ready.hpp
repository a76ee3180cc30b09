// libsodium initialised once per process. sodium_init() is thread-safe but
// takes a lock; the function-local static makes every later call a plain load.
// Header-only: a library that calls it links libsodium itself.
#pragma once

#include <sodium.h>

namespace presence {

inline bool sodium_ready() noexcept {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

}  // namespace presence
