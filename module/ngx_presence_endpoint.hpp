// Handlers of the non-socket presence locations.
#pragma once

#include "ngx_presence_handlers.hpp"

namespace presence::ngx {

// ngx_presence_tokens.cpp: POST /admin/token and GET /demo/token.
ngx_int_t token_handler(ngx_http_request_t* r, const LocConf* plcf) noexcept;

// ngx_presence_metrics.cpp: GET /metrics in Prometheus text format.
ngx_int_t metrics_handler(ngx_http_request_t* r) noexcept;

// Sends a complete in-memory response (used by both).
ngx_int_t send_body(ngx_http_request_t* r, ngx_uint_t status, std::string_view content_type,
                    std::string_view body) noexcept;

}  // namespace presence::ngx
