#include "options.hpp"

#include <charconv>
#include <cmath>
#include <string_view>

namespace presence::sim {
namespace {

// --gentle: a few hundred shoppers strolling for hours, so a demo dashboard is alive.
constexpr double kGentleRampPerS = 20;
constexpr double kGentleDurationS = 4 * 3600;
constexpr double kGentleThinkTimeS = 10;
constexpr double kGentleTabsFraction = 0.2;
constexpr double kGentleChurnPerMin = 0.2;
constexpr double kGentleAwayS = 20;
constexpr double kGentleProgressIntervalS = 60;

constexpr const char* kUsage =
    R"(usage: shopper-sim --url ws://127.0.0.1:PORT/socket/websocket --key FILE [options]

Simulates shoppers of a sneaker launch against the presence shopper endpoint and prints a
progress line every second (stderr) and a JSON report at the end (stdout or --report).

target and tokens
  --url URL              shopper endpoint (loopback only); repeat it (at most 16) to spread
                         shoppers over several nodes, round robin; the probe joins the first
  --key FILE             key that signs shopper tokens; --alg hs256|eddsa (hs256); --kid KID
  --source-ips RANGE     source addresses, e.g. 127.0.0.2-127.0.0.9 (127.0.0.1)
load (bounded)
  --shoppers N           shoppers (100; at most 1000000)
  --processes P          shopper processes, each under the open-files limit (1); the admin
                         (--admin-key) runs in one more, of its own
  --ramp R[/s]           connection attempts per second, all processes (1000)
  --duration S           seconds from the first attempt to the drain (30)
  --drain S              seconds allowed for acknowledgements and closes at the end (5)
  --update-rate U        update events per second once all have joined (shoppers/20)
  --tabs-fraction F      fraction of shoppers with 2 or 3 tabs (0.1)
  --churn F              fraction of online shoppers leaving per minute (0)
  --away S               mean seconds a leaving shopper stays away (10)
  --heartbeat S          Phoenix heartbeat interval (30)
  --timeout S            connect + handshake + join timeout (10)
  --max-pending N        handshakes in flight per process (2000)
  --reconnect            failed or dropped tabs try again after about --away seconds
  --gentle               demo mode: ramp 20/s, 4 h, an update per shopper per 10 s,
                         20% tabs, churn 0.2/min, --reconnect, a progress line a minute
admin latency
  --admin-key FILE       admin key; --admin-alg hs256|eddsa (eddsa); --admin-kid KID
  --admin-url URL        admin endpoint (the --url host with /admin_socket/websocket)
  --probe-interval S     seconds between probe page changes (0.25)
nginx usage
  --nginx-pid PID        master pid: RSS and CPU of it and its workers
  --metrics-url URL      http://127.0.0.1:PORT/metrics for presence_zone_used_bytes
output
  --report FILE          JSON report to FILE instead of stdout
  --progress-interval S  seconds between progress lines (1)
)";

struct Parser {
  Options& opt;
  std::string error;
  std::string admin_url_text;
  std::string metrics_url_text;
  std::string source_text = "127.0.0.1";
  bool update_rate_set = false;

  bool number(std::string_view name, std::string_view text, double low, double high, double& out) {
    if (name == "--ramp" && text.ends_with("/s")) text.remove_suffix(2);
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
      error = std::string(name) + ": not a number: \"" + std::string(text) + "\"";
      return false;
    }
    if (value < low || value > high) {
      error = std::string(name) + " " + std::string(text) + " is outside [" + fmt(low) + ", " +
              fmt(high) + "]";
      return false;
    }
    out = value;
    return true;
  }

