// The life of an upgraded socket in nginx's event loop: reads feed the frame
// parser and the Phoenix session, writes drain a bounded queue without ever
// blocking, and every way out (close handshake, protocol error, idle timeout,
// lost connection, shutdown) untracks the socket's presences.
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <vector>

#include "ngx_presence_broadcast.hpp"
#include "ngx_presence_connection.hpp"
#include "ngx_presence_zone.hpp"

namespace presence::ngx {
namespace {

using presence::ws::CloseCode;
using presence::ws::FrameEvent;

// Read in slices of this size, at most kReadBudget per event so one busy
// socket cannot starve the others of its worker.
constexpr size_t kReadSlice = 16 * 1024;
constexpr size_t kReadBudget = 256 * 1024;
// How long a closing socket may take to answer our close frame.
constexpr ngx_msec_t kCloseLinger = 2000;
// Queue memory above this is given back once the queue drains.
constexpr size_t kKeepQueueCapacity = 4096;

SocketList<&WsConn::conn_index> g_conns;
u_char g_read_buffer[kReadSlice];

// Leaves the socket's channels: its presences are gone the moment it closes.
void end_session(WsConn* conn) noexcept {
  admin_forget(conn);
  if (presence::Tracker* tracker = zone_tracker()) {
    try {
      conn->session.close(*tracker);
    } catch (const std::exception& e) {
      ngx_log_error(NGX_LOG_ALERT, conn->c->log, 0, "presence: untrack failed: %s", e.what());
    }
  }
}

void close_now(WsConn* conn) noexcept {
  ngx_connection_t* c = conn->c;
  end_session(conn);
  g_conns.erase(conn);
  count_socket(-1);
  delete conn;
  ngx_http_close_connection(c);
}

void handle_message(WsConn* conn, const FrameEvent& ev) {
  if (ev.opcode != presence::ws::Opcode::text) {
    ws_begin_close(conn, CloseCode::unsupported_data, "Phoenix V2 JSON messages are text");
    return;
  }
  count(&Counters::messages_in);
  presence::Tracker* tracker = zone_tracker();
  std::vector<std::string> replies;
  conn->session.on_text(ev.payload, *tracker, ngx_now_ms(), replies);
  for (const std::string& text : replies) {
    if (!ws_queue_text(conn, text)) break;
  }
  if (conn->session.wants_presence() || conn->session.wants_stats() ||
      conn->session.wants_history()) {
    admin_listen(conn);
  } else {
    admin_forget(conn);
  }
}

// Admins keep where each queued frame ends, so a stats frame can go out
// between two of them. A bound that could not be kept only makes the frames
// around it one unit, which is still correct.
void mark_frame_end(WsConn* conn) noexcept {
  if (conn->session.role() != presence::SocketRole::admin) return;
  try {
    conn->bounds.push_back(conn->out.size());
  } catch (const std::bad_alloc&) {
  }
}

void queue_control(WsConn* conn, presence::ws::Opcode op, std::string_view payload) {
  presence::ws::append_frame(conn->out, op, payload);
  mark_frame_end(conn);
}

// Feeds received bytes to the parser until they are used up or the socket
// starts closing.
void receive(WsConn* conn, const u_char* data, size_t len) {
  count(&Counters::bytes_in, static_cast<ngx_atomic_int_t>(len));
  while (len > 0 && conn->state == WsConn::State::open) {
    size_t used = 0;
    FrameEvent ev = conn->parser.feed(data, len, &used);
    data += used;
    len -= used;
    switch (ev.kind) {
      case FrameEvent::Kind::none:
        break;
      case FrameEvent::Kind::message:
        handle_message(conn, ev);
        break;
      case FrameEvent::Kind::ping:
        queue_control(conn, presence::ws::Opcode::pong, ev.payload);
        break;
      case FrameEvent::Kind::pong:
        break;
      case FrameEvent::Kind::close:
        // Echo the peer's code, as RFC 6455 5.5.1 asks.
        ws_begin_close(conn, ev.code, "");
        break;
      case FrameEvent::Kind::error:
        count(&Counters::closes_protocol);
        ngx_log_error(NGX_LOG_INFO, conn->c->log, 0, "presence: closing with %ui: %*s",
                      static_cast<ngx_uint_t>(ev.code), ev.reason.size(), ev.reason.data());
        ws_begin_close(conn, ev.code, ev.reason);
        break;
    }
    if (used == 0 && ev.kind == FrameEvent::Kind::none) break;
  }
}

void read_handler(ngx_event_t* rev) noexcept {
  ngx_connection_t* c = static_cast<ngx_connection_t*>(rev->data);
  auto* conn = static_cast<WsConn*>(c->data);

  if (rev->timedout) {
    rev->timedout = 0;
    if (conn->state == WsConn::State::closing) {
      close_now(conn);
      return;
    }
    count(&Counters::closes_idle);
    ws_begin_close(conn, CloseCode::normal, "idle timeout");
    ws_flush(conn);
    return;
  }

  size_t budget = kReadBudget;
  bool received = false;
  try {
    while (budget > 0) {
      ssize_t n = c->recv(c, g_read_buffer, sizeof(g_read_buffer));
      if (n == NGX_AGAIN) break;
      if (n == 0 || n == NGX_ERROR) {
        // The peer is gone (or finished its side of the close handshake).
        close_now(conn);
        return;
      }
      budget -= std::min(budget, static_cast<size_t>(n));
      if (conn->state == WsConn::State::closing) continue;  // drain until EOF
      received = true;
      receive(conn, g_read_buffer, static_cast<size_t>(n));
    }
  } catch (const std::exception& e) {
    ngx_log_error(NGX_LOG_ERR, c->log, 0, "presence: %s", e.what());
    ws_begin_close(conn, CloseCode::internal_error, "internal error");
  }

  if (conn->state == WsConn::State::open) {
    conn->parser.release_buffers();
    if (received) ngx_add_timer(rev, conn->idle_timeout);
  }
  if (budget == 0) {
    ngx_post_event(rev, &ngx_posted_events);
  } else if (ngx_handle_read_event(rev, 0) != NGX_OK) {
    close_now(conn);
    return;
  }
  ws_flush(conn);
}

void write_handler(ngx_event_t* wev) noexcept {
  ngx_connection_t* c = static_cast<ngx_connection_t*>(wev->data);
  ws_flush(static_cast<WsConn*>(c->data));
}

}  // namespace

WsConn::WsConn(ngx_connection_t* conn, ngx_http_request_t* req, const LocConf* plcf,
               presence::SocketRole role, std::string sub)
    : c(conn),
      r(req),
      session(role, std::move(sub), worker_owner(static_cast<std::uint64_t>(conn->number)),
              plcf->max_channels),
      parser(presence::ws::Role::server, plcf->max_message),
      idle_timeout(plcf->idle_timeout),
      send_buffer(plcf->send_buffer),
      takeover{} {}

void ws_start(WsConn* conn, std::string_view first_bytes) noexcept {
  ngx_connection_t* c = conn->c;
  conn->state = WsConn::State::open;
  c->log->action = const_cast<char*>("serving presence websocket");
  c->read->handler = read_handler;
  c->write->handler = write_handler;
  count_socket(1);
  if (!g_conns.insert(conn)) {
    close_now(conn);
    return;
  }

  try {
    if (!first_bytes.empty()) {
      receive(conn, reinterpret_cast<const u_char*>(first_bytes.data()), first_bytes.size());
    }
  } catch (const std::exception& e) {
    ngx_log_error(NGX_LOG_ERR, c->log, 0, "presence: %s", e.what());
    ws_begin_close(conn, CloseCode::internal_error, "internal error");
  }
  if (conn->state == WsConn::State::open) ngx_add_timer(c->read, conn->idle_timeout);
  if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
    close_now(conn);
    return;
  }
  if (c->read->ready) {
    ngx_post_event(c->read, &ngx_posted_events);
  }
  ws_flush(conn);
}

