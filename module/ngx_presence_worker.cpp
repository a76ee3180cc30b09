// Per-worker start and exit, and the reaper: metas owned by a worker that
// died (crash, SIGKILL, OOM) are removed by whichever worker notices first.
#include <signal.h>

#include <cerrno>
#include <exception>

#include "ngx_presence_worker.hpp"

#include "ngx_presence_broadcast.hpp"
#include "ngx_presence_connection.hpp"
#include "ngx_presence_zone.hpp"

namespace presence::ngx {
namespace {

constexpr ngx_msec_t kReapInterval = 1000;

ngx_event_t g_reaper;

void reap(ngx_event_t* ev) noexcept {
  presence::Tracker* tracker = zone_tracker();
  if (tracker == nullptr) return;
  if (ngx_exiting || ngx_quit || ngx_terminate) {
    // Shutdown or reload: tell clients to reconnect, to the new workers.
    ws_close_all(presence::ws::CloseCode::going_away, "server shutting down");
    return;
  }
  try {
    for (std::uint32_t pid : tracker->owner_pids()) {
      if (kill(static_cast<pid_t>(pid), 0) == -1 && errno == ESRCH) {
        size_t n = tracker->untrack_owner_pid(pid);
        count(&Counters::owners_reaped, static_cast<ngx_atomic_int_t>(n));
        ngx_log_error(NGX_LOG_NOTICE, ev->log, 0,
                      "presence: removed %uz presences of exited worker %ui", n,
                      static_cast<ngx_uint_t>(pid));
      }
    }
  } catch (const std::exception& e) {
    ngx_log_error(NGX_LOG_ERR, ev->log, 0, "presence: reaper failed: %s", e.what());
  }
  ngx_add_timer(ev, kReapInterval);
}

}  // namespace

ngx_int_t init_process(ngx_cycle_t* cycle) noexcept {
  auto* pmcf =
      static_cast<MainConf*>(ngx_http_cycle_get_module_main_conf(cycle, ngx_http_presence_module));
  if (pmcf == nullptr || pmcf->zone == nullptr || zone_tracker() == nullptr) return NGX_OK;
  broadcast_init(cycle, pmcf->broadcast_interval);
  g_reaper.handler = reap;
  g_reaper.log = cycle->log;
  g_reaper.cancelable = 1;
  // At once: this worker may be the replacement of one that just died.
  reap(&g_reaper);
  return NGX_OK;
}

void exit_process(ngx_cycle_t* cycle) noexcept {
  presence::Tracker* tracker = zone_tracker();
  if (tracker == nullptr) return;
  try {
    tracker->untrack_owner_pid(static_cast<std::uint32_t>(ngx_pid));
  } catch (const std::exception&) {
    // The reaper of another worker removes them.
  }
}

}  // namespace presence::ngx
