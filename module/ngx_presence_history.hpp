// ngx_presence_history.cpp: the timeline's sampler and its admin:history feed.
#pragma once

#include <vector>

#include "ngx_presence_socket.hpp"
#include "presence/tracker.hpp"

namespace presence::ngx {

void history_init(ngx_cycle_t* cycle, ngx_msec_t broadcast_interval) noexcept;
void history_feed(presence::Tracker& tracker, const std::vector<WsConn*>& all,
                  std::vector<WsConn*>& touched);

}  // namespace presence::ngx