namespace {

// The bound is on what is already queued, so one message of any size is
// taken while the queue is within it: a snapshot larger than the buffer
// still reaches an admin that keeps up, and small pushes cannot starve it.
bool admit(WsConn* conn) noexcept {
  if (conn->state != WsConn::State::open) return false;
  if (conn->pending() <= conn->send_buffer) return true;
  if (conn->session.role() == presence::SocketRole::admin) {
    // An admin that cannot keep up gets a fresh presence_state once its
    // queue drains, instead of an ever longer backlog.
    conn->stale = true;
    return false;
  }
  count(&Counters::closes_slow_reader);
  ws_begin_close(conn, CloseCode::policy_violation, "send buffer full");
  return false;
}

// Runs `append` on one of the socket's queues; running out of memory there
// closes the socket.
template <class Append>
bool appended(WsConn* conn, Append&& append) noexcept {
  try {
    append();
    return true;
  } catch (const std::bad_alloc&) {
    ws_begin_close(conn, CloseCode::internal_error, "out of memory");
    return false;
  }
}

}  // namespace

bool ws_queue_text(WsConn* conn, std::string_view text) noexcept {
  if (!admit(conn) || !appended(conn, [&] {
        presence::ws::append_frame(conn->out, presence::ws::Opcode::text, text);
      })) {
    return false;
  }
  mark_frame_end(conn);
  count(&Counters::messages_out);
  return true;
}

size_t ws_frame_in_place(std::string& frame) noexcept {
  std::uint8_t header[presence::ws::kMaxFrameHeaderBytes];
  const size_t size = presence::ws::write_frame_header(header, presence::ws::Opcode::text,
                                                       frame.size() - kFrameGap, true, nullptr);
  const size_t begin = kFrameGap - size;
  std::memcpy(frame.data() + begin, header, size);
  return begin;
}

