// ngx_presence_history.cpp: the timeline's sampler.
#pragma once

#include <string>

#include "ngx_presence_conf.hpp"

namespace presence::ngx {

// Starts this worker's sampling; returns the local replica's name, what the
// samples are of (empty without a zone).
std::string history_init(ngx_cycle_t* cycle, ngx_msec_t broadcast_interval) noexcept;

}  // namespace presence::ngx
