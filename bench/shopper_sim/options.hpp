// The simulator's command line: what to run, how hard, for how long. Every knob has a named
// bound; a value past it is refused with a message rather than clamped.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "loopback_address.hpp"
#include "presence/keyring.hpp"

namespace presence::sim {

inline constexpr std::size_t kMaxShoppers = 1'000'000;
inline constexpr std::size_t kMaxProcesses = 64;
inline constexpr double kMaxDurationS = 24 * 3600;
inline constexpr double kMaxDrainS = 60;
inline constexpr double kMaxRampPerS = 200'000;
inline constexpr double kMaxUpdateRate = 1'000'000;
inline constexpr double kMinHeartbeatS = 1;
inline constexpr double kMaxHeartbeatS = 300;
inline constexpr double kMaxTimeoutS = 120;
inline constexpr double kMaxAwayS = 3600;
inline constexpr double kMinProbeIntervalS = 0.01;
inline constexpr double kMaxProbeIntervalS = 60;
inline constexpr std::size_t kMaxPendingPerProcess = 20'000;
// Shopper endpoints one run may spread its shoppers over (--url repeated: cluster nodes).
inline constexpr std::size_t kMaxUrls = 16;
// Without --update-rate each shopper updates about once per this many seconds.
inline constexpr double kDefaultThinkTimeS = 20;

struct KeySpec {
  std::string path;
  jwt::Alg alg = jwt::Alg::hs256;
  std::string kid;
};

struct Options {
  Url url;                       // the first shopper endpoint: the probe shopper's node
  std::vector<Url> urls;         // every shopper endpoint; shopper i joins urls[i % size]
  std::optional<Url> admin_url;  // derived from url when admin_key is given
  std::optional<Url> metrics_url;
  std::vector<in_addr> source_addresses;
  KeySpec key;
  std::optional<KeySpec> admin_key;

  std::size_t shoppers = 100;
  std::size_t processes = 1;
  double ramp_per_s = 1000;  // connection attempts per second, all processes together
  double duration_s = 30;    // from the first attempt to the start of the drain
  double drain_s = 5;        // bounded wait for acknowledgements and close handshakes
  double update_rate = -1;   // per second once every tab joined; negative: kDefaultThinkTimeS each
  double tabs_fraction = 0.1;  // shoppers with 2 or 3 tabs
  double churn_per_min = 0;    // fraction of online shoppers leaving per minute
  double away_s = 10;          // mean time a leaving shopper stays away
  double heartbeat_s = 30;     // Phoenix's default heartbeat interval
  double timeout_s = 10;       // connect + handshake + join
  double probe_interval_s = 0.25;
  double progress_interval_s = 1;
  std::size_t max_pending = 2000;  // handshakes in flight per process
  pid_t nginx_pid = 0;
  std::string report_path;  // empty: stdout
  bool gentle = false;
  bool reconnect = false;  // failed or dropped tabs try again after about away_s

  double total_update_rate() const noexcept {
    return update_rate >= 0 ? update_rate : static_cast<double>(shoppers) / kDefaultThinkTimeS;
  }
};

struct OptionsResult {
  std::optional<Options> options;
  std::string error;  // empty with options, or when help was asked for
  bool help = false;
};

OptionsResult parse_options(int argc, const char* const* argv);
const char* usage() noexcept;

}  // namespace presence::sim
