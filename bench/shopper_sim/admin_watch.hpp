// The admin's view of the run: an admin socket joined to admin:stats and admin:cart_tracker,
// counting what each topic costs it, and a probe shopper that moves to a page no one else visits
// so the time until admin:stats lists that page is the admin latency of a change.
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "options.hpp"
#include "token_minter.hpp"
#include "worker_report.hpp"
#include "ws_connection.hpp"

namespace presence::sim {

// presence_state for a million shoppers is tens of megabytes; anything above this is refused.
inline constexpr std::size_t kAdminMaxMessageBytes = 256 * 1024 * 1024;
// A probe change not seen in admin:stats within this long counts as lost.
inline constexpr double kProbeTimeoutS = 5;

class AdminWatch : public ConnectionEvents {
 public:
  // ids: the epoll ids of the admin socket and of the probe shopper.
  AdminWatch(const Options& options, const TokenMinter& admin_minter,
             const TokenMinter& shopper_minter, const std::string& run_id, int epoll_fd,
             std::size_t admin_id, std::size_t probe_id);

  bool owns(std::size_t id) const noexcept { return id == admin_id_ || id == probe_id_; }
  void handle(std::size_t id, std::uint32_t epoll_events, std::span<std::uint8_t> scratch);
  void tick(std::int64_t now);
  void begin_drain(std::int64_t now);
  bool drained() const noexcept { return !admin_.active() && !probe_.active(); }

  const AdminReport& report() const noexcept { return report_; }
  // p99 of the probe latencies since the last call, for the progress line.
  double take_interval_p99_ms();

  void on_open(std::size_t id) override;
  void on_text(std::size_t id, std::string_view text) override;
  void on_end(std::size_t id, const std::string& reason) override;

 private:
  void on_admin_text(std::string_view text);
  void on_stats(const nlohmann::json& payload, std::int64_t now);
  void send(WsConnection& conn, std::string_view join_ref, std::string_view topic,
            std::string_view event, std::string_view payload);
  std::string probe_page(std::uint64_t seq) const;

  const Options& options_;
  std::string run_id_;
  int epoll_fd_;
  std::size_t admin_id_;
  std::size_t probe_id_;
  WsConnection admin_;
  WsConnection probe_;
  std::string admin_target_;
  std::string probe_target_;
  std::string probe_topic_;
  std::uint64_t next_ref_ = 1;
  bool stats_joined_ = false;
  bool tracker_joined_ = false;
  bool probe_joined_ = false;
  bool draining_ = false;
  std::uint64_t probe_seq_ = 0;
  std::int64_t probe_sent_ns_ = 0;  // 0: no change waiting to be seen
  std::int64_t next_probe_ns_ = 0;
  std::int64_t next_heartbeat_ns_ = 0;
  std::int64_t drain_until_ns_ = 0;
  AdminReport report_;
  LatencyHistogram interval_;
};

}  // namespace presence::sim
