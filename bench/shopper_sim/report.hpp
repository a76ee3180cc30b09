// The JSON report a run ends with: the configuration, what the parent observed while it ran
// (peaks, rates, nginx usage) and the workers' merged counters and latencies.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "options.hpp"
#include "run_plan.hpp"
#include "worker_report.hpp"

namespace presence::sim {

struct RunObservations {
  std::string run_id;
  double wall_s = 0;
  std::uint64_t peak_connections = 0;  // joined connections at once, summed over workers
  std::uint64_t peak_shoppers = 0;     // shoppers online at once
  double peak_join_rate = 0;           // best joins per second over one progress interval
  double steady_acked_per_s = 0;       // updates acknowledged per second after the ramp
  double steady_s = 0;                 // ... over this many seconds (0: not measured)
  double sim_parent_cpu_s = 0;
  std::vector<std::string> errors;  // workers that crashed, were killed or sent nothing
  nlohmann::json nginx;             // null without --nginx-pid
};

nlohmann::json build_report(const Options& options, const RunPlan& plan, const WorkerReport& merged,
                            const RunObservations& seen);

}  // namespace presence::sim
