// Internal: libsodium initialised once per process. sodium_init() is thread-safe
// but takes a lock; the function-local static makes every later call a plain
// load, and verify() never needs it (keys were built through here).
#pragma once

#include <sodium.h>

namespace presence::jwt::detail {

inline bool sodium_ready() noexcept {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

}  // namespace presence::jwt::detail
