// The presence_metrics location.
#pragma once

#include "ngx_presence_nginx.hpp"

namespace presence::ngx {

// GET /metrics in Prometheus text format.
ngx_int_t metrics_handler(ngx_http_request_t* r) noexcept;

}  // namespace presence::ngx
