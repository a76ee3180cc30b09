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
