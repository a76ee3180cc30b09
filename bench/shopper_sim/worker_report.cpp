#include "worker_report.hpp"

#include <algorithm>
#include <utility>

namespace presence::sim {
namespace {

// One list of the plain counters serves to_json, from_json and merge, so they cannot drift.
using Counter = std::uint64_t WorkerReport::*;
constexpr std::pair<const char*, Counter> kCounters[] = {
    {"shoppers", &WorkerReport::shoppers},
    {"shoppers_with_tabs", &WorkerReport::shoppers_with_tabs},
    {"shoppers_joined_once", &WorkerReport::shoppers_joined_once},
    {"planned_connections", &WorkerReport::planned_connections},
    {"attempted", &WorkerReport::attempted},
    {"joined", &WorkerReport::joined},
    {"failed", &WorkerReport::failed},
    {"dropped", &WorkerReport::dropped},
    {"closed_by_sim", &WorkerReport::closed_by_sim},
    {"joined_at_drain", &WorkerReport::joined_at_drain},
    {"initial_joined", &WorkerReport::initial_joined},
    {"left", &WorkerReport::left},
    {"returned", &WorkerReport::returned},
    {"updates_sent", &WorkerReport::updates_sent},
    {"updates_acked", &WorkerReport::updates_acked},
    {"updates_refused", &WorkerReport::updates_refused},
    {"updates_unacked", &WorkerReport::updates_unacked},
    {"updates_skipped", &WorkerReport::updates_skipped},
    {"heartbeats_sent", &WorkerReport::heartbeats_sent},
    {"heartbeats_acked", &WorkerReport::heartbeats_acked},
};

template <typename Report, typename Visit>
void histograms(Report& r, Visit&& visit) {
  visit("join_latency", r.join_latency);
  visit("update_latency", r.update_latency);
  visit("heartbeat_latency", r.heartbeat_latency);
}

template <typename Report, typename Visit>
void reasons(Report& r, Visit&& visit) {
  visit("failed_by_reason", r.failed_by_reason);
  visit("dropped_by_reason", r.dropped_by_reason);
  visit("update_errors", r.update_errors);
}

void add(ReasonCounts& into, const ReasonCounts& from) {
  for (const auto& [reason, n] : from) into[reason] += n;
}

nlohmann::json traffic_json(const TopicTraffic& t) {
  return {{"messages", t.messages}, {"bytes", t.bytes}};
}

TopicTraffic traffic_from(const nlohmann::json& j) {
  return {j.at("messages").get<std::uint64_t>(), j.at("bytes").get<std::uint64_t>()};
}

}  // namespace

nlohmann::json AdminReport::to_json() const {
  return {{"joined", joined},
          {"error", error},
          {"stats", traffic_json(stats)},
          {"cart_tracker", traffic_json(cart_tracker)},
          {"stats_latency", stats_latency.to_json()},
          {"probes_sent", probes_sent},
          {"probes_seen", probes_seen},
          {"probes_timed_out", probes_timed_out},
          {"last_stats_shoppers", last_stats_shoppers},
          {"last_stats_connections", last_stats_connections},
          {"max_stats_shoppers", max_stats_shoppers},
          {"tracker_metas", tracker_metas},
          {"max_tracker_metas", max_tracker_metas},
          {"tracker_states", tracker_states},
          {"tracker_unreadable", tracker_unreadable},
          {"probe_connections", probe_connections}};
}

std::optional<AdminReport> AdminReport::from_json(const nlohmann::json& j) noexcept {
  try {
    AdminReport a;
    a.joined = j.at("joined").get<bool>();
    a.error = j.at("error").get<std::string>();
    a.stats = traffic_from(j.at("stats"));
    a.cart_tracker = traffic_from(j.at("cart_tracker"));
    auto h = LatencyHistogram::from_json(j.at("stats_latency"));
    if (!h) return std::nullopt;
    a.stats_latency = *h;
    a.probes_sent = j.at("probes_sent").get<std::uint64_t>();
    a.probes_seen = j.at("probes_seen").get<std::uint64_t>();
    a.probes_timed_out = j.at("probes_timed_out").get<std::uint64_t>();
    a.last_stats_shoppers = j.at("last_stats_shoppers").get<std::uint64_t>();
    a.last_stats_connections = j.at("last_stats_connections").get<std::uint64_t>();
    a.max_stats_shoppers = j.at("max_stats_shoppers").get<std::uint64_t>();
    a.tracker_metas = j.at("tracker_metas").get<std::int64_t>();
    a.max_tracker_metas = j.at("max_tracker_metas").get<std::int64_t>();
    a.tracker_states = j.at("tracker_states").get<std::uint64_t>();
    a.tracker_unreadable = j.at("tracker_unreadable").get<std::uint64_t>();
    a.probe_connections = j.at("probe_connections").get<std::uint64_t>();
    return a;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

nlohmann::json WorkerReport::to_json() const {
  nlohmann::json j;
  for (const auto& [name, member] : kCounters) j[name] = this->*member;
  histograms(*this, [&](const char* name, const LatencyHistogram& h) { j[name] = h.to_json(); });
  reasons(*this, [&](const char* name, const ReasonCounts& m) { j[name] = m; });
  j["first_attempt_ns"] = first_attempt_ns;
  j["ramp_done_ns"] = ramp_done_ns;
  j["cpu_user_s"] = cpu_user_s;
  j["cpu_system_s"] = cpu_system_s;
  j["max_rss_kb"] = max_rss_kb;
  j["admin"] = admin ? admin->to_json() : nlohmann::json(nullptr);
  return j;
}

std::optional<WorkerReport> WorkerReport::from_json(const nlohmann::json& j) noexcept {
  try {
    WorkerReport r;
    for (const auto& [name, member] : kCounters) r.*member = j.at(name).get<std::uint64_t>();
    bool ok = true;
    histograms(r, [&](const char* name, LatencyHistogram& h) {
      auto parsed = LatencyHistogram::from_json(j.at(name));
      if (parsed) h = *parsed;
      ok = ok && parsed.has_value();
    });
    if (!ok) return std::nullopt;
    reasons(r, [&](const char* name, ReasonCounts& m) { m = j.at(name).get<ReasonCounts>(); });
    r.first_attempt_ns = j.at("first_attempt_ns").get<std::int64_t>();
    r.ramp_done_ns = j.at("ramp_done_ns").get<std::int64_t>();
    r.cpu_user_s = j.at("cpu_user_s").get<double>();
    r.cpu_system_s = j.at("cpu_system_s").get<double>();
    r.max_rss_kb = j.at("max_rss_kb").get<std::uint64_t>();
    if (!j.at("admin").is_null()) {
      r.admin = AdminReport::from_json(j.at("admin"));
      if (!r.admin) return std::nullopt;
    }
    return r;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

void WorkerReport::merge(const WorkerReport& other) {
  for (const auto& [name, member] : kCounters) this->*member += other.*member;
  join_latency.merge(other.join_latency);
  update_latency.merge(other.update_latency);
  heartbeat_latency.merge(other.heartbeat_latency);
  add(failed_by_reason, other.failed_by_reason);
  add(dropped_by_reason, other.dropped_by_reason);
  add(update_errors, other.update_errors);
  // The ramp spans from the earliest first attempt to the latest worker finishing its own.
  if (other.first_attempt_ns != 0 &&
      (first_attempt_ns == 0 || other.first_attempt_ns < first_attempt_ns)) {
    first_attempt_ns = other.first_attempt_ns;
  }
  ramp_done_ns = std::max(ramp_done_ns, other.ramp_done_ns);
  cpu_user_s += other.cpu_user_s;
  cpu_system_s += other.cpu_system_s;
  max_rss_kb = std::max(max_rss_kb, other.max_rss_kb);
  if (other.admin) admin = other.admin;
}

nlohmann::json Progress::to_json() const {
  return {{"attempted", attempted},
          {"joined", joined},
          {"failed", failed},
          {"dropped", dropped},
          {"open", open},
          {"online", online},
          {"updates_sent", updates_sent},
          {"updates_acked", updates_acked},
          {"update_p99_ms", update_p99_ms},
          {"admin_p99_ms", admin_p99_ms},
          {"admin_shoppers", admin_shoppers}};
}

std::optional<Progress> Progress::from_json(const nlohmann::json& j) noexcept {
  try {
    Progress p;
    p.attempted = j.at("attempted").get<std::uint64_t>();
    p.joined = j.at("joined").get<std::uint64_t>();
    p.failed = j.at("failed").get<std::uint64_t>();
    p.dropped = j.at("dropped").get<std::uint64_t>();
    p.open = j.at("open").get<std::uint64_t>();
    p.online = j.at("online").get<std::uint64_t>();
    p.updates_sent = j.at("updates_sent").get<std::uint64_t>();
    p.updates_acked = j.at("updates_acked").get<std::uint64_t>();
    p.update_p99_ms = j.at("update_p99_ms").get<double>();
    p.admin_p99_ms = j.at("admin_p99_ms").get<double>();
    p.admin_shoppers = j.at("admin_shoppers").get<std::uint64_t>();
    return p;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace presence::sim
