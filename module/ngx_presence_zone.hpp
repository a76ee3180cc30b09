// The presence zone as the rest of the glue sees it: the tracker handle of the
// current cycle's zone, the module's counters and each worker's open sockets,
// all in the zone.
#pragma once

#include "ngx_presence_conf.hpp"
#include "presence/tracker.hpp"

namespace presence::ngx {

// Module-wide counters, updated lock-free by every worker, shown by /metrics.
struct Counters {
  ngx_atomic_t handshakes_accepted;
  ngx_atomic_t handshakes_bad_request;
  ngx_atomic_t handshakes_forbidden;
  ngx_atomic_t messages_in;
  ngx_atomic_t messages_out;
  ngx_atomic_t bytes_in;
  ngx_atomic_t bytes_out;
  ngx_atomic_t closes_protocol;
  ngx_atomic_t closes_idle;
  ngx_atomic_t closes_slow_reader;
  ngx_atomic_t admin_resyncs;
  ngx_atomic_t tokens_minted;
  ngx_atomic_t owners_reaped;
  ngx_atomic_t repairs_logged;  // zone repairs some worker has logged already
};

// presence_zone: hands the zone its init function (from the directive handler).
char* zone_configure(ngx_conf_t* cf, MainConf* pmcf) noexcept;

// nullptr when the current cycle has no presence_zone (or it is not set up).
presence::Tracker* zone_tracker() noexcept;
Counters* zone_counters() noexcept;
// The zone's cluster block (lease, cursor, status), and the zone's one lock.
struct ClusterShared;
ClusterShared* zone_cluster() noexcept;
ngx_shmtx_t* zone_mutex() noexcept;

inline void count(ngx_atomic_t Counters::*field, ngx_atomic_int_t n = 1) noexcept {
  if (Counters* c = zone_counters()) ngx_atomic_fetch_add(&(c->*field), n);
}

// Open sockets are counted per worker process, so that a worker that dies
// with sockets open stops counting the moment it is gone.
void count_socket(ngx_atomic_int_t n) noexcept;
// Open sockets of the workers still running.
std::uint64_t sockets_open();

// This worker as the owner of presences: its pid and start time.
presence::Owner worker_owner(std::uint64_t conn) noexcept;

// Worker start and exit (ngx_presence_worker.cpp): takes this process's
// socket slot, or gives it back.
void zone_worker_start(ngx_log_t* log) noexcept;
void zone_worker_exit() noexcept;
// Frees the socket slots of workers no longer running; returns how many.
std::size_t zone_forget_dead_workers();

}  // namespace presence::ngx
