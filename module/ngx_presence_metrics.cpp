// GET /metrics: the tracker's gauges and the module's counters in the
// Prometheus text exposition format (version 0.0.4), checked by
// `promtool check metrics` in the tests. Names follow Prometheus's rules:
// - prefix presence_, snake_case; one HELP and TYPE per family;
// - a counter ends in _total; a gauge names what it counts (presence_shoppers);
// - base units in the name: _bytes, _seconds (never ms or KB);
// - a dimension with a few fixed values is a label (result=, reason=),
//   never an unbounded one (cart id, page, product);
// - monitoring/alerts.yml and grafana-dashboard.json name only metrics from here
//   and from the cluster section (core/replication/src/cluster_metrics.cpp).
#include <string>

#include "ngx_presence_cluster.hpp"
#include "ngx_presence_endpoint.hpp"
#include "ngx_presence_guard.hpp"
#include "ngx_presence_http.hpp"
#include "ngx_presence_metrics.hpp"
#include "ngx_presence_zone.hpp"
#include "presence/channel_session.hpp"
#include "presence/cluster_metrics.hpp"

namespace presence::ngx {
namespace {

void metric(std::string& out, const char* name, const char* type, const char* help,
            std::uint64_t value, const char* labels = nullptr) {
  if (help != nullptr) presence::cluster::append_family(out, name, type, help);
  out += name;
  if (labels != nullptr) out += labels;
  out += ' ';
  out += std::to_string(value);
  out += '\n';
}

std::uint64_t load(ngx_atomic_t Counters::*field) {
  Counters* c = zone_counters();
  return c != nullptr ? static_cast<std::uint64_t>(c->*field) : 0;
}

}  // namespace

ngx_int_t metrics_handler(ngx_http_request_t* r) noexcept {
  if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))) return NGX_HTTP_NOT_ALLOWED;
  if (ngx_http_discard_request_body(r) != NGX_OK) return NGX_HTTP_INTERNAL_SERVER_ERROR;
  presence::Tracker* tracker = zone_tracker();
  if (tracker == nullptr) return NGX_HTTP_SERVICE_UNAVAILABLE;
  ngx_log_t* log = r->connection->log;
  constexpr ngx_int_t kFailed = NGX_HTTP_INTERNAL_SERVER_ERROR;
  return guarded(log, NGX_LOG_ERR, "metrics", kFailed, [&]() -> ngx_int_t {
    const presence::TrackerUsage usage = tracker->usage();
    const presence::StatsSnapshot stats = tracker->stats(presence::kCartTrackerTopic);
    std::string out;
    out.reserve(4096);
    metric(out, "presence_shoppers", "gauge", "Distinct cart ids online.", stats.shoppers);
    metric(out, "presence_connections", "gauge", "Presence metas online (joined connections).",
           stats.connections);
    metric(out, "presence_pages", "gauge", "Distinct pages with a shopper on them.",
           stats.pages.size() + stats.pages_other.pages);
    metric(out, "presence_nodes", "gauge", "Replicas whose shoppers are counted.",
           stats.nodes.size());
    metric(out, "presence_zone_size_bytes", "gauge", "Bytes of the tracker's shared region.",
           usage.region_bytes);
    metric(out, "presence_zone_used_bytes", "gauge", "Bytes of the region in use.",
           usage.used_bytes);
    metric(out, "presence_zone_reserved_bytes", "gauge",
           "Bytes of the region new shoppers leave for updates of those online.",
           usage.reserved_bytes);
    metric(out, "presence_metas", "gauge", "Metas stored, all replicas.", usage.metas);
    metric(out, "presence_keys", "gauge", "Keys stored, all replicas.", usage.keys);
    metric(out, "presence_track_refused_total", "counter",
           "Tracks and updates refused because the zone was full.", usage.track_failures_full);
    metric(out, "presence_zone_repairs_total", "counter",
           "Rebuilds of the zone after a worker died inside a critical section.", usage.repairs);
    metric(out, "presence_strings", "gauge",
           "Distinct pages and product-size pairs held in the zone.", usage.strings);
    metric(out, "presence_strings_max", "gauge", "Cap on distinct strings (presence_max_strings).",
           usage.max_strings);
    metric(out, "presence_strings_refused_total", "counter",
           "Joins and updates refused because they brought a string past the cap.",
           usage.track_failures_strings);
    metric(out, "presence_sockets_open", "gauge", "Open presence WebSockets, all workers.",
           sockets_open());
    metric(out, "presence_handshakes_total", "counter", "WebSocket handshakes by result.",
           load(&Counters::handshakes_accepted), "{result=\"accepted\"}");
    metric(out, "presence_handshakes_total", "counter", nullptr,
           load(&Counters::handshakes_bad_request), "{result=\"bad_request\"}");
    metric(out, "presence_handshakes_total", "counter", nullptr,
           load(&Counters::handshakes_forbidden), "{result=\"forbidden\"}");
    metric(out, "presence_messages_total", "counter", "WebSocket messages by direction.",
           load(&Counters::messages_in), "{direction=\"in\"}");
    metric(out, "presence_messages_total", "counter", nullptr, load(&Counters::messages_out),
           "{direction=\"out\"}");
    metric(out, "presence_bytes_total", "counter", "WebSocket bytes by direction.",
           load(&Counters::bytes_in), "{direction=\"in\"}");
    metric(out, "presence_bytes_total", "counter", nullptr, load(&Counters::bytes_out),
           "{direction=\"out\"}");
    metric(out, "presence_closes_total", "counter", "Sockets closed by the server, by reason.",
           load(&Counters::closes_protocol), "{reason=\"protocol\"}");
    metric(out, "presence_closes_total", "counter", nullptr, load(&Counters::closes_idle),
           "{reason=\"idle\"}");
    metric(out, "presence_closes_total", "counter", nullptr, load(&Counters::closes_slow_reader),
           "{reason=\"slow_reader\"}");
    metric(out, "presence_admin_resyncs_total", "counter",
           "Full presence_state pushes to admins that fell behind.",
           load(&Counters::admin_resyncs));
    metric(out, "presence_tokens_minted_total", "counter", "Tokens minted by token endpoints.",
           load(&Counters::tokens_minted));
    metric(out, "presence_owner_reaped_total", "counter",
           "Presences removed because their worker exited.", load(&Counters::owners_reaped));
    // Only with presence_cluster: a single node's /metrics stays as it was.
    if (const presence::cluster::Status* cluster = cluster_status(); cluster != nullptr) {
      presence::cluster::render_metrics(out, *cluster, tracker->replicas(), ngx_now_ms());
    }
    return send_body(r, NGX_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", out);
  });
}

}  // namespace presence::ngx
