// The launch timeline in the worker: every worker samples the tracker on a
// short timer (the zone keeps exactly one sample a second, whichever worker
// comes first), and the broadcast tick feeds `admin:history` to this worker's
// admins, in bounded chunks and only while an admin's queue has room, so a
// slow admin holds back nothing but its own timeline.
#include <algorithm>
#include <string>
#include <vector>

#include "ngx_presence_history.hpp"

#include "ngx_presence_connection.hpp"
#include "ngx_presence_guard.hpp"
#include "ngx_presence_zone.hpp"
#include "presence/history_feed.hpp"
#include "presence/phoenix_message.hpp"

namespace presence::ngx {
namespace {

// Sampling runs at least this often, so no second is missed by a worker
// whose broadcast interval is long.
constexpr ngx_msec_t kMaxSampleIntervalMs = 250;

ngx_event_t g_sampler;
ngx_msec_t g_sample_interval;
std::string g_node;  // the local replica's name, what the samples are of

void sample(ngx_event_t* ev) noexcept {
  guarded(ev->log, NGX_LOG_ERR, "history sample", [] {
    if (presence::Tracker* tracker = zone_tracker()) {
      tracker->sample_history(presence::kCartTrackerTopic, ngx_now_ms());
    }
  });
  if (!ngx_exiting && !ngx_quit && !ngx_terminate) ngx_add_timer(ev, g_sample_interval);
}

}  // namespace

void history_init(ngx_cycle_t* cycle, ngx_msec_t broadcast_interval) noexcept {
  guarded(cycle->log, NGX_LOG_ERR, "history init", [] {
    if (presence::Tracker* tracker = zone_tracker()) g_node = tracker->local_replica().node;
  });
  g_sample_interval = std::min(broadcast_interval, kMaxSampleIntervalMs);
  g_sampler.handler = sample;
  g_sampler.log = cycle->log;
  g_sampler.data = nullptr;
  g_sampler.cancelable = 1;
  sample(&g_sampler);
}

void history_feed(presence::Tracker& tracker, const std::vector<WsConn*>& all,
                  std::vector<WsConn*>& touched) {
  for (WsConn* admin : all) {
    if (!admin->session.wants_history()) continue;
    bool queued = false;
    while (admin->state == WsConn::State::open && !admin->congested()) {
      const std::string payload =
          presence::next_history_payload(tracker, admin->session.history_view(), g_node);
      if (payload.empty()) break;
      if (!ws_queue_text(admin,
                         presence::phoenix::encode_push(std::nullopt, presence::kAdminHistoryTopic,
                                                        "history", payload))) {
        break;
      }
      queued = true;
    }
    if (queued) touched.push_back(admin);
  }
}

}  // namespace presence::ngx
