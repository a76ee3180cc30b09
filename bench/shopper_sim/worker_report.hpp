// What one simulator process measured: counters, failure reasons and latency histograms, as the
// worker sends them to the parent over its pipe (JSON) and as the parent adds them up.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "latency_histogram.hpp"

namespace presence::sim {

using ReasonCounts = std::map<std::string, std::uint64_t>;

struct TopicTraffic {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
};

// The admin socket and the probe shopper (run by worker 0 only).
struct AdminReport {
  bool joined = false;  // both admin topics answered ok
  std::string error;    // why it did not, or why it stopped
  TopicTraffic stats;
  TopicTraffic cart_tracker;
  LatencyHistogram stats_latency;  // probe page change until admin:stats shows it
  std::uint64_t probes_sent = 0;
  std::uint64_t probes_seen = 0;
  std::uint64_t probes_timed_out = 0;
  std::uint64_t last_stats_shoppers = 0;
  std::uint64_t last_stats_connections = 0;
  std::uint64_t max_stats_shoppers = 0;
  // Metas in the presence admin:cart_tracker described (presence_state, then each diff's joins
  // minus leaves): proves the batched feed complete, not only small.
  std::int64_t tracker_metas = 0;
  std::int64_t max_tracker_metas = 0;
  std::uint64_t tracker_states = 0;      // presence_state messages: the first, then resyncs
  std::uint64_t tracker_unreadable = 0;  // messages on the topic the count could not read
  std::uint64_t probe_connections = 0;   // the probe's own connection, counted by the server too

  nlohmann::json to_json() const;
  static std::optional<AdminReport> from_json(const nlohmann::json& j) noexcept;
};

struct WorkerReport {
  std::uint64_t shoppers = 0;
  std::uint64_t shoppers_with_tabs = 0;
  std::uint64_t shoppers_joined_once = 0;
  std::uint64_t planned_connections = 0;

  std::uint64_t attempted = 0;
  std::uint64_t joined = 0;
  std::uint64_t failed = 0;
  ReasonCounts failed_by_reason;
  std::uint64_t dropped = 0;  // joined connections that ended without the simulator asking
  ReasonCounts dropped_by_reason;
  std::uint64_t closed_by_sim = 0;
  std::uint64_t joined_at_drain = 0;  // connections joined when the drain began

  std::uint64_t initial_joined = 0;  // first attempts that joined: the ramp
  std::int64_t first_attempt_ns = 0;
  std::int64_t ramp_done_ns = 0;  // every first attempt joined or failed

  std::uint64_t left = 0;  // churn: shoppers that left, and that came back
  std::uint64_t returned = 0;

  std::uint64_t updates_sent = 0;
  std::uint64_t updates_acked = 0;
  std::uint64_t updates_refused = 0;
  ReasonCounts update_errors;
  std::uint64_t updates_unacked = 0;  // no answer within the timeout, or the socket went away
  std::uint64_t updates_skipped = 0;  // the tab already had its maximum in flight
  std::uint64_t heartbeats_sent = 0;
  std::uint64_t heartbeats_acked = 0;

  LatencyHistogram join_latency;  // connect + handshake + token check + join reply
  LatencyHistogram update_latency;
  LatencyHistogram heartbeat_latency;

  double cpu_user_s = 0;
  double cpu_system_s = 0;
  std::uint64_t max_rss_kb = 0;

  std::optional<AdminReport> admin;

  nlohmann::json to_json() const;
  static std::optional<WorkerReport> from_json(const nlohmann::json& j) noexcept;
  void merge(const WorkerReport& other);
};

// One progress snapshot of a worker, sent every progress interval.
struct Progress {
  std::uint64_t attempted = 0;
  std::uint64_t joined = 0;
  std::uint64_t failed = 0;
  std::uint64_t dropped = 0;
  std::uint64_t open = 0;    // joined connections now
  std::uint64_t online = 0;  // shoppers with at least one joined connection now
  std::uint64_t updates_sent = 0;
  std::uint64_t updates_acked = 0;
  double update_p99_ms = 0;  // over the last interval
  double admin_p99_ms = 0;   // over the last interval (worker 0)
  std::uint64_t admin_shoppers = 0;

  nlohmann::json to_json() const;
  static std::optional<Progress> from_json(const nlohmann::json& j) noexcept;
};

}  // namespace presence::sim
