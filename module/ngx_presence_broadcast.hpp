// The worker's admin feed: presence_diff and stats pushed on a timer.
#pragma once

#include "ngx_presence_socket.hpp"

namespace presence::ngx {

// Adds an admin socket to the feed (idempotent), or takes it out.
void admin_listen(WsConn* conn) noexcept;
void admin_forget(WsConn* conn) noexcept;
// An admin that just joined admin:stats gets its first stats, behind the reply.
void admin_welcome(WsConn* conn) noexcept;
void broadcast_init(ngx_cycle_t* cycle, ngx_msec_t interval) noexcept;

}  // namespace presence::ngx
