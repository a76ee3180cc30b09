// The life of an upgraded socket in nginx's event loop: reads feed the frame
// parser and the Phoenix session, writes drain a bounded queue without ever
// blocking, and every way out (close handshake, protocol error, idle timeout,
// lost connection, shutdown) untracks the socket's presences.
#include <sys/socket.h>

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "ngx_presence_broadcast.hpp"
#include "ngx_presence_connection.hpp"
#include "ngx_presence_guard.hpp"
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

// The worker's open sockets.
ngx_queue_t g_conns = {&g_conns, &g_conns};
u_char g_read_buffer[kReadSlice];

bool listed(const WsConn* conn) noexcept {
  return conn->link.conn != nullptr;
}

// Leaves the socket's channels: its presences are gone the moment it closes.
void end_session(WsConn* conn) noexcept {
  admin_forget(conn);
  if (presence::Tracker* tracker = zone_tracker()) {
    guarded(conn->c->log, NGX_LOG_ALERT, "untrack", [&] { conn->session.close(*tracker); });
  }
}

void close_now(WsConn* conn) noexcept {
  ngx_connection_t* c = conn->c;
  end_session(conn);
  // ngx_queue_remove is several statements: braces keep all of them conditional.
  // A socket is counted when it is listed (ws_start), so only then uncounted.
  if (listed(conn)) {
    ngx_queue_remove(&conn->link.queue);
    count_socket(-1);
  }
  delete conn;
  ngx_http_close_connection(c);
}

// Queues a frame the socket must answer with (a pong); it counts against the
// bound like any other, which the reader then respects before the next frame.
void queue_control(WsConn* conn, presence::ws::Opcode op, std::string_view payload) noexcept {
  if (!guarded(conn->c->log, NGX_LOG_ERR, "queuing a control frame",
               [&] { conn->queue.push_frame(op, payload); })) {
    ws_begin_close(conn, CloseCode::internal_error, "out of memory");
  }
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
    admin_welcome(conn);
  } else {
    admin_forget(conn);
  }
}

// Back-pressure: input is handled only while the socket's queue is within its
// bound, so a peer that sends without reading what it is answered waits for
// its own reading (its idle timeout still ends it, see ws_flush).
bool input_held(WsConn* conn) noexcept {
  if (conn->state == WsConn::State::open && !conn->queue.within_bound()) {
    conn->input_paused = true;
  }
  return conn->input_paused;
}

