// The one place nginx's C headers enter the C++ glue.
#pragma once

extern "C" {
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_sha1.h>
}

#include <cstdint>
#include <string_view>

inline std::string_view ngx_view(const ngx_str_t& s) {
  return {reinterpret_cast<const char*>(s.data), s.len};
}

// nginx's cached wall clock in milliseconds (page_loaded_at, stats ts).
inline std::int64_t ngx_now_ms() {
  ngx_time_t* tp = ngx_timeofday();
  return static_cast<std::int64_t>(tp->sec) * 1000 + static_cast<std::int64_t>(tp->msec);
}

// The data of a timer that has no connection. nginx's debug log names a
// timer's event by ((ngx_connection_t*) ev->data)->fd, so a null data ends
// the worker when error_log is at debug level; nginx's own shutdown timer
// points at an idle connection the same way.
inline ngx_connection_t* timer_without_connection() {
  static ngx_connection_t none = [] {
    ngx_connection_t c{};
    c.fd = static_cast<ngx_socket_t>(-1);
    return c;
  }();
  return &none;
}
