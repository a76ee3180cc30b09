#include "nginx_usage.hpp"

#include <dirent.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "clock.hpp"

namespace presence::sim {
namespace {

constexpr int kMetricsTimeoutS = 2;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::uint64_t status_kb(const std::string& status, std::string_view field) {
  const std::size_t at = status.find(std::string(field) + ":");
  if (at == std::string::npos) return 0;
  std::size_t p = at + field.size() + 1;
  while (p < status.size() && (status[p] == ' ' || status[p] == '\t')) ++p;
  std::uint64_t kb = 0;
  std::from_chars(status.data() + p, status.data() + status.size(), kb);
  return kb;
}

// Fields of /proc/PID/stat after the command name, which may itself hold spaces and ')'.
std::vector<std::string_view> stat_fields(std::string_view stat) {
  std::vector<std::string_view> fields;
  const std::size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return fields;
  std::string_view rest = stat.substr(close + 1);
  while (!rest.empty()) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const std::size_t space = rest.find(' ');
    if (!rest.empty()) fields.push_back(rest.substr(0, space));
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space);
  }
  return fields;
}

std::uint64_t number(std::string_view s) {
  std::uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// After the ')': state is field 3 of stat, so index 0 here; ppid index 1, utime 11, stime 12.
constexpr std::size_t kPpidIndex = 1;
constexpr std::size_t kUtimeIndex = 11;
constexpr std::size_t kStimeIndex = 12;

std::optional<ProcessUsage> read_process(pid_t pid) {
  const std::string base = "/proc/" + std::to_string(pid);
  const std::string stat = read_file(base + "/stat");
  const std::vector<std::string_view> fields = stat_fields(stat);
  if (fields.size() <= kStimeIndex) return std::nullopt;
  const std::string status = read_file(base + "/status");
  ProcessUsage usage;
  usage.pid = pid;
  usage.vm_rss_kb = status_kb(status, "VmRSS");
  usage.rss_anon_kb = status_kb(status, "RssAnon");
  usage.rss_shmem_kb = status_kb(status, "RssShmem");
  usage.pss_kb = status_kb(read_file(base + "/smaps_rollup"), "Pss");
  usage.cpu_ticks = number(fields[kUtimeIndex]) + number(fields[kStimeIndex]);
  return usage;
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return children;
  while (const dirent* entry = readdir(proc)) {
    const std::string_view name = entry->d_name;
    pid_t pid = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec != std::errc() || end != name.data() + name.size()) continue;
    const std::string stat = read_file("/proc/" + std::string(name) + "/stat");
    const auto f = stat_fields(stat);
    if (f.size() > kPpidIndex && number(f[kPpidIndex]) == static_cast<std::uint64_t>(parent)) {
      children.push_back(pid);
    }
  }
  closedir(proc);
  return children;
}

std::optional<std::string> http_get(const Url& url, std::string& error) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = "metrics: socket failed";
    return std::nullopt;
  }
  timeval timeout{kMetricsTimeoutS, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&url.address), sizeof url.address) != 0) {
    ::close(fd);
    error = "metrics: connect failed";
    return std::nullopt;
  }
  const std::string request =
      "GET " + url.path + " HTTP/1.0\r\nHost: " + url.host + "\r\nConnection: close\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    error = "metrics: send failed";
    return std::nullopt;
  }
  std::string answer;
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    answer.append(buffer, static_cast<std::size_t>(n));
    if (answer.size() > kMaxMetricsBytes) break;
  }
  ::close(fd);
  if (!answer.starts_with("HTTP/1.1 200") && !answer.starts_with("HTTP/1.0 200")) {
    error = "metrics: no 200 answer";
    return std::nullopt;
  }
  const std::size_t body = answer.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : answer.substr(body + 4);
}

std::int64_t per_connection(std::int64_t grown_bytes, std::uint64_t connections) {
  if (connections == 0) return 0;
  return static_cast<std::int64_t>(
      std::llround(static_cast<double>(grown_bytes) / static_cast<double>(connections)));
}

}  // namespace

std::uint64_t NginxSample::sum(std::uint64_t ProcessUsage::*field) const noexcept {
  std::uint64_t total = 0;
  for (const ProcessUsage& p : processes) total += p.*field;
  return total;
}

std::uint64_t NginxSample::vm_rss_kb() const noexcept {
  return sum(&ProcessUsage::vm_rss_kb);
}
std::uint64_t NginxSample::rss_anon_kb() const noexcept {
  return sum(&ProcessUsage::rss_anon_kb);
}
std::uint64_t NginxSample::rss_shmem_kb() const noexcept {
  return sum(&ProcessUsage::rss_shmem_kb);
}
std::uint64_t NginxSample::pss_kb() const noexcept {
  return sum(&ProcessUsage::pss_kb);
}

