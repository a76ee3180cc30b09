// What nginx costs while the simulator runs: RSS (and its anonymous / shared parts) and CPU time
// of the master and its workers from /proc, and the presence zone's used bytes from /metrics.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "loopback_address.hpp"

namespace presence::sim {

inline constexpr std::string_view kZoneUsedMetric = "presence_zone_used_bytes";
// A metrics page is a few kilobytes; more than this is not the page we want.
inline constexpr std::size_t kMaxMetricsBytes = 4 * 1024 * 1024;

struct ProcessUsage {
  pid_t pid = 0;
  std::uint64_t vm_rss_kb = 0;
  std::uint64_t rss_anon_kb = 0;
  std::uint64_t rss_shmem_kb = 0;
  // Proportional set size: a page shared by n processes counts 1/n in each, so the sum over
  // nginx's processes counts the touched zone pages once.
  std::uint64_t pss_kb = 0;
  std::uint64_t cpu_ticks = 0;  // utime + stime
};

struct NginxSample {
  std::int64_t at_ns = 0;
  std::uint64_t connections = 0;        // joined connections the simulator held at that moment
  std::vector<ProcessUsage> processes;  // master first
  std::optional<std::uint64_t> zone_used_bytes;
  std::string error;  // the master is gone, or /metrics did not answer

  std::uint64_t vm_rss_kb() const noexcept;
  std::uint64_t rss_anon_kb() const noexcept;
  std::uint64_t rss_shmem_kb() const noexcept;
  std::uint64_t pss_kb() const noexcept;
  // One field summed over the master and its workers.
  std::uint64_t sum(std::uint64_t ProcessUsage::*field) const noexcept;
  double cpu_s() const noexcept;
  nlohmann::json to_json() const;
};

// Reads the master, its children (by the ppid in /proc/*/stat) and, when given, the metrics URL.
NginxSample sample_nginx(pid_t master, const std::optional<Url>& metrics);

// The sum of every sample of `metric` in a Prometheus text page; nullopt when absent.
std::optional<std::uint64_t> prometheus_value(std::string_view page, std::string_view metric);

// "before", "at_peak", "after" and what grew per connection between before and at_peak.
nlohmann::json nginx_report(pid_t master, const NginxSample& before, const NginxSample& at_peak,
                            const NginxSample& after, double wall_s);

}  // namespace presence::sim
