// Plain HTTP answers of the presence locations that are not sockets.
#pragma once

#include <string_view>

#include "ngx_presence_nginx.hpp"

namespace presence::ngx {

// Sends a complete in-memory response: status, Content-Type, Content-Length
// and the body (nothing for HEAD). Returns what the handler returns to nginx.
ngx_int_t send_body(ngx_http_request_t* r, ngx_uint_t status, std::string_view content_type,
                    std::string_view body) noexcept;

}  // namespace presence::ngx
