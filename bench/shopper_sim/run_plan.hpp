// How a run is split over processes and source addresses, checked against what the machine
// allows before anything starts: the open-files limit per process and the ephemeral ports per
// source address.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "options.hpp"
#include "shopper_fleet.hpp"
#include "shopper_model.hpp"

namespace presence::sim {

// Descriptors a worker needs besides its sockets: stdio, epoll, its pipe, /proc reads.
inline constexpr std::size_t kReservedDescriptors = 32;
// The admin socket and the probe shopper, in a process of their own after the shoppers'.
inline constexpr std::size_t kAdminConnections = 2;

struct Limits {
  std::uint64_t open_files = 0;         // RLIMIT_NOFILE hard limit
  std::uint64_t ports_per_address = 0;  // size of net.ipv4.ip_local_port_range
};

// The machine's limits; raises this process's soft open-files limit to the hard one.
Limits machine_limits();

struct RunPlan {
  std::vector<WorkerSlice> slices;
  std::size_t connections = 0;
  std::string error;  // why the run cannot fit, with what to change
};

RunPlan make_plan(const Options& options, const ShopperModel& model, const Limits& limits);

}  // namespace presence::sim
