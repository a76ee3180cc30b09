// The launch timeline's sampler in the worker: every worker samples the
// tracker on a short timer (the zone keeps exactly one sample a second,
// whichever worker comes first). The admin feed's tick sends `admin:history`.
#include <algorithm>
#include <string>

#include "ngx_presence_history.hpp"

#include "ngx_presence_guard.hpp"
#include "ngx_presence_zone.hpp"
#include "presence/channel_session.hpp"
#include "presence/history_feed.hpp"

namespace presence::ngx {
namespace {

// Sampling runs at least this often, so no second is missed by a worker
// whose broadcast interval is long.
constexpr ngx_msec_t kMaxSampleIntervalMs = 250;

ngx_event_t g_sampler;
ngx_msec_t g_sample_interval;

void sample(ngx_event_t* ev) noexcept {
  guarded(ev->log, NGX_LOG_ERR, "history sample", [] {
    if (presence::Tracker* tracker = zone_tracker()) {
      tracker->sample_history(presence::kCartTrackerTopic, ngx_now_ms());
    }
  });
  if (!ngx_exiting && !ngx_quit && !ngx_terminate) ngx_add_timer(ev, g_sample_interval);
}

}  // namespace

std::string history_init(ngx_cycle_t* cycle, ngx_msec_t broadcast_interval) noexcept {
  std::string node;
  guarded(cycle->log, NGX_LOG_ERR, "history init", [&node] {
    if (presence::Tracker* tracker = zone_tracker()) node = tracker->local_replica().node;
  });
  g_sample_interval = std::min(broadcast_interval, kMaxSampleIntervalMs);
  g_sampler.handler = sample;
  g_sampler.log = cycle->log;
  g_sampler.data = timer_without_connection();
  g_sampler.cancelable = 1;
  sample(&g_sampler);
  return node;
}

}  // namespace presence::ngx
