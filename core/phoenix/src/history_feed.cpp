#include "presence/history_feed.hpp"

#include <charconv>

#include "presence/phoenix_message.hpp"
#include "presence/tracker.hpp"

namespace presence {

namespace {

template <class Int>
void append_int(std::string& out, Int v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_sample(std::string& out, const HistorySample& s) {
  out += '[';
  append_int(out, s.at_ms);
  for (const std::uint64_t v : {s.shoppers, s.shoppers_max, s.connections, s.joins, s.leaves,
                                s.updates, s.cart_added, s.cart_removed}) {
    out += ',';
    append_int(out, v);
  }
  out += ']';
}

}  // namespace

void append_history_payload(std::string& out, std::string_view node, HistoryResolution res,
                            const std::vector<HistorySample>& samples, const HistoryPeak& peak,
                            bool more) {
  const bool seconds = res == HistoryResolution::second;
  out += "{\"node\":";
  phoenix::append_json_string(out, node);
  out += seconds ? ",\"resolution\":\"second\",\"interval_ms\":1000"
                 : ",\"resolution\":\"minute\",\"interval_ms\":60000";
  out += ",\"peak\":{\"shoppers\":";
  append_int(out, peak.shoppers);
  out += ",\"at\":";
  append_int(out, peak.at_ms);
  out += more ? "},\"more\":true,\"samples\":[" : "},\"more\":false,\"samples\":[";
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (i > 0) out += ',';
    append_sample(out, samples[i]);
  }
  out += "]}";
}

std::string next_history_payload(Tracker& tracker, HistoryView& view, std::string_view node,
                                 std::size_t max_samples) {
  std::string out;
  // Read before the rings: a sample racing the reads below is read next time.
  const std::int64_t last = tracker.history_last_ms();
  if (view.backlog_sent && last == view.seen_ms) return out;
  std::vector<HistorySample> samples;
  HistoryPeak peak;
  // Minutes first: the backlog is oldest first.
  HistoryResolution res = HistoryResolution::minute;
  std::uint64_t next = tracker.history(res, view.next_minute, max_samples, samples, &peak);
  if (samples.empty()) {
    res = HistoryResolution::second;
    next = tracker.history(res, view.next_second, max_samples, samples, &peak);
  }
  if (samples.empty()) {
    view.seen_ms = last;
    if (view.backlog_sent) return out;
    // The backlog ends with a push whose `more` is false (empty when the
    // last chunk was full).
    view.backlog_sent = true;
    append_history_payload(out, node, res, samples, peak, false);
    return out;
  }
  (res == HistoryResolution::minute ? view.next_minute : view.next_second) = next;
  append_history_payload(out, node, res, samples, peak, !view.backlog_sent);
  return out;
}

}  // namespace presence
