// One command, one report: the parent checks the plan, forks one worker per slice, prints the
// merged progress line while they run, samples nginx, and merges the workers' reports.
#pragma once

#include "options.hpp"

namespace presence::sim {

// Returns the process exit status: 0 when the run completed (its failures are in the report),
// 2 when it could not start, 1 when a worker was lost.
int run_simulation(const Options& options);

}  // namespace presence::sim
