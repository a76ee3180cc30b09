// What the presence locations tell nginx's logs: the $presence_* variables
// of a request, and its request line without the token.
#pragma once

#include <string_view>

#include "ngx_presence_conf.hpp"

namespace presence::ngx {

// The $presence_* variables and the redacting error log.
ngx_int_t add_log_variables(ngx_conf_t* cf) noexcept;
// Remembers the error log of the location being merged, to redact it.
ngx_int_t note_location_log(ngx_conf_t* cf) noexcept;
ngx_int_t init_module(ngx_cycle_t* cycle) noexcept;

// The request's values of $presence_role, $presence_sub, $presence_kid and
// $presence_result (empty: not found, logged as "-").
struct HandshakeNote {
  ngx_str_t role;
  ngx_str_t sub;
  ngx_str_t kid;
  ngx_str_t result;
};

void note_handshake(ngx_http_request_t* r, std::string_view role, std::string_view sub,
                    std::string_view kid, std::string_view result) noexcept;

// Replaces the request line, URI and query string the access log reads with
// copies whose credentials are redacted (once the handler has read them).
void redact_request(ngx_http_request_t* r) noexcept;

}  // namespace presence::ngx
