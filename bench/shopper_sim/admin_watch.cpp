#include "admin_watch.hpp"

#include <algorithm>
#include <ctime>

#include "clock.hpp"
#include "presence/phoenix_message.hpp"
#include "presence_feed_count.hpp"

namespace presence::sim {
namespace {

constexpr std::string_view kStatsTopic = "admin:stats";
constexpr std::string_view kTrackerTopic = "admin:cart_tracker";
constexpr std::string_view kStatsJoinRef = "1";
constexpr std::string_view kTrackerJoinRef = "2";
constexpr std::string_view kProbeJoinRef = "1";
// The topic is the third element of a V2 frame and refs are short, so it sits near the front;
// looking only there keeps a multi-megabyte presence_state from being scanned or parsed.
constexpr std::size_t kTopicScanBytes = 128;
constexpr std::int64_t kTokenSlackS = 600;

std::string target_for(const Url& url, const std::string& token) {
  return url.path + (url.path.find('?') == std::string::npos ? "?" : "&") +
         "vsn=2.0.0&token=" + token;
}

bool mentions(std::string_view text, std::string_view topic) {
  const std::string quoted = "\"" + std::string(topic) + "\"";
  return text.substr(0, kTopicScanBytes).find(quoted) != std::string_view::npos;
}

}  // namespace

AdminWatch::AdminWatch(const Options& options, const TokenMinter& admin_minter,
                       const TokenMinter& shopper_minter, const std::string& run_id, int epoll_fd,
                       std::size_t admin_id, std::size_t probe_id)
    : options_(options),
      run_id_(run_id),
      epoll_fd_(epoll_fd),
      admin_id_(admin_id),
      probe_id_(probe_id),
      admin_(kAdminMaxMessageBytes),
      probe_(kAdminMaxMessageBytes) {
  const std::int64_t exp = static_cast<std::int64_t>(std::time(nullptr)) +
                           static_cast<std::int64_t>(options.duration_s + options.drain_s) +
                           kTokenSlackS;
  const std::string probe_sub = "probe-" + run_id;
  admin_target_ = target_for(*options.admin_url,
                             admin_minter.mint("shopper-sim-" + run_id, "admin", exp).value_or(""));
  probe_target_ =
      target_for(options.url, shopper_minter.mint(probe_sub, "shopper", exp).value_or(""));
  probe_topic_ = "cart:" + probe_sub;
  report_.probe_connections = 1;
  const in_addr& source = options.source_addresses.front();
  std::string error = admin_.start(epoll_fd_, admin_id_, source, *options.admin_url, admin_target_);
  if (!error.empty()) report_.error = "admin " + error;
  error = probe_.start(epoll_fd_, probe_id_, source, options.url, probe_target_);
  if (!error.empty()) report_.error = "probe " + error;
}

std::string AdminWatch::probe_page(std::uint64_t seq) const {
  return "/probe/" + run_id_ + "/" + std::to_string(seq);
}

void AdminWatch::handle(std::size_t id, std::uint32_t epoll_events,
                        std::span<std::uint8_t> scratch) {
  (id == admin_id_ ? admin_ : probe_).handle(epoll_events, scratch, *this);
}

void AdminWatch::send(WsConnection& conn, std::string_view join_ref, std::string_view topic,
                      std::string_view event, std::string_view payload) {
  std::string text = "[";
  if (join_ref.empty()) {
    text += "null";
  } else {
    phoenix::append_json_string(text, join_ref);
  }
  text += ",";
  phoenix::append_json_string(text, std::to_string(next_ref_++));
  text += ",";
  phoenix::append_json_string(text, topic);
  text += ",";
  phoenix::append_json_string(text, event);
  text += ",";
  text += payload;
  text += "]";
  conn.send_text(text, *this);
}

void AdminWatch::on_open(std::size_t id) {
  if (id == admin_id_) {
    send(admin_, kStatsJoinRef, kStatsTopic, "phx_join", "{}");
    send(admin_, kTrackerJoinRef, kTrackerTopic, "phx_join", "{}");
  } else {
    send(probe_, kProbeJoinRef, probe_topic_, "phx_join",
         "{\"page\":\"" + probe_page(probe_seq_) + "\"}");
  }
}

void AdminWatch::on_text(std::size_t id, std::string_view text) {
  if (id == admin_id_) {
    on_admin_text(text);
    return;
  }
  Result<phoenix::Message> parsed = phoenix::parse_message(text);
  if (!parsed || parsed->event != phoenix::kReplyEvent) return;
  const bool ok = parsed->payload.value("status", "") == "ok";
  if (!probe_joined_ && parsed->join_ref == std::string(kProbeJoinRef)) {
    probe_joined_ = ok;
    if (!ok) report_.error = "probe join refused: " + parsed->payload.dump();
  }
}

void AdminWatch::on_admin_text(std::string_view text) {
  const std::int64_t now = now_ns();
  const bool stats = mentions(text, kStatsTopic);
  TopicTraffic& traffic = stats ? report_.stats : report_.cart_tracker;
  if (!stats && !mentions(text, kTrackerTopic)) return;  // heartbeat replies
  ++traffic.messages;
  traffic.bytes += text.size();
  if (!stats && tracker_joined_) {
    // presence_state and presence_diff: counted without building them.
    const FeedCount feed = count_feed_metas(text);
    if (!feed.ok) ++report_.tracker_unreadable;
    if (!feed.ok || (feed.event != "presence_state" && feed.event != "presence_diff")) return;
    if (feed.is_state) ++report_.tracker_states;
    report_.tracker_metas = feed.is_state ? feed.metas : report_.tracker_metas + feed.metas;
    report_.max_tracker_metas = std::max(report_.max_tracker_metas, report_.tracker_metas);
    return;
  }
  Result<phoenix::Message> parsed = phoenix::parse_message(text);
  if (!parsed) return;
  const phoenix::Message& msg = *parsed;
  if (msg.event == phoenix::kReplyEvent) {
    const bool ok = msg.payload.value("status", "") == "ok";
    if (!ok) report_.error = msg.topic + " join refused: " + msg.payload.dump();
    if (msg.topic == kStatsTopic) stats_joined_ = ok;
    if (msg.topic == kTrackerTopic) tracker_joined_ = ok;
    report_.joined = stats_joined_ && tracker_joined_;
    return;
  }
  if (msg.event == "stats" && msg.payload.is_object()) on_stats(msg.payload, now);
}

void AdminWatch::on_stats(const nlohmann::json& payload, std::int64_t now) {
  report_.last_stats_shoppers = payload.value("shoppers", std::uint64_t{0});
  report_.last_stats_connections = payload.value("connections", std::uint64_t{0});
  report_.max_stats_shoppers = std::max(report_.max_stats_shoppers, report_.last_stats_shoppers);
  if (probe_sent_ns_ == 0) return;
  const auto pages = payload.find("pages");
  if (pages == payload.end() || !pages->is_object()) return;
  if (!pages->contains(probe_page(probe_seq_))) return;
  report_.stats_latency.record(now - probe_sent_ns_);
  interval_.record(now - probe_sent_ns_);
  ++report_.probes_seen;
  probe_sent_ns_ = 0;
}

void AdminWatch::tick(std::int64_t now) {
  if (draining_) {
    if (now >= drain_until_ns_) {
      admin_.abort("closed_by_sim", *this);
      probe_.abort("closed_by_sim", *this);
    }
    return;
  }
  if (probe_sent_ns_ != 0 && now - probe_sent_ns_ > seconds_to_ns(kProbeTimeoutS)) {
    ++report_.probes_timed_out;
    probe_sent_ns_ = 0;
  }
  if (probe_joined_ && stats_joined_ && probe_sent_ns_ == 0 && now >= next_probe_ns_) {
    ++probe_seq_;
    send(probe_, kProbeJoinRef, probe_topic_, "update",
         "{\"page\":\"" + probe_page(probe_seq_) + "\"}");
    probe_sent_ns_ = now;
    next_probe_ns_ = now + seconds_to_ns(options_.probe_interval_s);
    ++report_.probes_sent;
  }
  if (now >= next_heartbeat_ns_) {
    next_heartbeat_ns_ = now + seconds_to_ns(options_.heartbeat_s);
    if (admin_.stage() == WsConnection::Stage::open) send(admin_, "", "phoenix", "heartbeat", "{}");
    if (probe_.stage() == WsConnection::Stage::open) send(probe_, "", "phoenix", "heartbeat", "{}");
  }
}

void AdminWatch::begin_drain(std::int64_t now) {
  if (draining_) return;
  draining_ = true;
  drain_until_ns_ = now + seconds_to_ns(options_.drain_s);
  admin_.close(ws::CloseCode::going_away, *this);
  probe_.close(ws::CloseCode::going_away, *this);
}

double AdminWatch::take_interval_p99_ms() {
  const double p99 = static_cast<double>(interval_.percentile_ns(99)) / kNsPerMs;
  interval_ = LatencyHistogram();
  return p99;
}

void AdminWatch::on_end(std::size_t id, const std::string& reason) {
  if (draining_ || reason == "closed_by_sim") return;
  report_.error = (id == admin_id_ ? "admin socket ended: " : "probe socket ended: ") + reason;
  if (id == admin_id_) stats_joined_ = tracker_joined_ = false;
  if (id == probe_id_) probe_joined_ = false;
}

}  // namespace presence::sim
