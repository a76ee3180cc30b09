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

// ngx_presence_handshake.cpp: the location handler of presence_socket.
ngx_int_t socket_handler(ngx_http_request_t* r, const LocConf* plcf) noexcept;

// ngx_presence_connection.cpp
// Starts the socket: writes what is queued (the 101 answer), then reads
// first_bytes as the first bytes received.
void ws_start(WsConn* conn, std::string_view first_bytes) noexcept;
// Queues the text of one message; false when the queue is over its bound
// (the connection is then closing, or the admin marked stale).
bool ws_queue_text(WsConn* conn, std::string_view text) noexcept;
// A text frame built in place: its payload starts kFrameGap bytes into the
// string, room left for the header. ws_frame_in_place writes the header and
// returns where the frame begins; ws_queue_frame queues it (under the same
// bound as ws_queue_text), taking the string itself when `take` is set and
// nothing is waiting, so a multi-megabyte feed message is never copied.
inline constexpr size_t kFrameGap = presence::ws::kMaxFrameHeaderBytes;
size_t ws_frame_in_place(std::string& frame) noexcept;
bool ws_queue_frame(WsConn* conn, std::string& frame, size_t begin, bool take) noexcept;
// Queues an admin's stats push outside that bound: stats are small and say
// where the store is now, so they must not wait for a presence feed the admin
// is slow to read, nor mark its feed stale. An admin that keeps up gets them
// behind what is queued (never ahead of the diffs they count); a congested
// one (its presence view is behind anyway) gets them ahead of its queued
// presence data, at the next frame boundary. At most one stats frame waits
// at a time; false (the caller retries next tick) while one does.
bool ws_queue_stats(WsConn* conn, std::string_view text) noexcept;
void ws_flush(WsConn* conn) noexcept;
void ws_begin_close(WsConn* conn, presence::ws::CloseCode code, std::string_view reason) noexcept;
// Closes every open socket of this worker (shutdown, reload).
void ws_close_all(presence::ws::CloseCode code, std::string_view reason) noexcept;

// ngx_presence_broadcast.cpp: the worker's admin feed.
void admin_listen(WsConn* conn) noexcept;
void admin_forget(WsConn* conn) noexcept;
void broadcast_init(ngx_cycle_t* cycle, ngx_msec_t interval) noexcept;

// ngx_presence_history.cpp: the timeline's sampler and its admin feed.
void history_init(ngx_cycle_t* cycle, ngx_msec_t broadcast_interval) noexcept;
void history_feed(presence::Tracker& tracker, const std::vector<WsConn*>& all,
                  std::vector<WsConn*>& touched);

}  // namespace presence::ngx
