#include "orchestrator.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <vector>

#include "catalogue.hpp"
#include "clock.hpp"
#include "nginx_usage.hpp"
#include "report.hpp"
#include "run_plan.hpp"
#include "worker.hpp"

namespace presence::sim {
namespace {

// Past duration + drain, a worker gets this long (token minting, slow closes) before it is killed.
constexpr double kWorkerGraceS = 30;
constexpr int kPollMs = 100;
// nginx frees a closed connection's memory as it sees the close; give it a moment.
constexpr std::int64_t kSettleNs = 500 * kNsPerMs;
// A progress or report line is a few kilobytes; a longer one means a broken worker.
constexpr std::size_t kMaxLineBytes = 16 * 1024 * 1024;

volatile std::sig_atomic_t g_stop = 0;

void on_stop_signal(int) {
  g_stop = 1;
}

struct Worker {
  pid_t pid = -1;
  int fd = -1;
  std::string buffer;
  std::optional<Progress> progress;
  std::uint64_t rounds = 0;  // progress lines received
  std::optional<WorkerReport> report;
};

std::string random_run_id() {
  unsigned char raw[4];
  randombytes_buf(raw, sizeof raw);
  char hex[2 * sizeof raw + 1];
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  return hex;
}

double own_cpu_s() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Reads what a worker sent; false at end of file.
bool drain_pipe(Worker& w, std::vector<std::string>& errors) {
  char chunk[65536];
  const ssize_t n = ::read(w.fd, chunk, sizeof chunk);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  w.buffer.append(chunk, static_cast<std::size_t>(n));
  std::size_t eol;
  while ((eol = w.buffer.find('\n')) != std::string::npos) {
    const nlohmann::json line = nlohmann::json::parse(w.buffer.substr(0, eol), nullptr, false);
    w.buffer.erase(0, eol + 1);
    if (line.is_object() && line.contains("progress")) {
      w.progress = Progress::from_json(line["progress"]);
      ++w.rounds;
    } else if (line.is_object() && line.contains("report")) {
      w.report = WorkerReport::from_json(line["report"]);
      if (!w.report) errors.push_back("worker " + std::to_string(w.pid) + " sent a bad report");
    }
  }
  if (w.buffer.size() > kMaxLineBytes) {
    errors.push_back("worker " + std::to_string(w.pid) + " sent an overlong line");
    return false;
  }
  return true;
}

struct Tally {
  Progress sum;
  double admin_p99_ms = 0;
};

Tally tally(const std::vector<Worker>& workers) {
  Tally t;
  for (const Worker& w : workers) {
    if (!w.progress) continue;
    const Progress& p = *w.progress;
    t.sum.attempted += p.attempted;
    t.sum.joined += p.joined;
    t.sum.failed += p.failed;
    t.sum.dropped += p.dropped;
    t.sum.open += p.open;
    t.sum.online += p.online;
    t.sum.updates_sent += p.updates_sent;
    t.sum.updates_acked += p.updates_acked;
    t.sum.update_p99_ms = std::max(t.sum.update_p99_ms, p.update_p99_ms);
    t.sum.admin_shoppers += p.admin_shoppers;
    t.admin_p99_ms = std::max(t.admin_p99_ms, p.admin_p99_ms);
  }
  return t;
}

void print_progress(double t, const Tally& now, const Progress& before, double dt, bool admin,
                    const NginxSample* nginx) {
  const auto per_s = [&](std::uint64_t a, std::uint64_t b) {
    return dt > 0 ? static_cast<double>(a - b) / dt : 0.0;
  };
  std::fprintf(stderr,
               "[%6.1fs] attempted %llu joined %llu failed %llu dropped %llu | open %llu "
               "shoppers %llu | joins/s %.0f | updates/s %.0f acked/s %.0f p99 %.1fms",
               t, static_cast<unsigned long long>(now.sum.attempted),
               static_cast<unsigned long long>(now.sum.joined),
               static_cast<unsigned long long>(now.sum.failed),
               static_cast<unsigned long long>(now.sum.dropped),
               static_cast<unsigned long long>(now.sum.open),
               static_cast<unsigned long long>(now.sum.online),
               per_s(now.sum.joined, before.joined),
               per_s(now.sum.updates_sent, before.updates_sent),
               per_s(now.sum.updates_acked, before.updates_acked), now.sum.update_p99_ms);
  if (admin) {
    std::fprintf(stderr, " | admin stats.shoppers %llu p99 %.1fms",
                 static_cast<unsigned long long>(now.sum.admin_shoppers), now.admin_p99_ms);
  }
  if (nginx != nullptr && !nginx->processes.empty()) {
    std::fprintf(stderr, " | nginx rss %.1f MB", static_cast<double>(nginx->vm_rss_kb()) / 1024);
  }
  std::fputc('\n', stderr);
}

// Forks one worker per slice, each with its end of a pipe; stops forking at the first failure
// (the workers already started are told to stop through g_stop).
std::vector<Worker> fork_workers(const Options& options, const RunPlan& plan,
                                 const ShopperModel& model, const TokenMinter& shopper_minter,
                                 const TokenMinter* admin_minter, const std::string& run_id) {
  const pid_t parent = getpid();
  std::vector<Worker> workers(plan.slices.size());
  for (std::size_t i = 0; i < plan.slices.size(); ++i) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      std::perror("shopper-sim: pipe");
      g_stop = 1;
      break;
    }
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      ::close(fds[0]);
      for (std::size_t j = 0; j < i; ++j) ::close(workers[j].fd);
      // A worker never outlives the command that started it.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(1);
      const WorkerContext context{options,
                                  plan.slices[i],
                                  model,
                                  shopper_minter,
                                  plan.slices[i].runs_admin ? admin_minter : nullptr,
                                  run_id,
                                  fds[1]};
      _exit(run_worker(context, g_stop));
    }
    ::close(fds[1]);
    if (pid < 0) {
      std::perror("shopper-sim: fork");
      ::close(fds[0]);
      g_stop = 1;
      break;
    }
    workers[i].pid = pid;
    workers[i].fd = fds[0];
  }
  return workers;
}

