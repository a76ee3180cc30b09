#include "run_plan.hpp"

#include <sys/resource.h>

#include <fstream>

namespace presence::sim {

Limits machine_limits() {
  Limits limits;
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
    limits.open_files = files.rlim_max;
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  std::uint64_t low = 0;
  std::uint64_t high = 0;
  if (range >> low >> high && high >= low) limits.ports_per_address = high - low + 1;
  return limits;
}

RunPlan make_plan(const Options& options, const ShopperModel& model, const Limits& limits) {
  RunPlan plan;
  const std::size_t processes = options.processes;
  std::uint64_t first = 0;
  std::size_t largest = 0;
  for (std::size_t p = 0; p < processes; ++p) {
    WorkerSlice slice;
    slice.index = p;
    slice.first_shopper = first;
    slice.shoppers = options.shoppers / processes + (p < options.shoppers % processes ? 1 : 0);
    slice.first_connection = plan.connections;
    for (std::uint64_t s = first; s < first + slice.shoppers; ++s) {
      slice.connections += model.tabs_of(s);
    }
    first += slice.shoppers;
    plan.connections += slice.connections;
    largest = std::max(largest, slice.connections);
    plan.slices.push_back(slice);
  }
  for (WorkerSlice& slice : plan.slices) {
    slice.share = static_cast<double>(slice.connections) / static_cast<double>(plan.connections);
  }
  if (options.admin_key) {
    // The admin and its probe shopper get a process of their own, as a dashboard is a client
    // of its own: the latency it measures is nginx's, not that of a generator loop busy with
    // thousands of shoppers (and parsing megabytes of presence_diff is not charged to them).
    WorkerSlice admin;
    admin.index = processes;
    admin.first_shopper = first;
    admin.first_connection = plan.connections;
    admin.runs_admin = true;
    plan.slices.push_back(admin);
  }

  const std::uint64_t needed = largest + kReservedDescriptors;
  if (limits.open_files != 0 && needed > limits.open_files) {
    const std::uint64_t per_process = limits.open_files - kReservedDescriptors - kAdminConnections;
    const std::uint64_t want = (plan.connections + per_process - 1) / per_process;
    plan.error = "a worker would hold " + std::to_string(largest) +
                 " sockets, above the open-files hard limit of " +
                 std::to_string(limits.open_files) + " (with " +
                 std::to_string(kReservedDescriptors) + " kept for other files): use --processes " +
                 std::to_string(want) + " or more";
    return plan;
  }
  const std::uint64_t total = plan.connections + (options.admin_key ? kAdminConnections : 0);
  const std::uint64_t addresses = options.source_addresses.size();
  if (limits.ports_per_address != 0 && total > addresses * limits.ports_per_address) {
    const std::uint64_t want = (total + limits.ports_per_address - 1) / limits.ports_per_address;
    plan.error = std::to_string(total) + " connections need " + std::to_string(want) +
                 " source addresses (" + std::to_string(limits.ports_per_address) +
                 " ephemeral ports each), --source-ips gives " + std::to_string(addresses) +
                 ": e.g. --source-ips 127.0.0.2-127.0.0." + std::to_string(1 + want);
    return plan;
  }
  return plan;
}

}  // namespace presence::sim
