// One simulator process: its epoll loop drives its slice of shoppers (and, in worker 0, the admin
// watch) for the duration, drains, and sends progress lines and its final report up its pipe.
#pragma once

#include <csignal>
#include <string>

#include "options.hpp"
#include "shopper_fleet.hpp"
#include "token_minter.hpp"

namespace presence::sim {

struct WorkerContext {
  const Options& options;
  WorkerSlice slice;
  const ShopperModel& model;
  const TokenMinter& shopper_minter;
  const TokenMinter* admin_minter;  // worker 0 with --admin-key only
  std::string run_id;
  int report_fd;  // the pipe to the parent: one JSON object a line
};

// Returns the process exit status.
int run_worker(const WorkerContext& context, const volatile std::sig_atomic_t& stop_requested);

}  // namespace presence::sim
