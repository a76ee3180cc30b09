// One upgraded WebSocket connection, after nginx's HTTP request is gone: the
// frame parser, the Phoenix channels and a bounded output queue.
#pragma once

#include <cstddef>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "ngx_presence_conf.hpp"
#include "presence/channel_session.hpp"
#include "presence/ws_frame.hpp"

namespace presence::ngx {

inline constexpr size_t kNotListed = static_cast<size_t>(-1);

struct WsConn {
  WsConn(ngx_connection_t* conn, ngx_http_request_t* req, const LocConf* plcf,
         presence::SocketRole role, std::string sub);

  ngx_connection_t* c;
  ngx_http_request_t* r;  // the upgrade request, until the takeover frees it
  presence::ChannelSession session;
  presence::ws::FrameParser parser;
  std::string out;  // frames not yet written
  size_t out_pos = 0;
  ngx_msec_t idle_timeout;
  size_t send_buffer;
  ngx_event_t takeover;  // posted: frees the request once the handler returned
  enum class State { upgrading, open, closing } state = State::upgrading;
  bool close_sent = false;
  bool write_shut = false;
  bool stale = false;    // admin: dropped pushes, resync once drained
  size_t stats_end = 0;  // admin: end in `out` of the last stats frame queued
  // Admin: one stats frame that goes ahead of the presence data queued in
  // `out`, at the next frame boundary there (see ws_queue_stats).
  std::string urgent;
  size_t urgent_pos = 0;
  std::vector<size_t> bounds;  // admin: ends of the frames in `out`, ascending
  size_t bounds_head = 0;      // bounds before it are behind out_pos
  // The last frame boundary out_pos reached; none until the 101 answer that
  // starts `out` is written.
  size_t at_bound = kNotListed;
  size_t conn_index = kNotListed;
  size_t admin_index = kNotListed;

  size_t pending() const noexcept { return out.size() - out_pos; }
  bool congested() const noexcept { return pending() > send_buffer / 2; }
};

// A worker-local set of sockets with O(1) insert and removal: each socket
// keeps its position in the member Index, so leaving costs a swap.
template <size_t WsConn::*Index>
class SocketList {
 public:
  // False only when memory runs out.
  bool insert(WsConn* conn) noexcept {
    if (conn->*Index != kNotListed) return true;
    try {
      items_.push_back(conn);
    } catch (const std::bad_alloc&) {
      return false;
    }
    conn->*Index = items_.size() - 1;
    return true;
  }

  void erase(WsConn* conn) noexcept {
    if (conn->*Index == kNotListed) return;
    WsConn* last = items_.back();
    items_[conn->*Index] = last;
    last->*Index = conn->*Index;
    items_.pop_back();
    conn->*Index = kNotListed;
  }

  const std::vector<WsConn*>& items() const noexcept { return items_; }

 private:
  std::vector<WsConn*> items_;
};

}  // namespace presence::ngx
