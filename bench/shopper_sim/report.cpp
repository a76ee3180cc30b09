#include "report.hpp"

#include "clock.hpp"

namespace presence::sim {
namespace {

nlohmann::json admin_json(const AdminReport& a) {
  return {{"joined", a.joined},
          {"error", a.error},
          {"topics",
           {{"admin:stats", {{"messages", a.stats.messages}, {"bytes", a.stats.bytes}}},
            {"admin:cart_tracker",
             {{"messages", a.cart_tracker.messages}, {"bytes", a.cart_tracker.bytes}}}}},
          {"stats_latency_ms", a.stats_latency.summary_ms()},
          {"probes_sent", a.probes_sent},
          {"probes_seen", a.probes_seen},
          {"probes_timed_out", a.probes_timed_out},
          {"last_stats",
           {{"shoppers", a.last_stats_shoppers}, {"connections", a.last_stats_connections}}},
          {"max_stats_shoppers", a.max_stats_shoppers},
          {"tracker_metas", a.tracker_metas},
          {"max_tracker_metas", a.max_tracker_metas},
          {"tracker_states", a.tracker_states},
          {"tracker_unreadable", a.tracker_unreadable},
          {"probe_connections", a.probe_connections}};
}

double rate(std::uint64_t count, double seconds) {
  return seconds > 0 ? static_cast<double>(count) / seconds : 0.0;
}

}  // namespace

nlohmann::json build_report(const Options& options, const RunPlan& plan, const WorkerReport& m,
                            const RunObservations& seen) {
  nlohmann::json sources = nlohmann::json::array();
  for (const in_addr& a : options.source_addresses) sources.push_back(to_string(a));
  const double ramp_s = m.ramp_done_ns > m.first_attempt_ns
                            ? ns_to_seconds(m.ramp_done_ns - m.first_attempt_ns)
                            : 0.0;
  const double sim_cpu = m.cpu_user_s + m.cpu_system_s + seen.sim_parent_cpu_s;
  nlohmann::json urls = nlohmann::json::array();
  for (const Url& u : options.urls) urls.push_back("ws://" + u.host + u.path);
  return {{"config",
           {{"url", "ws://" + options.url.host + options.url.path},
            {"urls", urls},
            {"shoppers", options.shoppers},
            {"processes", options.processes},
            {"source_ips", sources},
            {"ramp_per_s", options.ramp_per_s},
            {"duration_s", options.duration_s},
            {"drain_s", options.drain_s},
            {"update_rate", options.total_update_rate()},
            {"tabs_fraction", options.tabs_fraction},
            {"churn_per_min", options.churn_per_min},
            {"heartbeat_s", options.heartbeat_s},
            {"timeout_s", options.timeout_s},
            {"gentle", options.gentle}}},
          {"run", {{"id", seen.run_id}, {"wall_s", seen.wall_s}, {"errors", seen.errors}}},
          {"connections",
           {{"planned", plan.connections},
            {"attempted", m.attempted},
            {"joined", m.joined},
            {"failed", m.failed},
            {"failed_by_reason", m.failed_by_reason},
            {"dropped", m.dropped},
            {"dropped_by_reason", m.dropped_by_reason},
            {"closed_by_sim", m.closed_by_sim},
            {"joined_at_drain", m.joined_at_drain},
            {"peak_concurrent", seen.peak_connections}}},
          {"shoppers",
           {{"total", m.shoppers},
            {"with_tabs", m.shoppers_with_tabs},
            {"joined_once", m.shoppers_joined_once},
            {"peak_concurrent", seen.peak_shoppers},
            {"left", m.left},
            {"returned", m.returned}}},
          {"join",
           {{"ramp_s", ramp_s},
            {"ramp_joined", m.initial_joined},
            {"rate_per_s", rate(m.initial_joined, ramp_s)},
            {"peak_rate_per_s", seen.peak_join_rate},
            {"latency_ms", m.join_latency.summary_ms()}}},
          {"updates",
           {{"target_per_s", options.total_update_rate()},
            {"sent", m.updates_sent},
            {"acked", m.updates_acked},
            {"refused", m.updates_refused},
            {"errors", m.update_errors},
            {"unacked", m.updates_unacked},
            {"skipped", m.updates_skipped},
            {"acked_per_s", rate(m.updates_acked, options.duration_s)},
            {"acked_per_s_after_ramp",
             seen.steady_s > 0 ? nlohmann::json(seen.steady_acked_per_s) : nlohmann::json()},
            {"after_ramp_s", seen.steady_s},
            {"latency_ms", m.update_latency.summary_ms()}}},
          {"heartbeats",
           {{"sent", m.heartbeats_sent},
            {"acked", m.heartbeats_acked},
            {"latency_ms", m.heartbeat_latency.summary_ms()}}},
          {"admin", m.admin ? admin_json(*m.admin) : nlohmann::json(nullptr)},
          {"nginx", seen.nginx},
          {"sim",
           {{"cpu_user_s", m.cpu_user_s},
            {"cpu_system_s", m.cpu_system_s},
            {"cpu_s", sim_cpu},
            {"cpu_percent", seen.wall_s > 0 ? 100.0 * sim_cpu / seen.wall_s : 0.0},
            {"max_worker_rss_kb", m.max_rss_kb}}}};
}

}  // namespace presence::sim