// Feeds received bytes to the parser until they are used up, the socket
// starts closing, or its queue goes over its bound: the rest then waits in
// `unread` for the queue to drain.
void receive(WsConn* conn, const u_char* data, size_t len) {
  while (len > 0 && conn->state == WsConn::State::open) {
    if (input_held(conn)) {
      conn->unread.assign(reinterpret_cast<const char*>(data), len);
      return;
    }
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

// Runs a receive; an exception closes the socket with 1011.
void receive_guarded(WsConn* conn, const u_char* data, size_t len) noexcept {
  if (!guarded(conn->c->log, NGX_LOG_ERR, "handling a message",
               [&] { receive(conn, data, len); })) {
    ws_begin_close(conn, CloseCode::internal_error, "internal error");
  }
}

enum class Read { more, done, gone };

// Reads one slice; `gone` when the socket was closed (and freed).
Read read_slice(WsConn* conn, size_t* budget, bool* received) noexcept {
  ngx_connection_t* c = conn->c;
  if (conn->state == WsConn::State::open && input_held(conn)) return Read::done;
  ssize_t n = c->recv(c, g_read_buffer, sizeof(g_read_buffer));
  if (n == NGX_AGAIN) return Read::done;
  if (n == 0 || n == NGX_ERROR) {
    // The peer is gone (or finished its side of the close handshake).
    close_now(conn);
    return Read::gone;
  }
  count(&Counters::bytes_in, n);
  *budget -= std::min(*budget, static_cast<size_t>(n));
  if (conn->state == WsConn::State::closing) return Read::more;  // drain until EOF
  *received = true;
  receive_guarded(conn, g_read_buffer, static_cast<size_t>(n));
  return Read::more;
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
    if (conn->input_paused) {
      // It sends but has read nothing of its answers for the idle timeout.
      count(&Counters::closes_slow_reader);
      ws_begin_close(conn, CloseCode::policy_violation, "not reading");
    } else {
      count(&Counters::closes_idle);
      ws_begin_close(conn, CloseCode::normal, "idle timeout");
    }
    ws_flush(conn);
    return;
  }

  bool received = false;
  if (conn->state == WsConn::State::open && conn->queue.within_bound()) {
    conn->input_paused = false;
    if (!conn->unread.empty()) {
      // Resuming after back-pressure: what was held is handled first.
      std::string held;
      held.swap(conn->unread);
      received = true;
      receive_guarded(conn, reinterpret_cast<const u_char*>(held.data()), held.size());
    }
  }
  size_t budget = kReadBudget;
  Read step = Read::more;
  while (budget > 0 && step == Read::more) step = read_slice(conn, &budget, &received);
  if (step == Read::gone) return;

  if (conn->state == WsConn::State::open) {
    conn->parser.release_buffers();
    if (received) ngx_add_timer(rev, conn->idle_timeout);
  }
  if (budget == 0 && !conn->input_paused) {
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
      queue(plcf->send_buffer, role == presence::SocketRole::admin),
      feed(session, queue, this),
      idle_timeout(plcf->idle_timeout),
      takeover{} {}

void ws_start(WsConn* conn, std::string_view first_bytes) noexcept {
  ngx_connection_t* c = conn->c;
  conn->state = WsConn::State::open;
  c->log->action = const_cast<char*>("serving presence websocket");
  c->read->handler = read_handler;
  c->write->handler = write_handler;
  count_socket(1);
  conn->link.conn = conn;
  ngx_queue_insert_tail(&g_conns, &conn->link.queue);

  if (!first_bytes.empty()) {
    count(&Counters::bytes_in, static_cast<ngx_atomic_int_t>(first_bytes.size()));
    receive_guarded(conn, reinterpret_cast<const u_char*>(first_bytes.data()), first_bytes.size());
  }
  if (conn->state == WsConn::State::open) ngx_add_timer(c->read, conn->idle_timeout);
  if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
    close_now(conn);
    return;
  }
  if (c->read->ready && !conn->input_paused) {
    ngx_post_event(c->read, &ngx_posted_events);
  }
  ws_flush(conn);
}

bool ws_queue_text(WsConn* conn, std::string_view text) noexcept {
  if (conn->state != WsConn::State::open) return false;
  if (!guarded(conn->c->log, NGX_LOG_ERR, "queuing a message",
               [&] { conn->queue.push_text(text); })) {
    ws_begin_close(conn, CloseCode::internal_error, "out of memory");
    return false;
  }
  count(&Counters::messages_out);
  return true;
}

void ws_begin_close(WsConn* conn, CloseCode code, std::string_view reason) noexcept {
  if (conn->state == WsConn::State::closing) return;
  conn->state = WsConn::State::closing;
  end_session(conn);
  std::string().swap(conn->unread);
  // Nothing may follow the close frame: a stats frame not begun is dropped.
  conn->queue.drop_stats_not_begun();
  // Out of memory, nothing more can be said: the linger timer closes it.
  if (!conn->close_sent) {
    conn->close_sent = guarded(conn->c->log, NGX_LOG_ERR, "queuing a close frame",
                               [&] { conn->queue.push_close(code, reason); });
  }
  ngx_add_timer(conn->c->read, kCloseLinger);
}

void ws_flush(WsConn* conn) noexcept {
  ngx_connection_t* c = conn->c;
  bool sent = false;
  for (;;) {
    std::span<char> chunk = conn->queue.next_chunk();
    if (chunk.empty()) break;
    ssize_t n = c->send(c, reinterpret_cast<u_char*>(chunk.data()), chunk.size());
    if (n == NGX_AGAIN) break;
    if (n == NGX_ERROR) {
      close_now(conn);
      return;
    }
    count(&Counters::bytes_out, n);
    conn->queue.advance(static_cast<size_t>(n));
    sent = true;
  }
  if (sent && conn->state == WsConn::State::open && conn->input_paused) {
    if (conn->queue.within_bound()) {
      conn->input_paused = false;
      ngx_post_event(c->read, &ngx_posted_events);
    } else {
      // A peer that reads what it is sent is not idle, though it is not read.
      ngx_add_timer(c->read, conn->idle_timeout);
    }
  }
  if (conn->queue.empty() && conn->state == WsConn::State::closing && !conn->write_shut) {
    // Our close frame is out: half-close and wait (kCloseLinger) for the
    // peer's close or EOF, so no reset can destroy the frame in flight.
    conn->write_shut = true;
    shutdown(c->fd, SHUT_WR);
  }
  if (ngx_handle_write_event(c->write, 0) != NGX_OK) close_now(conn);
}

void ws_close_all(CloseCode code, std::string_view reason) noexcept {
  // Closing takes a socket off the list, never another one: read the next
  // link first, and nothing is copied.
  ngx_queue_t* link = ngx_queue_head(&g_conns);
  while (link != ngx_queue_sentinel(&g_conns)) {
    WsConn* conn = (ngx_queue_data(link, SocketLink, queue))->conn;
    link = ngx_queue_next(link);
    if (conn->state != WsConn::State::open) continue;
    ws_begin_close(conn, code, reason);
    ws_flush(conn);
  }
}

}  // namespace presence::ngx
