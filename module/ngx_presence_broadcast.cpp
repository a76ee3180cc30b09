// The worker's admin feed on nginx's timer: once per broadcast interval, and
// only while this worker holds an admin socket, the core's AdminFeed queues
// what changed to every admin; this file flushes the sockets it touched.
#include <string>
#include <utility>
#include <vector>

#include "ngx_presence_broadcast.hpp"
#include "ngx_presence_connection.hpp"
#include "ngx_presence_guard.hpp"
#include "ngx_presence_history.hpp"
#include "ngx_presence_zone.hpp"

namespace presence::ngx {
namespace {

presence::AdminFeed g_feed;
ngx_event_t g_tick;
ngx_msec_t g_interval;

void arm() noexcept {
  if (!g_tick.timer_set && !g_feed.empty() && g_tick.handler != nullptr) {
    ngx_add_timer(&g_tick, g_interval);
  }
}

void tick(ngx_event_t*) noexcept {
  presence::Tracker* tracker = zone_tracker();
  if (tracker == nullptr) return;
  std::vector<presence::AdminFeed::Admin*> touched;
  guarded(ngx_cycle->log, NGX_LOG_ERR, "admin feed", [&] {
    touched.reserve(16);
    const presence::AdminFeed::TickReport report = g_feed.tick(*tracker, ngx_now_ms(), touched);
    count(&Counters::messages_out, static_cast<ngx_atomic_int_t>(report.messages));
    count(&Counters::admin_resyncs, static_cast<ngx_atomic_int_t>(report.resyncs));
  });
  // The feed lists each touched admin once; a flush may close (and free) it.
  for (presence::AdminFeed::Admin* admin : touched) {
    auto* conn = static_cast<WsConn*>(admin->socket);
    if (admin->out_of_memory)
      ws_begin_close(conn, presence::ws::CloseCode::internal_error, "out of memory");
    ws_flush(conn);
  }
  arm();
}

}  // namespace

void admin_listen(WsConn* conn) noexcept {
  if (g_feed.add(conn->feed)) arm();
}

void admin_welcome(WsConn* conn) noexcept {
  presence::Tracker* tracker = zone_tracker();
  if (tracker == nullptr) return;
  guarded(conn->c->log, NGX_LOG_ERR, "first stats", [&] {
    if (presence::AdminFeed::welcome(conn->feed, *tracker, ngx_now_ms()))
      count(&Counters::messages_out);
  });
  if (conn->feed.out_of_memory)
    ws_begin_close(conn, presence::ws::CloseCode::internal_error, "out of memory");
}

void admin_forget(WsConn* conn) noexcept {
  g_feed.remove(conn->feed);
  if (g_feed.empty() && g_tick.timer_set) ngx_del_timer(&g_tick);
}

void broadcast_init(ngx_cycle_t* cycle, ngx_msec_t interval) noexcept {
  g_interval = interval;
  g_tick.handler = tick;
  g_tick.log = cycle->log;
  g_tick.data = timer_without_connection();
  g_tick.cancelable = 1;
  std::string node = history_init(cycle, interval);
  guarded(cycle->log, NGX_LOG_ERR, "history node",
          [&] { g_feed.set_history_node(std::move(node)); });
}

}  // namespace presence::ngx
