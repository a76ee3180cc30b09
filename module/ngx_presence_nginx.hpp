// The one place nginx's C headers enter the C++ glue.
#pragma once

extern "C" {
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_sha1.h>
}

#include <string_view>

inline std::string_view ngx_view(const ngx_str_t& s) {
  return {reinterpret_cast<const char*>(s.data), s.len};
}
