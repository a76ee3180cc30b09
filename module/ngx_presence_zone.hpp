// The presence zone as the rest of the glue sees it: the process's tracker
// handle and the module's counters, both in the zone.
#pragma once

#include "ngx_presence_conf.hpp"
#include "presence/tracker.hpp"

namespace presence::ngx {

// Module-wide counters, updated lock-free by every worker, shown by /metrics.
struct Counters {
  ngx_atomic_t handshakes_accepted;
  ngx_atomic_t handshakes_bad_request;
  ngx_atomic_t handshakes_forbidden;
  ngx_atomic_t sockets_open;
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
};

// presence_zone: hands the zone its init function (from the directive handler).
char* zone_configure(ngx_conf_t* cf, MainConf* pmcf) noexcept;

// nullptr until the zone is initialised (no presence_zone configured).
presence::Tracker* zone_tracker() noexcept;
Counters* zone_counters() noexcept;

inline void count(ngx_atomic_t Counters::*field, ngx_atomic_int_t n = 1) noexcept {
  if (Counters* c = zone_counters()) ngx_atomic_fetch_add(&(c->*field), n);
}

}  // namespace presence::ngx
