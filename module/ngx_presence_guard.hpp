// The one rule at the nginx boundary: every function nginx calls is noexcept
// and no C++ exception unwinds through nginx's C frames. A handler runs its
// body through guarded(), which turns an escaped exception into one log line
// and the handler's failure value (NGX_ERROR, a 500, a closed socket...).
#pragma once

#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include "ngx_presence_nginx.hpp"

namespace presence::ngx {

// Runs body(); on an exception logs "presence: <what>: <why>" at `level` and
// returns on_error. For a void body, pass no on_error.
template <typename Body, typename R>
R guarded(ngx_log_t* log, ngx_uint_t level, const char* what, R on_error, Body&& body) noexcept {
  try {
    return std::forward<Body>(body)();
  } catch (const std::bad_alloc&) {
    ngx_log_error(level, log, 0, "presence: %s: out of memory", what);
  } catch (const std::exception& e) {
    ngx_log_error(level, log, 0, "presence: %s: %s", what, e.what());
  } catch (...) {
    ngx_log_error(level, log, 0, "presence: %s: unknown error", what);
  }
  return on_error;
}

// The same for a body without a result; false when it threw.
template <typename Body>
bool guarded(ngx_log_t* log, ngx_uint_t level, const char* what, Body&& body) noexcept {
  static_assert(std::is_void_v<decltype(body())>, "a body with a result needs on_error");
  return guarded(log, level, what, false, [&]() {
    std::forward<Body>(body)();
    return true;
  });
}

}  // namespace presence::ngx
