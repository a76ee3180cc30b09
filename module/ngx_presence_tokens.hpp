// The token minting locations (presence_admin_token, presence_demo_token).
#pragma once

#include "ngx_presence_conf.hpp"

namespace presence::ngx {

// POST /admin/token and GET /demo/token.
ngx_int_t token_handler(ngx_http_request_t* r, const LocConf* plcf) noexcept;

}  // namespace presence::ngx