// The parent while the workers run: reads their pipes, forwards a stop, enforces the deadline,
// prints the merged progress line and samples nginx, keeping the sample at the peak.
class Supervisor {
 public:
  Supervisor(const Options& options, std::size_t planned, std::int64_t start,
             const NginxSample& before)
      : options_(options),
        planned_(planned),
        start_(start),
        at_peak_(before),
        last_progress_(start) {}

  void run(std::vector<Worker>& workers) {
    const std::int64_t deadline =
        start_ + seconds_to_ns(options_.duration_s + options_.drain_s + kWorkerGraceS);
    for (;;) {
      std::vector<pollfd> polled;
      std::vector<Worker*> owners;
      for (Worker& w : workers) {
        if (w.fd < 0) continue;
        polled.push_back({w.fd, POLLIN, 0});
        owners.push_back(&w);
      }
      if (polled.empty()) return;
      const int ready = poll(polled.data(), polled.size(), kPollMs);
      for (std::size_t i = 0; ready > 0 && i < polled.size(); ++i) {
        if (polled[i].revents == 0) continue;
        if (!drain_pipe(*owners[i], seen.errors)) {
          ::close(owners[i]->fd);
          owners[i]->fd = -1;
        }
      }
      const std::int64_t now = now_ns();
      if (g_stop != 0 && !forwarded_) {
        forwarded_ = true;
        for (const Worker& w : workers) {
          if (w.pid > 0) kill(w.pid, SIGTERM);
        }
      }
      if (now >= deadline && !killed_) {
        killed_ = true;
        for (const Worker& w : workers) {
          if (w.pid <= 0 || w.fd < 0) continue;
          kill(w.pid, SIGKILL);
          seen.errors.push_back("worker " + std::to_string(w.pid) + " killed at the deadline");
        }
      }
      if (progress_due(workers, now)) on_progress(workers, now);
    }
  }

  RunObservations seen;
  const NginxSample& at_peak() const noexcept { return at_peak_; }

 private:
  // A line once every running worker has sent its next snapshot, so the rates compare like
  // with like; a worker that falls silent delays it by at most one more interval.
  bool progress_due(const std::vector<Worker>& workers, std::int64_t now) const {
    const std::int64_t every = seconds_to_ns(options_.progress_interval_s);
    bool all_reported = true;
    for (const Worker& w : workers) {
      all_reported = all_reported && (w.fd < 0 || w.rounds > printed_rounds_);
    }
    return (all_reported && now - last_progress_ >= every / 2) || now - last_progress_ >= 2 * every;
  }

  void on_progress(const std::vector<Worker>& workers, std::int64_t now) {
    ++printed_rounds_;
    const Tally t = tally(workers);
    const double dt = ns_to_seconds(now - last_progress_);
    if (dt > 0 && t.sum.joined >= previous_.joined) {
      seen.peak_join_rate =
          std::max(seen.peak_join_rate, static_cast<double>(t.sum.joined - previous_.joined) / dt);
    }
    std::optional<NginxSample> sample;
    if (options_.nginx_pid != 0) {
      sample = sample_nginx(options_.nginx_pid, options_.metrics_url);
      sample->connections = t.sum.open;
    }
    // The latest sample at the highest count: the most settled view of the plateau.
    if (t.sum.open >= seen.peak_connections && t.sum.open > 0) {
      seen.peak_connections = t.sum.open;
      if (sample) at_peak_ = *sample;
    }
    seen.peak_shoppers = std::max(seen.peak_shoppers, t.sum.online);
    note_steady_updates(t, ns_to_seconds(now - start_));
    print_progress(ns_to_seconds(now - start_), t, previous_, dt, options_.admin_key.has_value(),
                   sample ? &*sample : nullptr);
    previous_ = t.sum;
    last_progress_ = now;
  }

