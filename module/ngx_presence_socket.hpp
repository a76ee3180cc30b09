// One upgraded WebSocket connection, after nginx's HTTP request is gone: the
// frame parser, the Phoenix channels and a bounded output queue.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "ngx_presence_conf.hpp"
#include "presence/admin_feed.hpp"
#include "presence/channel_session.hpp"
#include "presence/send_queue.hpp"
#include "presence/ws_frame.hpp"

namespace presence::ngx {

struct WsConn;

// A socket's place in its worker's list of open sockets (intrusive, so that
// listing a socket never allocates).
struct SocketLink {
  ngx_queue_t queue{};
  WsConn* conn = nullptr;
};

struct WsConn {
  WsConn(ngx_connection_t* conn, ngx_http_request_t* req, const LocConf* plcf,
         presence::SocketRole role, std::string sub);

  ngx_connection_t* c;
  ngx_http_request_t* r;  // the upgrade request, until the takeover frees it
  presence::ChannelSession session;
  presence::ws::FrameParser parser;
  // Frames not yet written; frame ends are kept only for admins (stats).
  presence::SendQueue queue;
  presence::AdminFeed::Admin feed;  // admins: its place in the worker's feed
  // Bytes received but not yet handled because the queue went over its
  // bound (back-pressure); at most one read slice.
  std::string unread;
  ngx_msec_t idle_timeout;
  ngx_event_t takeover;  // posted: frees the request once the handler returned
  enum class State { upgrading, open, closing } state = State::upgrading;
  bool close_sent = false;
  bool write_shut = false;
  bool input_paused = false;  // not read until its queue is within its bound
  SocketLink link;
};

// ngx_presence_handshake.cpp: the location handler of presence_socket.
ngx_int_t socket_handler(ngx_http_request_t* r, const LocConf* plcf) noexcept;

// ngx_presence_connection.cpp
// Starts the socket: writes what is queued (the 101 answer), then reads
// first_bytes as the first bytes received.
void ws_start(WsConn* conn, std::string_view first_bytes) noexcept;
// Queues the text of one message answering what the peer sent. Its bound was
// checked before that message was handled: the peer's input is not read
// while its queue is over the bound (back-pressure), so a peer that does not
// read is held to its reading pace, and closed with 1008 when it has read
// nothing for its idle timeout. False when the socket is closing.
bool ws_queue_text(WsConn* conn, std::string_view text) noexcept;
void ws_flush(WsConn* conn) noexcept;
void ws_begin_close(WsConn* conn, presence::ws::CloseCode code, std::string_view reason) noexcept;
// Closes every open socket of this worker (shutdown, reload).
void ws_close_all(presence::ws::CloseCode code, std::string_view reason) noexcept;

// ngx_presence_broadcast.cpp: the worker's admin feed.
void admin_listen(WsConn* conn) noexcept;
void admin_forget(WsConn* conn) noexcept;
// An admin that just joined admin:stats gets its first stats, behind the reply.
void admin_welcome(WsConn* conn) noexcept;
void broadcast_init(ngx_cycle_t* cycle, ngx_msec_t interval) noexcept;

}  // namespace presence::ngx