bool ws_queue_frame(WsConn* conn, std::string& frame, size_t begin, bool take) noexcept {
  if (!admit(conn)) return false;
  if (take && conn->pending() == 0) {
    // The usual case of an admin that keeps up: its queue becomes the frame.
    conn->out.swap(frame);
    conn->out_pos = begin;
    conn->stats_end = 0;
    conn->bounds.clear();
    conn->bounds_head = 0;
    conn->at_bound = begin;
  } else if (!appended(conn, [&] { conn->out.append(frame, begin); })) {
    return false;
  }
  mark_frame_end(conn);
  count(&Counters::messages_out);
  return true;
}

bool ws_queue_stats(WsConn* conn, std::string_view text) noexcept {
  if (conn->state != WsConn::State::open || conn->urgent_pos > 0) return false;
  if (conn->congested()) {
    // Ahead of the presence backlog; a newer stats replaces one not begun.
    if (!appended(conn, [&] {
          conn->urgent.clear();
          presence::ws::append_frame(conn->urgent, presence::ws::Opcode::text, text);
        })) {
      return false;
    }
  } else {
    if (!conn->urgent.empty() || conn->out_pos < conn->stats_end) return false;
    if (!appended(conn, [&] {
          presence::ws::append_frame(conn->out, presence::ws::Opcode::text, text);
        })) {
      return false;
    }
    conn->stats_end = conn->out.size();
    mark_frame_end(conn);
  }
  count(&Counters::messages_out);
  return true;
}

void ws_begin_close(WsConn* conn, CloseCode code, std::string_view reason) noexcept {
  if (conn->state == WsConn::State::closing) return;
  conn->state = WsConn::State::closing;
  end_session(conn);
  // Nothing may follow the close frame: a stats frame not begun is dropped.
  if (conn->urgent_pos == 0) conn->urgent.clear();
  try {
    if (!conn->close_sent) {
      presence::ws::append_close(conn->out, code, reason);
      mark_frame_end(conn);
      conn->close_sent = true;
    }
  } catch (const std::bad_alloc&) {
    // Nothing more can be said; the linger timer closes the socket.
  }
  ngx_add_timer(conn->c->read, kCloseLinger);
}

namespace {

// Sends from `buf`; false when the socket is done (closed, or would block).
bool send_some(WsConn* conn, std::string& buf, size_t* pos, size_t limit, bool* closed) {
  ngx_connection_t* c = conn->c;
  ssize_t n = c->send(c, reinterpret_cast<u_char*>(buf.data()) + *pos, limit);
  if (n == NGX_AGAIN) return false;
  if (n == NGX_ERROR) {
    *closed = true;
    return false;
  }
  count(&Counters::bytes_out, n);
  *pos += static_cast<size_t>(n);
  return true;
}

}  // namespace

void ws_flush(WsConn* conn) noexcept {
  ngx_connection_t* c = conn->c;
  bool closed = false;
  for (;;) {
    while (conn->bounds_head < conn->bounds.size() &&
           conn->bounds[conn->bounds_head] <= conn->out_pos) {
      conn->at_bound = conn->bounds[conn->bounds_head++];
    }
    // The urgent frame goes whole, and only between two frames of `out`.
    if (!conn->urgent.empty() &&
        (conn->urgent_pos > 0 || conn->out_pos == conn->at_bound || conn->pending() == 0)) {
      if (!send_some(conn, conn->urgent, &conn->urgent_pos, conn->urgent.size() - conn->urgent_pos,
                     &closed)) {
        break;
      }
      if (conn->urgent_pos == conn->urgent.size()) {
        conn->urgent.clear();
        conn->urgent_pos = 0;
      }
      continue;
    }
    if (conn->pending() == 0) break;
    // While a stats frame waits, stop at the end of the frame being sent.
    size_t limit = conn->pending();
    if (!conn->urgent.empty() && conn->bounds_head < conn->bounds.size()) {
      limit = conn->bounds[conn->bounds_head] - conn->out_pos;
    }
    if (!send_some(conn, conn->out, &conn->out_pos, limit, &closed)) break;
  }
  if (closed) {
    close_now(conn);
    return;
  }
  if (conn->pending() == 0 && conn->urgent.empty()) {
    conn->out.clear();
    conn->out_pos = 0;
    conn->stats_end = 0;
    conn->bounds.clear();
    conn->bounds_head = 0;
    conn->at_bound = 0;
    if (conn->out.capacity() > kKeepQueueCapacity) std::string().swap(conn->out);
    if (conn->urgent.capacity() > kKeepQueueCapacity) std::string().swap(conn->urgent);
    if (conn->state == WsConn::State::closing && !conn->write_shut) {
      // Our close frame is out: half-close and wait (kCloseLinger) for the
      // peer's close or EOF, so no reset can destroy the frame in flight.
      conn->write_shut = true;
      shutdown(c->fd, SHUT_WR);
    }
  }
  if (ngx_handle_write_event(c->write, 0) != NGX_OK) close_now(conn);
}

void ws_close_all(CloseCode code, std::string_view reason) noexcept {
  const std::vector<WsConn*> all = g_conns.items();  // closing leaves the list
  for (WsConn* conn : all) {
    if (conn->state != WsConn::State::open) continue;
    ws_begin_close(conn, code, reason);
    ws_flush(conn);
  }
}

}  // namespace presence::ngx