  bool count(std::string_view name, std::string_view text, std::size_t low, std::size_t high,
             std::size_t& out) {
    std::size_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
      error = std::string(name) + ": not a whole number: \"" + std::string(text) + "\"";
      return false;
    }
    if (value < low || value > high) {
      error = std::string(name) + " " + std::string(text) + " is outside [" + std::to_string(low) +
              ", " + std::to_string(high) + "]";
      return false;
    }
    out = value;
    return true;
  }

  bool alg(std::string_view name, std::string_view text, jwt::Alg& out) {
    const auto parsed = jwt::alg_from_config(text);
    if (!parsed) {
      error = std::string(name) + ": expected hs256 or eddsa, not \"" + std::string(text) + "\"";
      return false;
    }
    out = *parsed;
    return true;
  }

  static std::string fmt(double v) {
    std::string s = std::to_string(v);
    while (s.ends_with('0')) s.pop_back();
    if (s.ends_with('.')) s.pop_back();
    return s;
  }

  KeySpec& admin() {
    if (!opt.admin_key) opt.admin_key = KeySpec{"", jwt::Alg::eddsa, ""};
    return *opt.admin_key;
  }

  bool apply(std::string_view name, std::string_view v) {
    std::size_t pid = 0;
    if (name == "--url") {
      UrlResult r = parse_url(v, "ws");
      if (!r.url) return fail("--url: " + r.error);
      if (opt.urls.size() == kMaxUrls) return fail("--url: more than 16 endpoints");
      opt.urls.push_back(std::move(*r.url));
      opt.url = opt.urls.front();
      return true;
    }
    if (name == "--admin-url") return (admin_url_text = v, true);
    if (name == "--metrics-url") return (metrics_url_text = v, true);
    if (name == "--source-ips") return (source_text = v, true);
    if (name == "--key") return (opt.key.path = v, true);
    if (name == "--alg") return alg(name, v, opt.key.alg);
    if (name == "--kid") return (opt.key.kid = v, true);
    if (name == "--admin-key") return (admin().path = v, true);
    if (name == "--admin-alg") return alg(name, v, admin().alg);
    if (name == "--admin-kid") return (admin().kid = v, true);
    if (name == "--shoppers") return count(name, v, 1, kMaxShoppers, opt.shoppers);
    if (name == "--processes") return count(name, v, 1, kMaxProcesses, opt.processes);
    if (name == "--max-pending") return count(name, v, 1, kMaxPendingPerProcess, opt.max_pending);
    if (name == "--ramp") return number(name, v, 1, kMaxRampPerS, opt.ramp_per_s);
    if (name == "--duration") return number(name, v, 1, kMaxDurationS, opt.duration_s);
    if (name == "--drain") return number(name, v, 0, kMaxDrainS, opt.drain_s);
    if (name == "--update-rate") {
      update_rate_set = true;
      return number(name, v, 0, kMaxUpdateRate, opt.update_rate);
    }
    if (name == "--tabs-fraction") return number(name, v, 0, 1, opt.tabs_fraction);
    if (name == "--churn") return number(name, v, 0, 1, opt.churn_per_min);
    if (name == "--away") return number(name, v, 0, kMaxAwayS, opt.away_s);
    if (name == "--heartbeat")
      return number(name, v, kMinHeartbeatS, kMaxHeartbeatS, opt.heartbeat_s);
    if (name == "--timeout") return number(name, v, 0.1, kMaxTimeoutS, opt.timeout_s);
    if (name == "--probe-interval") {
      return number(name, v, kMinProbeIntervalS, kMaxProbeIntervalS, opt.probe_interval_s);
    }
    if (name == "--progress-interval") {
      return number(name, v, 0.1, kMaxDurationS, opt.progress_interval_s);
    }
    if (name == "--nginx-pid") {
      if (!count(name, v, 1, 1u << 22, pid)) return false;
      opt.nginx_pid = static_cast<pid_t>(pid);
      return true;
    }
    if (name == "--report") return (opt.report_path = v, true);
    return fail("unknown option " + std::string(name));
  }

  bool fail(std::string why) {
    error = std::move(why);
    return false;
  }

  void gentle_defaults() {
    opt.gentle = true;
    opt.shoppers = 300;
    opt.ramp_per_s = kGentleRampPerS;
    opt.duration_s = kGentleDurationS;
    opt.tabs_fraction = kGentleTabsFraction;
    opt.churn_per_min = kGentleChurnPerMin;
    opt.away_s = kGentleAwayS;
    opt.progress_interval_s = kGentleProgressIntervalS;
    opt.reconnect = true;  // a reload or restart of nginx must not leave the demo empty
  }

  bool finish() {
    if (opt.url.port == 0) return fail("--url is required");
    if (opt.key.path.empty()) return fail("--key is required (it signs the shopper tokens)");
    if (opt.gentle && !update_rate_set) {
      opt.update_rate = static_cast<double>(opt.shoppers) / kGentleThinkTimeS;
    }
    SourceAddresses sources = parse_source_addresses(source_text);
    if (!sources.error.empty()) return fail("--source-ips: " + sources.error);
    opt.source_addresses = std::move(sources.addresses);
    if (opt.admin_key) {
      if (opt.admin_key->path.empty()) return fail("--admin-alg/--admin-kid need --admin-key");
      std::string text = admin_url_text;
      if (text.empty()) text = "ws://" + opt.url.host + "/admin_socket/websocket";
      UrlResult r = parse_url(text, "ws");
      if (!r.url) return fail("--admin-url: " + r.error);
      opt.admin_url = std::move(r.url);
    } else if (!admin_url_text.empty()) {
      return fail("--admin-url needs --admin-key");
    }
    if (!metrics_url_text.empty()) {
      UrlResult r = parse_url(metrics_url_text, "http");
      if (!r.url) return fail("--metrics-url: " + r.error);
      opt.metrics_url = std::move(r.url);
    }
    return true;
  }
};

}  // namespace

const char* usage() noexcept {
  return kUsage;
}

OptionsResult parse_options(int argc, const char* const* argv) {
  OptionsResult result;
  Options opt;
  Parser parser{opt, {}, {}, {}, "127.0.0.1", false};
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      result.help = true;
      return result;
    }
    if (arg == "--reconnect") {
      opt.reconnect = true;
      continue;
    }
    if (arg == "--gentle") {
      parser.gentle_defaults();  // first, so explicit options given anywhere override it
      continue;
    }
    if (!arg.starts_with("--")) {
      result.error = "unexpected argument \"" + std::string(arg) + "\"";
      return result;
    }
    const std::size_t eq = arg.find('=');
    if (eq != std::string_view::npos) {
      pairs.emplace_back(arg.substr(0, eq), arg.substr(eq + 1));
    } else if (i + 1 < argc) {
      pairs.emplace_back(arg, argv[++i]);
    } else {
      result.error = std::string(arg) + " needs a value";
      return result;
    }
  }
  for (const auto& [name, value] : pairs) {
    if (!parser.apply(name, value)) {
      result.error = parser.error;
      return result;
    }
  }
  if (!parser.finish()) {
    result.error = parser.error;
    return result;
  }
  result.options = std::move(opt);
  return result;
}

}  // namespace presence::sim
