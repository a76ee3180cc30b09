// The WebSocket upgrade of a presence_socket location.
#pragma once

#include "ngx_presence_conf.hpp"

namespace presence::ngx {

// The location handler of presence_socket: 101 and a WsConn, or a refusal.
ngx_int_t socket_handler(ngx_http_request_t* r, const LocConf* plcf) noexcept;

}  // namespace presence::ngx
