// Per-worker start and exit, and the reaper: metas owned by a worker that
// died (crash, SIGKILL, OOM) are removed by whichever worker notices first,
// its open sockets stop counting, and a repair of the zone after a death
// inside a critical section is logged once.
#include <signal.h>

#include <cerrno>
#include <exception>

#include "ngx_presence_worker.hpp"

#include "ngx_presence_broadcast.hpp"
#include "ngx_presence_cluster.hpp"
#include "ngx_presence_connection.hpp"
#include "ngx_presence_guard.hpp"
#include "ngx_presence_history.hpp"
#include "ngx_presence_zone.hpp"
#include "presence/process_identity.hpp"

namespace presence::ngx {
namespace {

constexpr ngx_msec_t kReapInterval = 1000;

ngx_event_t g_reaper;

void reap_owners(presence::Tracker& tracker, ngx_log_t* log) {
  for (const presence::ProcessIdentity& owner : tracker.owners()) {
    if (presence::is_running(owner)) continue;
    const size_t n = tracker.untrack_owner(owner);
    count(&Counters::owners_reaped, static_cast<ngx_atomic_int_t>(n));
    ngx_log_error(NGX_LOG_NOTICE, log, 0, "presence: removed %uz presences of exited worker %ui", n,
                  static_cast<ngx_uint_t>(owner.pid));
  }
  const size_t forgotten = zone_forget_dead_workers();
  if (forgotten != 0) {
    ngx_log_error(NGX_LOG_NOTICE, log, 0, "presence: stopped counting the sockets of %uz exited %s",
                  forgotten, forgotten == 1 ? "worker" : "workers");
  }
}

// Every repair is logged by one worker, the first to see it.
void log_repairs(presence::Tracker& tracker, ngx_log_t* log) {
  Counters* counters = zone_counters();
  if (counters == nullptr) return;
  const std::uint64_t repairs = tracker.usage().repairs;
  const ngx_atomic_uint_t logged = counters->repairs_logged;
  if (repairs > logged && ngx_atomic_cmp_set(&counters->repairs_logged, logged, repairs)) {
    ngx_log_error(NGX_LOG_WARN, log, 0,
                  "presence: the zone was rebuilt after a worker died inside a critical section "
                  "(%uL repairs so far); admin feeds resync",
                  static_cast<std::uint64_t>(repairs));
  }
}

void reap(ngx_event_t* ev) noexcept {
  presence::Tracker* tracker = zone_tracker();
  if (tracker == nullptr) return;
  if (ngx_exiting || ngx_quit || ngx_terminate) {
    // Shutdown or reload: tell clients to reconnect, to the new workers.
    ws_close_all(presence::ws::CloseCode::going_away, "server shutting down");
    return;
  }
  guarded(ev->log, NGX_LOG_ERR, "reaper", [&] {
    reap_owners(*tracker, ev->log);
    log_repairs(*tracker, ev->log);
  });
  ngx_add_timer(ev, kReapInterval);
}

}  // namespace

ngx_int_t init_process(ngx_cycle_t* cycle) noexcept {
  if (zone_tracker() == nullptr) return NGX_OK;
  auto* pmcf =
      static_cast<MainConf*>(ngx_http_cycle_get_module_main_conf(cycle, ngx_http_presence_module));
  zone_worker_start(cycle->log);
  broadcast_init(cycle, pmcf->broadcast_interval);
  g_reaper.handler = reap;
  g_reaper.log = cycle->log;
  g_reaper.data = timer_without_connection();
  g_reaper.cancelable = 1;
  // At once: this worker may be the replacement of one that just died.
  reap(&g_reaper);
  cluster_worker_start(cycle);
  return NGX_OK;
}

void exit_process(ngx_cycle_t* cycle) noexcept {
  presence::Tracker* tracker = zone_tracker();
  if (tracker == nullptr) return;
  // First: another worker takes the Redis link while this one cleans up.
  cluster_worker_exit(cycle);
  // When this fails, the reaper of another worker removes them.
  guarded(cycle->log, NGX_LOG_WARN, "removing this worker's presences",
          [&] { tracker->untrack_owner(worker_owner(0).process()); });
  zone_worker_exit();
}

}  // namespace presence::ngx
