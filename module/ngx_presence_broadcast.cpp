// The worker's admin feed: once per broadcast interval, and only while this
// worker holds an admin socket, read what changed in the shared tracker since
// each admin's view, encode it once, and queue it to every admin it is for.
// The cost of a change is one encoding per worker, not one per admin.
#include <algorithm>
#include <exception>
#include <iterator>
#include <utility>
#include <vector>

#include "ngx_presence_broadcast.hpp"
#include "ngx_presence_connection.hpp"
#include "ngx_presence_history.hpp"
#include "ngx_presence_zone.hpp"
#include "presence/phoenix_message.hpp"
#include "presence/presence_json.hpp"

namespace presence::ngx {
namespace {

// Changes read per tracker call, and per tick for one group of admins: the
// lock is held only for one call; the rest waits for the next tick.
constexpr size_t kChangesPerRead = 4096;
constexpr size_t kChangesPerTick = 8 * kChangesPerRead;

SocketList<&WsConn::admin_index> g_admins;
ngx_event_t g_tick;
ngx_msec_t g_interval;

void arm() {
  if (!g_tick.timer_set && !g_admins.items().empty() && g_tick.handler != nullptr) {
    ngx_add_timer(&g_tick, g_interval);
  }
}

void resync(WsConn* admin, presence::Tracker& tracker) {
  count(&Counters::admin_resyncs);
  admin->stale = false;
  ws_queue_text(admin, admin->session.presence_state_push(tracker));
}

// Admins that share a view (the same change sequence) get the same bytes.
void feed_presence(presence::Tracker& tracker, const std::vector<WsConn*>& all,
                   std::vector<WsConn*>& touched) {
  const std::uint64_t head = tracker.head_seq();
  std::vector<std::pair<std::uint64_t, std::vector<WsConn*>>> groups;
  for (WsConn* admin : all) {
    if (!admin->session.wants_presence() || admin->congested()) continue;
    if (admin->stale) {
      resync(admin, tracker);
      touched.push_back(admin);
      continue;
    }
    const std::uint64_t seq = admin->session.presence_seq();
    if (seq == head) continue;
    auto it =
        std::find_if(groups.begin(), groups.end(), [seq](const auto& g) { return g.first == seq; });
    if (it == groups.end()) {
      groups.push_back({seq, {admin}});
    } else {
      it->second.push_back(admin);
    }
  }

  std::vector<presence::Change> changes;
  std::vector<presence::Change> batch;  // changes_since replaces its contents
  for (auto& [seq, admins] : groups) {
    changes.clear();
    std::uint64_t next = seq;
    bool behind = false;
    while (changes.size() < kChangesPerTick && next != head) {
      std::uint64_t from = next;
      if (tracker.changes_since(from, kChangesPerRead, batch, &next) ==
          presence::ChangeStatus::behind) {
        behind = true;
        break;
      }
      changes.insert(changes.end(), std::make_move_iterator(batch.begin()),
                     std::make_move_iterator(batch.end()));
      if (next == from) break;
    }
    for (WsConn* admin : admins) touched.push_back(admin);
    if (behind) {
      for (WsConn* admin : admins) resync(admin, tracker);
      continue;
    }
    std::erase_if(changes, [](const presence::Change& ch) {
      return ch.topic != presence::kCartTrackerTopic;
    });
    if (!changes.empty()) {
      // [null, null, "admin:cart_tracker", "presence_diff", {...}], written
      // once into its frame; the last admin of the group takes the string.
      std::string frame(kFrameGap, '\0');
      frame += "[null,null,";
      presence::phoenix::append_json_string(frame, presence::kAdminPresenceTopic);
      frame += ",\"presence_diff\",";
      presence::append_presence_diff(frame, changes);
      frame += ']';
      const size_t begin = ws_frame_in_place(frame);
      for (size_t i = 0; i < admins.size(); ++i) {
        ws_queue_frame(admins[i], frame, begin, i + 1 == admins.size());
      }
    }
    for (WsConn* admin : admins) admin->session.set_presence_seq(next);
  }
}

void feed_stats(presence::Tracker& tracker, const std::vector<WsConn*>& all,
                std::vector<WsConn*>& touched) {
  const std::uint64_t version = tracker.stats_version();
  std::string push;
  for (WsConn* admin : all) {
    if (!admin->session.wants_presence()) admin->stale = false;  // stats need no resync
    // Stats are small and constant-size: they go out even while the admin's
    // presence feed is held back by a busy queue (ws_queue_stats says where).
    if (!admin->session.wants_stats() || admin->session.stats_version() == version) continue;
    if (push.empty()) {
      push = presence::phoenix::encode_push(
          std::nullopt, presence::kAdminStatsTopic, "stats",
          presence::encode_stats(tracker.stats(presence::kCartTrackerTopic), ngx_now_ms()));
    }
    if (ws_queue_stats(admin, push)) admin->session.set_stats_version(version);
    touched.push_back(admin);
  }
}

void tick(ngx_event_t*) noexcept {
  presence::Tracker* tracker = zone_tracker();
  if (tracker == nullptr) return;
  std::vector<WsConn*> touched;
  try {
    // A copy: queuing may close a socket, which leaves g_admins.
    const std::vector<WsConn*> all = g_admins.items();
    feed_presence(*tracker, all, touched);
    feed_stats(*tracker, all, touched);
    history_feed(*tracker, all, touched);
  } catch (const std::exception& e) {
    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0, "presence: admin feed failed: %s", e.what());
  }
  // A flush may close (and free) a socket: flush each once, after all queuing.
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (WsConn* admin : touched) ws_flush(admin);
  arm();
}

}  // namespace

void admin_listen(WsConn* conn) noexcept {
  if (g_admins.insert(conn)) arm();
}

void admin_forget(WsConn* conn) noexcept {
  g_admins.erase(conn);
  if (g_admins.items().empty() && g_tick.timer_set) ngx_del_timer(&g_tick);
}

void broadcast_init(ngx_cycle_t* cycle, ngx_msec_t interval) noexcept {
  g_interval = interval;
  g_tick.handler = tick;
  g_tick.log = cycle->log;
  g_tick.data = timer_without_connection();
  g_tick.cancelable = 1;
  history_init(cycle, interval);
}

}  // namespace presence::ngx