  // Updates acknowledged per second between the first progress line after the ramp (every
  // planned connection attempted and settled) and the last one before the drain: the rate the
  // run held, where updates.acked_per_s also counts the ramp's seconds.
  void note_steady_updates(const Tally& t, double at_s) {
    if (at_s > options_.duration_s) return;
    const bool ramped =
        t.sum.attempted >= planned_ && t.sum.joined + t.sum.failed >= t.sum.attempted;
    if (!steady_since_s_) {
      if (ramped) {
        steady_since_s_ = at_s;
        steady_acked_ = t.sum.updates_acked;
      }
      return;
    }
    seen.steady_s = at_s - *steady_since_s_;
    if (seen.steady_s > 0) {
      seen.steady_acked_per_s =
          static_cast<double>(t.sum.updates_acked - steady_acked_) / seen.steady_s;
    }
  }

  const Options& options_;
  std::size_t planned_;
  std::optional<double> steady_since_s_;
  std::uint64_t steady_acked_ = 0;
  std::int64_t start_;
  NginxSample at_peak_;
  std::int64_t last_progress_;
  std::uint64_t printed_rounds_ = 0;
  Progress previous_;
  bool forwarded_ = false;
  bool killed_ = false;
};

// Waits for every worker and adds up their reports; 1 when one was lost.
int collect(const std::vector<Worker>& workers, WorkerReport& merged,
            std::vector<std::string>& errors) {
  int status_code = 0;
  for (const Worker& w : workers) {
    if (w.pid <= 0) continue;
    int status = 0;
    waitpid(w.pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !w.report) {
      status_code = 1;
      errors.push_back("worker " + std::to_string(w.pid) + " ended without its report");
    }
    if (w.report) merged.merge(*w.report);
  }
  return status_code;
}

bool write_report(const Options& options, const nlohmann::json& report) {
  const std::string text = report.dump(2) + "\n";
  if (options.report_path.empty()) {
    std::cout << text << std::flush;
    return true;
  }
  std::ofstream out(options.report_path);
  out << text;
  if (!out) std::cerr << "shopper-sim: cannot write " << options.report_path << "\n";
  return static_cast<bool>(out);
}

}  // namespace

int run_simulation(const Options& options) {
  if (sodium_init() < 0) {
    std::cerr << "shopper-sim: libsodium failed to initialise\n";
    return 2;
  }
  TokenMinter shopper_minter;
  if (std::string error = shopper_minter.load(options.key); !error.empty()) {
    std::cerr << "shopper-sim: --key: " << error << "\n";
    return 2;
  }
  std::optional<TokenMinter> admin_minter;
  if (options.admin_key) {
    admin_minter.emplace();
    if (std::string error = admin_minter->load(*options.admin_key); !error.empty()) {
      std::cerr << "shopper-sim: --admin-key: " << error << "\n";
      return 2;
    }
  }
  const Catalogue catalogue;
  const ShopperModel model(catalogue, options.tabs_fraction);
  const RunPlan plan = make_plan(options, model, machine_limits());
  if (!plan.error.empty()) {
    std::cerr << "shopper-sim: refusing the plan: " << plan.error << "\n";
    return 2;
  }
  NginxSample before;
  if (options.nginx_pid != 0) {
    before = sample_nginx(options.nginx_pid, options.metrics_url);
    if (before.processes.empty()) {
      std::cerr << "shopper-sim: --nginx-pid: " << before.error << "\n";
      return 2;
    }
  }

  struct sigaction stop {};
  stop.sa_handler = on_stop_signal;
  sigaction(SIGINT, &stop, nullptr);
  sigaction(SIGTERM, &stop, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  const std::string run_id = random_run_id();
  const std::int64_t start = now_ns();
  std::vector<Worker> workers = fork_workers(options, plan, model, shopper_minter,
                                             admin_minter ? &*admin_minter : nullptr, run_id);
  Supervisor supervisor(options, plan.connections, start, before);
  supervisor.seen.run_id = run_id;
  supervisor.run(workers);
  RunObservations& seen = supervisor.seen;

  WorkerReport merged;
  const int status_code = collect(workers, merged, seen.errors);
  seen.wall_s = ns_to_seconds(now_ns() - start);
  seen.sim_parent_cpu_s = own_cpu_s();
  if (options.nginx_pid != 0) {
    const timespec settle{0, kSettleNs};
    nanosleep(&settle, nullptr);
    const NginxSample after = sample_nginx(options.nginx_pid, options.metrics_url);
    seen.nginx = nginx_report(options.nginx_pid, before, supervisor.at_peak(), after, seen.wall_s);
  }
  if (!write_report(options, build_report(options, plan, merged, seen))) return 1;
  return status_code;
}

}  // namespace presence::sim
