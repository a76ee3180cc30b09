// The shoppers of one simulator process and their tabs (one WebSocket each): the ramp, joins,
// browsing and cart updates at the target rate, heartbeats, churn (leave and come back), the
// drain at the end, and the counters and latencies of all of it.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "options.hpp"
#include "rate_driver.hpp"
#include "shopper_model.hpp"
#include "token_minter.hpp"
#include "worker_report.hpp"
#include "ws_connection.hpp"

namespace presence::sim {

// Shoppers receive only replies; a larger message is a server bug, closed with 1009.
inline constexpr std::size_t kShopperMaxMessageBytes = 64 * 1024;
// Updates (and heartbeats) one tab may have waiting for their reply.
inline constexpr std::size_t kMaxInFlight = 8;

// The part of the run one process plays: a contiguous range of shoppers.
struct WorkerSlice {
  std::size_t index = 0;
  std::uint64_t first_shopper = 0;
  std::size_t shoppers = 0;
  std::size_t connections = 0;
  std::uint64_t first_connection = 0;  // global index of its first tab, to spread sources
  double share = 0;                    // of the run's connections, for rates
  bool runs_admin = false;
};

class ShopperFleet : public ConnectionEvents {
 public:
  ShopperFleet(const Options& options, const WorkerSlice& slice, const ShopperModel& model,
               const TokenMinter& minter, const std::string& run_id, int epoll_fd,
               std::uint64_t seed);

  std::size_t connection_count() const noexcept { return tabs_.size(); }
  void handle(std::size_t id, std::uint32_t epoll_events, std::span<std::uint8_t> scratch) {
    tabs_[id].conn.handle(epoll_events, scratch, *this);
  }
  void tick(std::int64_t now);
  void begin_drain(std::int64_t now);
  bool drained() const noexcept { return drain_ == Drain::done; }

  Progress progress();
  void fill(WorkerReport& report) const;

  void on_open(std::size_t id) override;
  void on_text(std::size_t id, std::string_view text) override;
  void on_end(std::size_t id, const std::string& reason) override;

 private:
  enum class TabStage : std::uint8_t { idle, joining, joined, leaving };
  enum class Pending : std::uint8_t { update, heartbeat };
  enum class Drain : std::uint8_t { running, acks, closes, done };

  struct InFlight {
    std::uint32_t ref = 0;
    Pending kind = Pending::update;
    std::int64_t sent_ns = 0;
  };

  struct Tab {
    explicit Tab(std::uint32_t owner) : conn(kShopperMaxMessageBytes), shopper(owner) {}
    WsConnection conn;
    std::uint32_t shopper;
    TabStage stage = TabStage::idle;
    bool initial = true;  // its first attempt: part of the ramp
    bool was_joined = false;
    std::uint32_t page = 0;
    std::uint32_t next_ref = 1;
    std::uint32_t join_ref = 0;
    std::uint32_t joined_slot = 0;  // its index in joined_ while joined
    std::int64_t started_ns = 0;
    std::int64_t deadline_ns = 0;  // joining: the timeout; leaving: when to stop waiting
    std::int64_t next_heartbeat_ns = 0;
    std::array<InFlight, kMaxInFlight> in_flight{};
    std::uint8_t in_flight_count = 0;
  };

  struct Shopper {
    std::string sub;
    std::string target;     // request path with vsn and token
    std::uint8_t node = 0;  // index of its endpoint in options.urls
    Cart cart;
    std::uint32_t first_tab = 0;
    std::uint8_t tabs = 1;
    std::uint8_t tabs_joined = 0;
    bool away = false;
    bool joined_once = false;
    std::int64_t return_ns = 0;
    std::int64_t retry_ns = 0;  // --reconnect: when its failed or dropped tabs try again
  };

  void ramp(std::int64_t now);
  void start_tab(std::uint32_t id, std::int64_t now);
  void send_updates(std::int64_t now);
  void churn(std::int64_t now);
  void scan_timers(std::int64_t now);
  void advance_drain(std::int64_t now);

  void fail(Tab& tab, std::string reason);
  void mark_joined(std::uint32_t id, std::int64_t now);
  void unmark_joined(Tab& tab);
  void on_reply(std::uint32_t id, std::uint32_t ref, bool ok, const std::string& reason);
  bool send(std::uint32_t id, std::string_view event, std::string_view topic,
            std::string_view payload, Pending kind, std::int64_t now);
  void forget_in_flight(Tab& tab);
  void resolve_initial(Tab& tab);
  void leave(Tab& tab, std::int64_t now, ws::CloseCode code);
  void schedule_retry(const Tab& tab);

  const Options& options_;
  WorkerSlice slice_;
  const ShopperModel& model_;
  Rng rng_;
  int epoll_fd_;
  std::vector<Shopper> shoppers_;
  std::vector<Tab> tabs_;
  std::vector<std::uint32_t> joined_;  // tabs joined now, for picking one at random

  std::int64_t start_ns_ = 0;
  std::uint32_t next_to_start_ = 0;
  std::size_t pending_ = 0;  // tabs between start and join (or failure)
  std::size_t initial_unresolved_;
  std::size_t online_ = 0;
  std::size_t in_flight_total_ = 0;
  std::size_t active_ = 0;  // tabs whose socket is open
  std::int64_t next_scan_ns_ = 0;
  RateDriver update_driver_;
  RateDriver churn_driver_;
  Drain drain_ = Drain::running;
  std::int64_t drain_acks_until_ns_ = 0;
  std::int64_t drain_until_ns_ = 0;

  WorkerReport counts_;
  LatencyHistogram interval_updates_;  // for the progress line
};

}  // namespace presence::sim
