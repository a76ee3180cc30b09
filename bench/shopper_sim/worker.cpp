#include "worker.hpp"

#include <sodium.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <memory>
#include <optional>
#include <vector>

#include "admin_watch.hpp"
#include "clock.hpp"

namespace presence::sim {
namespace {

constexpr int kMaxEpollEvents = 512;
constexpr std::size_t kReadScratchBytes = 256 * 1024;
// The loop wakes at least this often to run the ramp, rates and timers.
constexpr int kTickMs = 5;

bool write_line(int fd, const nlohmann::json& j) {
  std::string line = j.dump();
  line += '\n';
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

double seconds_of(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

}  // namespace

int run_worker(const WorkerContext& context, const volatile std::sig_atomic_t& stop_requested) {
  const Options& options = context.options;
  const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return 1;
  std::uint64_t seed = 0;
  randombytes_buf(&seed, sizeof seed);
  ShopperFleet fleet(options, context.slice, context.model, context.shopper_minter, context.run_id,
                     epoll_fd, seed);
  std::unique_ptr<AdminWatch> admin;
  if (context.admin_minter != nullptr) {
    admin = std::make_unique<AdminWatch>(options, *context.admin_minter, context.shopper_minter,
                                         context.run_id, epoll_fd, fleet.connection_count(),
                                         fleet.connection_count() + 1);
  }

  std::vector<std::uint8_t> scratch(kReadScratchBytes);
  std::array<epoll_event, kMaxEpollEvents> events{};
  const std::int64_t start = now_ns();
  const std::int64_t stop_at = start + seconds_to_ns(options.duration_s);
  const std::int64_t progress_every = seconds_to_ns(options.progress_interval_s);
  std::int64_t next_progress = start + progress_every;
  bool draining = false;

  for (;;) {
    const int n = epoll_wait(epoll_fd, events.data(), kMaxEpollEvents, kTickMs);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      const std::size_t id = events[i].data.u64;
      if (admin && admin->owns(id)) {
        admin->handle(id, events[i].events, scratch);
      } else {
        fleet.handle(id, events[i].events, scratch);
      }
    }
    const std::int64_t now = now_ns();
    if (!draining && (now >= stop_at || stop_requested != 0)) {
      draining = true;
      fleet.begin_drain(now);
      if (admin) admin->begin_drain(now);
    }
    fleet.tick(now);
    if (admin) admin->tick(now);
    if (now >= next_progress) {
      next_progress += progress_every;
      Progress p = fleet.progress();
      if (admin) {
        p.admin_p99_ms = admin->take_interval_p99_ms();
        p.admin_shoppers = admin->report().last_stats_shoppers;
      }
      write_line(context.report_fd, {{"progress", p.to_json()}});
    }
    if (draining && fleet.drained() && (!admin || admin->drained())) break;
  }
  ::close(epoll_fd);

  WorkerReport report;
  fleet.fill(report);
  if (admin) report.admin = admin->report();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  report.cpu_user_s = seconds_of(usage.ru_utime);
  report.cpu_system_s = seconds_of(usage.ru_stime);
  report.max_rss_kb = static_cast<std::uint64_t>(usage.ru_maxrss);
  return write_line(context.report_fd, {{"report", report.to_json()}}) ? 0 : 1;
}

}  // namespace presence::sim