double NginxSample::cpu_s() const noexcept {
  std::uint64_t ticks = 0;
  for (const ProcessUsage& p : processes) ticks += p.cpu_ticks;
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

nlohmann::json NginxSample::to_json() const {
  nlohmann::json j = {{"processes", processes.size()},
                      {"connections", connections},
                      {"vm_rss_kb", vm_rss_kb()},
                      {"rss_anon_kb", rss_anon_kb()},
                      {"rss_shmem_kb", rss_shmem_kb()},
                      {"pss_kb", pss_kb()},
                      {"cpu_s", cpu_s()},
                      {"zone_used_bytes", zone_used_bytes ? nlohmann::json(*zone_used_bytes)
                                                          : nlohmann::json(nullptr)}};
  if (!error.empty()) j["error"] = error;
  return j;
}

std::optional<std::uint64_t> prometheus_value(std::string_view page, std::string_view metric) {
  std::optional<std::uint64_t> total;
  while (!page.empty()) {
    const std::size_t eol = page.find('\n');
    std::string_view line = page.substr(0, eol);
    page = eol == std::string_view::npos ? std::string_view() : page.substr(eol + 1);
    if (!line.starts_with(metric) || line.size() == metric.size()) continue;
    const char next = line[metric.size()];
    if (next != ' ' && next != '{') continue;
    const std::size_t space = line.rfind(' ');
    const std::string_view value = line.substr(space + 1);
    double v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || !std::isfinite(v) || v < 0) continue;
    total = total.value_or(0) + static_cast<std::uint64_t>(v);
  }
  return total;
}

NginxSample sample_nginx(pid_t master, const std::optional<Url>& metrics) {
  NginxSample sample;
  sample.at_ns = now_ns();
  const std::optional<ProcessUsage> main = read_process(master);
  if (!main) {
    sample.error = "nginx master " + std::to_string(master) + " is not running";
    return sample;
  }
  sample.processes.push_back(*main);
  for (pid_t child : children_of(master)) {
    if (auto usage = read_process(child)) sample.processes.push_back(*usage);
  }
  if (metrics) {
    std::string error;
    if (const auto page = http_get(*metrics, error)) {
      sample.zone_used_bytes = prometheus_value(*page, kZoneUsedMetric);
      if (!sample.zone_used_bytes) sample.error = "metrics: no " + std::string(kZoneUsedMetric);
    } else {
      sample.error = error;
    }
  }
  return sample;
}

nlohmann::json nginx_report(pid_t master, const NginxSample& before, const NginxSample& at_peak,
                            const NginxSample& after, double wall_s) {
  const auto grown_kb = [&](std::uint64_t now_kb, std::uint64_t then_kb) {
    return (static_cast<std::int64_t>(now_kb) - static_cast<std::int64_t>(then_kb)) * 1024;
  };
  const std::int64_t rss_growth = grown_kb(at_peak.vm_rss_kb(), before.vm_rss_kb());
  const std::int64_t anon_growth = grown_kb(at_peak.rss_anon_kb(), before.rss_anon_kb());
  const std::int64_t pss_growth = grown_kb(at_peak.pss_kb(), before.pss_kb());
  std::optional<std::int64_t> zone_growth;
  if (at_peak.zone_used_bytes && before.zone_used_bytes) {
    zone_growth = static_cast<std::int64_t>(*at_peak.zone_used_bytes) -
                  static_cast<std::int64_t>(*before.zone_used_bytes);
  }
  const double cpu = after.cpu_s() - before.cpu_s();
  const std::uint64_t n = at_peak.connections;
  nlohmann::json per = {
      {"connections", n},
      {"vm_rss_growth_bytes", per_connection(rss_growth, n)},
      {"private_rss_growth_bytes", per_connection(anon_growth, n)},
      // Private pages plus the zone pages actually touched, each counted once: the figure the
      // 4 KB target is about.
      {"pss_growth_bytes", per_connection(pss_growth, n)},
      {"zone_growth_bytes",
       zone_growth ? nlohmann::json(per_connection(*zone_growth, n)) : nlohmann::json(nullptr)},
      // RssAnon leaves the zone out (it is shared memory); adding what the zone reports in use
      // counts each byte once, as far as the module's accounting goes.
      {"private_plus_zone_bytes", per_connection(anon_growth + zone_growth.value_or(0), n)}};
  return {{"pid", master},
          {"before", before.to_json()},
          {"at_peak", at_peak.to_json()},
          {"after", after.to_json()},
          {"per_connection", per},
          {"cpu_s", cpu},
          {"cpu_percent", wall_s > 0 ? 100.0 * cpu / wall_s : 0.0}};
}

}  // namespace presence::sim
