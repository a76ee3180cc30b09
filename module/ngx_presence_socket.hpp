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

}  // namespace presence::ngx
