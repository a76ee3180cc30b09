#include "shopper_fleet.hpp"

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include "clock.hpp"
#include "presence/phoenix_message.hpp"

namespace presence::sim {
namespace {

// Timers (heartbeats, timeouts, returns) are checked this often; latencies are measured on
// events, not on this tick.
constexpr std::int64_t kScanIntervalNs = 50 * kNsPerMs;
// A stalled rate driver owes at most this much work, so a hiccup is not followed by a burst.
constexpr double kMaxBurstS = 0.25;
// Tokens outlive the run by this much, so a slow drain never meets an expired token.
constexpr std::int64_t kTokenSlackS = 600;

std::string_view reply_reason(const nlohmann::json& payload) {
  const auto response = payload.find("response");
  if (response == payload.end() || !response->is_object()) return "unknown";
  const auto reason = response->find("reason");
  if (reason == response->end() || !reason->is_string()) return "unknown";
  return reason->get_ref<const std::string&>();
}

}  // namespace

ShopperFleet::ShopperFleet(const Options& options, const WorkerSlice& slice,
                           const ShopperModel& model, const TokenMinter& minter,
                           const std::string& run_id, int epoll_fd, std::uint64_t seed)
    : options_(options),
      slice_(slice),
      model_(model),
      rng_(seed),
      epoll_fd_(epoll_fd),
      initial_unresolved_(slice.connections),
      update_driver_(kMaxBurstS),
      churn_driver_(kMaxBurstS) {
  const std::int64_t exp = static_cast<std::int64_t>(std::time(nullptr)) +
                           static_cast<std::int64_t>(options.duration_s + options.drain_s) +
                           kTokenSlackS;
  shoppers_.reserve(slice.shoppers);
  tabs_.reserve(slice.connections);
  for (std::size_t i = 0; i < slice.shoppers; ++i) {
    const std::uint64_t global = slice.first_shopper + i;
    Shopper s;
    s.sub = "cart-" + run_id + "-" + std::to_string(global);
    const std::optional<std::string> token = minter.mint(s.sub, "shopper", exp);
    s.node = static_cast<std::uint8_t>(global % options.urls.size());
    const Url& url = options.urls[s.node];
    s.target = url.path + (url.path.find('?') == std::string::npos ? "?" : "&") +
               "vsn=2.0.0&token=" + token.value_or("");
    s.first_tab = static_cast<std::uint32_t>(tabs_.size());
    s.tabs = static_cast<std::uint8_t>(model.tabs_of(global));
    for (std::size_t t = 0; t < s.tabs; ++t) {
      tabs_.emplace_back(static_cast<std::uint32_t>(i));
      tabs_.back().page = static_cast<std::uint32_t>(model.landing_page(rng_));
    }
    if (s.tabs > 1) ++counts_.shoppers_with_tabs;
    shoppers_.push_back(std::move(s));
  }
  counts_.shoppers = slice.shoppers;
  counts_.planned_connections = tabs_.size();
  joined_.reserve(tabs_.size());
  start_ns_ = now_ns();
}

void ShopperFleet::tick(std::int64_t now) {
  if (drain_ != Drain::running) {
    advance_drain(now);
    return;
  }
  ramp(now);
  send_updates(now);
  churn(now);
  if (now >= next_scan_ns_) {
    scan_timers(now);
    next_scan_ns_ = now + kScanIntervalNs;
  }
}

void ShopperFleet::ramp(std::int64_t now) {
  const double rate = options_.ramp_per_s * slice_.share;
  const auto due = static_cast<std::size_t>(rate * ns_to_seconds(now - start_ns_)) + 1;
  while (next_to_start_ < tabs_.size() && next_to_start_ < due && pending_ < options_.max_pending) {
    start_tab(next_to_start_++, now);
  }
}

void ShopperFleet::start_tab(std::uint32_t id, std::int64_t now) {
  Tab& tab = tabs_[id];
  const Shopper& shopper = shoppers_[tab.shopper];
  const in_addr& source =
      options_.source_addresses[(slice_.first_connection + id) % options_.source_addresses.size()];
  if (counts_.first_attempt_ns == 0) counts_.first_attempt_ns = now;
  ++counts_.attempted;
  tab.started_ns = now;
  tab.deadline_ns = now + seconds_to_ns(options_.timeout_s);
  tab.next_ref = 1;
  tab.was_joined = false;
  const std::string error =
      tab.conn.start(epoll_fd_, id, source, options_.urls[shopper.node], shopper.target);
  if (!error.empty()) {
    fail(tab, error);
    return;
  }
  tab.stage = TabStage::joining;
  ++pending_;
  ++active_;
}

void ShopperFleet::fail(Tab& tab, std::string reason) {
  ++counts_.failed;
  ++counts_.failed_by_reason[std::move(reason)];
  resolve_initial(tab);
  schedule_retry(tab);
}

void ShopperFleet::schedule_retry(const Tab& tab) {
  if (!options_.reconnect || drain_ != Drain::running) return;
  Shopper& shopper = shoppers_[tab.shopper];
  if (shopper.retry_ns != 0) return;
  const double wait = std::uniform_real_distribution<double>(0.5, 1.5)(rng_);
  shopper.retry_ns = now_ns() + seconds_to_ns(std::max(options_.away_s, 1.0) * wait);
}

void ShopperFleet::resolve_initial(Tab& tab) {
  if (!tab.initial) return;
  tab.initial = false;
  if (--initial_unresolved_ == 0) counts_.ramp_done_ns = now_ns();
}

void ShopperFleet::on_open(std::size_t id) {
  Tab& tab = tabs_[id];
  const Shopper& shopper = shoppers_[tab.shopper];
  tab.join_ref = tab.next_ref;
  send(static_cast<std::uint32_t>(id), "phx_join", "cart:" + shopper.sub,
       model_.join_payload(shopper.cart, tab.page), Pending::update, now_ns());
}

bool ShopperFleet::send(std::uint32_t id, std::string_view event, std::string_view topic,
                        std::string_view payload, Pending kind, std::int64_t now) {
  Tab& tab = tabs_[id];
  const std::uint32_t ref = tab.next_ref++;
  std::string text = "[";
  text += topic == "phoenix" ? "null" : "\"" + std::to_string(tab.join_ref) + "\"";
  text += ",\"" + std::to_string(ref) + "\",";
  phoenix::append_json_string(text, topic);
  text += ',';
  phoenix::append_json_string(text, event);
  text += ',';
  text += payload;
  text += ']';
  const bool is_join = ref == tab.join_ref;
  if (!is_join) {
    if (tab.in_flight_count == kMaxInFlight) return false;
    tab.in_flight[tab.in_flight_count++] = InFlight{ref, kind, now};
    ++in_flight_total_;
  }
  return tab.conn.send_text(text, *this);
}

void ShopperFleet::on_text(std::size_t id, std::string_view text) {
  Result<phoenix::Message> parsed = phoenix::parse_message(text);
  Tab& tab = tabs_[id];
  if (!parsed) {
    // Not a V2 message: the server is broken for this tab, which gives up on it.
    const std::string reason = "sim:unparsable_message";
    if (tab.stage == TabStage::joining) {
      --pending_;
      fail(tab, reason);
    } else if (tab.stage == TabStage::joined) {
      ++counts_.dropped;
      ++counts_.dropped_by_reason[reason];
      schedule_retry(tab);
    }
    leave(tab, now_ns(), ws::CloseCode::protocol_error);
    return;
  }
  const phoenix::Message& msg = *parsed;
  if (msg.event == phoenix::kReplyEvent) {
    std::uint32_t ref = 0;
    if (msg.ref) ref = static_cast<std::uint32_t>(std::strtoul(msg.ref->c_str(), nullptr, 10));
    const auto status = msg.payload.find("status");
    const bool ok = status != msg.payload.end() && *status == "ok";
    on_reply(static_cast<std::uint32_t>(id), ref, ok,
             ok ? "" : std::string(reply_reason(msg.payload)));
    return;
  }
  if ((msg.event == "phx_error" || msg.event == "phx_close") && tab.stage == TabStage::joined) {
    // The server dropped the channel: the tab is no longer present, so it leaves for good.
    ++counts_.dropped;
    ++counts_.dropped_by_reason["channel:" + msg.event];
    schedule_retry(tab);
    leave(tab, now_ns(), ws::CloseCode::normal);
  }
}

void ShopperFleet::on_reply(std::uint32_t id, std::uint32_t ref, bool ok,
                            const std::string& reason) {
  Tab& tab = tabs_[id];
  const std::int64_t now = now_ns();
  if (tab.stage == TabStage::joining && ref == tab.join_ref) {
    if (ok) {
      mark_joined(id, now);
    } else {
      --pending_;
      fail(tab, "join:" + reason);
      leave(tab, now, ws::CloseCode::normal);
    }
    return;
  }
  for (std::size_t i = 0; i < tab.in_flight_count; ++i) {
    const InFlight sent = tab.in_flight[i];
    if (sent.ref != ref) continue;
    tab.in_flight[i] = tab.in_flight[--tab.in_flight_count];
    --in_flight_total_;
    const std::int64_t latency = now - sent.sent_ns;
    if (sent.kind == Pending::heartbeat) {
      ++counts_.heartbeats_acked;
      counts_.heartbeat_latency.record(latency);
    } else if (ok) {
      ++counts_.updates_acked;
      counts_.update_latency.record(latency);
      interval_updates_.record(latency);
    } else {
      ++counts_.updates_refused;
      ++counts_.update_errors[reason];
    }
    return;
  }
}

void ShopperFleet::mark_joined(std::uint32_t id, std::int64_t now) {
  Tab& tab = tabs_[id];
  Shopper& shopper = shoppers_[tab.shopper];
  --pending_;
  ++counts_.joined;
  if (tab.initial) ++counts_.initial_joined;
  resolve_initial(tab);
  counts_.join_latency.record(now - tab.started_ns);
  tab.stage = TabStage::joined;
  tab.was_joined = true;
  tab.joined_slot = static_cast<std::uint32_t>(joined_.size());
  joined_.push_back(id);
  // The first heartbeat falls anywhere in the interval, so heartbeats do not come in waves.
  const double phase = std::uniform_real_distribution<double>(0, 1)(rng_);
  tab.next_heartbeat_ns = now + seconds_to_ns(options_.heartbeat_s * phase);
  if (shopper.tabs_joined++ == 0) ++online_;
  if (!shopper.joined_once) {
    shopper.joined_once = true;
    ++counts_.shoppers_joined_once;
  }
  if (shopper.away) {
    shopper.away = false;
    ++counts_.returned;
  }
}

void ShopperFleet::unmark_joined(Tab& tab) {
  if (tab.stage != TabStage::joined) return;
  const std::uint32_t last = joined_.back();
  joined_[tab.joined_slot] = last;
  tabs_[last].joined_slot = tab.joined_slot;
  joined_.pop_back();
  Shopper& shopper = shoppers_[tab.shopper];
  if (--shopper.tabs_joined == 0) --online_;
}

void ShopperFleet::forget_in_flight(Tab& tab) {
  for (std::size_t i = 0; i < tab.in_flight_count; ++i) {
    if (tab.in_flight[i].kind == Pending::update) ++counts_.updates_unacked;
  }
  in_flight_total_ -= tab.in_flight_count;
  tab.in_flight_count = 0;
}

void ShopperFleet::leave(Tab& tab, std::int64_t now, ws::CloseCode code) {
  unmark_joined(tab);
  tab.stage = TabStage::leaving;
  tab.deadline_ns = now + seconds_to_ns(std::max(options_.drain_s, 1.0));
  tab.conn.close(code, *this);
}

void ShopperFleet::on_end(std::size_t id, const std::string& reason) {
  Tab& tab = tabs_[id];
  --active_;
  forget_in_flight(tab);
  switch (tab.stage) {
    case TabStage::joining:
      --pending_;
      fail(tab, reason);
      break;
    case TabStage::joined:
      unmark_joined(tab);
      ++counts_.dropped;
      ++counts_.dropped_by_reason[reason];
      schedule_retry(tab);
      break;
    case TabStage::leaving:
      if (tab.was_joined) ++counts_.closed_by_sim;
      break;
    case TabStage::idle:
      break;
  }
  tab.stage = TabStage::idle;
}

void ShopperFleet::send_updates(std::int64_t now) {
  // The target is for every tab joined; while the ramp runs, each joined tab updates at its
  // share of it, so the first shoppers in are not flooded with the whole rate.
  const double joined_fraction = static_cast<double>(joined_.size()) /
                                 static_cast<double>(std::max<std::size_t>(1, tabs_.size()));
  const double rate = options_.total_update_rate() * slice_.share * joined_fraction;
  for (std::uint64_t n = update_driver_.take(now, rate); n > 0 && !joined_.empty(); --n) {
    const std::uint32_t id =
        joined_[std::uniform_int_distribution<std::size_t>(0, joined_.size() - 1)(rng_)];
    Tab& tab = tabs_[id];
    if (tab.in_flight_count == kMaxInFlight) {
      ++counts_.updates_skipped;
      continue;
    }
    Shopper& shopper = shoppers_[tab.shopper];
    std::size_t page = tab.page;
    const std::string payload = model_.next_update(rng_, shopper.cart, page);
    tab.page = static_cast<std::uint32_t>(page);
    ++counts_.updates_sent;
    send(id, "update", "cart:" + shopper.sub, payload, Pending::update, now);
  }
}

void ShopperFleet::churn(std::int64_t now) {
  const double rate = options_.churn_per_min / 60.0 * static_cast<double>(online_);
  for (std::uint64_t n = churn_driver_.take(now, rate); n > 0 && !joined_.empty(); --n) {
    const std::uint32_t id =
        joined_[std::uniform_int_distribution<std::size_t>(0, joined_.size() - 1)(rng_)];
    Shopper& shopper = shoppers_[tabs_[id].shopper];
    // Only a shopper whose every tab is up leaves, so a visit is never cut short mid-join.
    if (shopper.tabs_joined != shopper.tabs) continue;
    for (std::uint32_t t = shopper.first_tab; t < shopper.first_tab + shopper.tabs; ++t) {
      leave(tabs_[t], now, ws::CloseCode::going_away);
    }
    shopper.away = true;
    const double stay = std::uniform_real_distribution<double>(0.5, 1.5)(rng_);
    shopper.return_ns = now + seconds_to_ns(options_.away_s * stay);
    ++counts_.left;
  }
}

void ShopperFleet::scan_timers(std::int64_t now) {
  const std::int64_t ack_timeout = seconds_to_ns(options_.timeout_s);
  for (std::uint32_t id = 0; id < next_to_start_; ++id) {
    Tab& tab = tabs_[id];
    switch (tab.stage) {
      case TabStage::joining:
        if (now >= tab.deadline_ns) {
          const auto stage = tab.conn.stage();
          const char* where = stage == WsConnection::Stage::connecting    ? "timeout:connect"
                              : stage == WsConnection::Stage::handshaking ? "timeout:handshake"
                                                                          : "timeout:join";
          --pending_;
          fail(tab, where);
          tab.stage = TabStage::leaving;
          tab.conn.abort(where, *this);
        }
        break;
      case TabStage::joined:
        for (std::size_t i = 0; i < tab.in_flight_count;) {
          if (now - tab.in_flight[i].sent_ns < ack_timeout) {
            ++i;
            continue;
          }
          if (tab.in_flight[i].kind == Pending::update) ++counts_.updates_unacked;
          tab.in_flight[i] = tab.in_flight[--tab.in_flight_count];
          --in_flight_total_;
        }
        if (now >= tab.next_heartbeat_ns) {
          tab.next_heartbeat_ns = now + seconds_to_ns(options_.heartbeat_s);
          if (send(id, "heartbeat", "phoenix", "{}", Pending::heartbeat, now)) {
            ++counts_.heartbeats_sent;
          }
        }
        break;
      case TabStage::leaving:
        if (now >= tab.deadline_ns) tab.conn.abort("closed_by_sim", *this);
        break;
      case TabStage::idle:
        break;
    }
  }
  for (Shopper& shopper : shoppers_) {
    if (shopper.retry_ns != 0 && now >= shopper.retry_ns && !shopper.away) {
      shopper.retry_ns = 0;
      for (std::uint32_t t = shopper.first_tab; t < shopper.first_tab + shopper.tabs; ++t) {
        if (t < next_to_start_ && tabs_[t].stage == TabStage::idle) start_tab(t, now);
      }
    }
    if (!shopper.away || now < shopper.return_ns) continue;
    shopper.return_ns = now + seconds_to_ns(options_.timeout_s);  // retried if all tabs fail
    for (std::uint32_t t = shopper.first_tab; t < shopper.first_tab + shopper.tabs; ++t) {
      if (tabs_[t].stage == TabStage::idle) start_tab(t, now);
    }
  }
}

void ShopperFleet::begin_drain(std::int64_t now) {
  if (drain_ != Drain::running) return;
  counts_.joined_at_drain = joined_.size();
  drain_ = Drain::acks;
  drain_acks_until_ns_ = now + seconds_to_ns(options_.drain_s / 2);
  drain_until_ns_ = now + seconds_to_ns(options_.drain_s);
  // First attempts that never started are neither joined nor failed: they did not happen.
  for (std::uint32_t id = next_to_start_; id < tabs_.size(); ++id) resolve_initial(tabs_[id]);
  advance_drain(now);
}

void ShopperFleet::advance_drain(std::int64_t now) {
  if (drain_ == Drain::acks && (in_flight_total_ == 0 || now >= drain_acks_until_ns_)) {
    drain_ = Drain::closes;
    for (Tab& tab : tabs_) {
      if (tab.stage == TabStage::joined) {
        leave(tab, now, ws::CloseCode::going_away);
      } else if (tab.stage == TabStage::joining) {
        --pending_;
        resolve_initial(tab);
        tab.stage = TabStage::leaving;
        tab.conn.abort("closed_by_sim", *this);
      }
    }
  }
  if (drain_ == Drain::closes && (active_ == 0 || now >= drain_until_ns_)) {
    for (Tab& tab : tabs_) tab.conn.abort("closed_by_sim", *this);
    drain_ = Drain::done;
  }
}

Progress ShopperFleet::progress() {
  Progress p;
  p.attempted = counts_.attempted;
  p.joined = counts_.joined;
  p.failed = counts_.failed;
  p.dropped = counts_.dropped;
  p.open = joined_.size();
  p.online = online_;
  p.updates_sent = counts_.updates_sent;
  p.updates_acked = counts_.updates_acked;
  p.update_p99_ms = static_cast<double>(interval_updates_.percentile_ns(99)) / kNsPerMs;
  interval_updates_ = LatencyHistogram();
  return p;
}

void ShopperFleet::fill(WorkerReport& report) const {
  const std::optional<AdminReport> admin = std::move(report.admin);
  report = counts_;
  report.admin = admin;
}

}  // namespace presence::sim
