#include "presence/admin_feed.hpp"

#include <algorithm>
#include <iterator>
#include <new>
#include <optional>
#include <utility>

#include "presence/history_feed.hpp"
#include "presence/phoenix_message.hpp"
#include "presence/presence_json.hpp"

namespace presence {
namespace {

// Queues a presence_diff frame built in place under the admin's bound.
bool offer_frame(AdminFeed::Admin& admin, std::string& frame, std::size_t begin, bool take) {
  if (!admin.queue.within_bound()) {
    admin.stale = true;
    return false;
  }
  try {
    admin.queue.push_in_place(frame, begin, take);
    return true;
  } catch (const std::bad_alloc&) {
    admin.out_of_memory = true;
    return false;
  }
}

}  // namespace

bool AdminFeed::add(Admin& admin) noexcept {
  if (admin.index != kNotListed) return true;
  try {
    admins_.push_back(&admin);
  } catch (const std::bad_alloc&) {
    return false;
  }
  admin.index = admins_.size() - 1;
  return true;
}

void AdminFeed::remove(Admin& admin) noexcept {
  if (admin.index == kNotListed) return;
  Admin* last = admins_.back();
  admins_[admin.index] = last;
  last->index = admin.index;
  admins_.pop_back();
  admin.index = kNotListed;
}

bool AdminFeed::offer(Admin& admin, std::string_view text) noexcept {
  // The bound is on what is already queued, so one message of any size is
  // taken while the queue is within it: a snapshot larger than the bound
  // still reaches an admin that keeps up, and small pushes cannot starve it.
  if (!admin.queue.within_bound()) {
    admin.stale = true;
    return false;
  }
  try {
    admin.queue.push_text(text);
    return true;
  } catch (const std::bad_alloc&) {
    admin.out_of_memory = true;
    return false;
  }
}

AdminFeed::TickReport AdminFeed::tick(Tracker& tracker, std::int64_t now_ms,
                                      std::vector<Admin*>& touched) {
  TickReport report;
  const std::size_t first = touched.size();
  struct Dedupe {
    std::vector<Admin*>& touched;
    std::size_t first;
    ~Dedupe() {
      auto from = touched.begin() + static_cast<std::ptrdiff_t>(first);
      std::sort(from, touched.end());
      touched.erase(std::unique(from, touched.end()), touched.end());
    }
  } dedupe{touched, first};
  feed_presence(tracker, touched, report);
  feed_stats(tracker, now_ms, touched, report);
  feed_history(tracker, touched, report);
  return report;
}

void AdminFeed::feed_history(Tracker& tracker, std::vector<Admin*>& touched, TickReport& report) {
  for (Admin* admin : admins_) {
    if (admin->out_of_memory || !admin->session.wants_history()) continue;
    bool queued = false;
    while (!admin->queue.congested()) {
      const std::string payload =
          next_history_payload(tracker, admin->session.history_view(), history_node_);
      if (payload.empty()) break;
      try {
        admin->queue.push_text(
            phoenix::encode_push(std::nullopt, kAdminHistoryTopic, "history", payload));
      } catch (const std::bad_alloc&) {
        admin->out_of_memory = true;
        break;
      }
      queued = true;
      ++report.messages;
    }
    if (queued) touched.push_back(admin);
  }
}

void AdminFeed::resync(Admin& admin, Tracker& tracker, TickReport& report) {
  ++report.resyncs;
  admin.stale = false;
  if (offer(admin, admin.session.presence_state_push(tracker))) ++report.messages;
}

// Admins that share a view (the same change sequence) get the same bytes.
void AdminFeed::feed_presence(Tracker& tracker, std::vector<Admin*>& touched, TickReport& report) {
  const std::uint64_t head = tracker.head_seq();
  std::vector<std::pair<std::uint64_t, std::vector<Admin*>>> groups;
  for (Admin* admin : admins_) {
    if (admin->out_of_memory || !admin->session.wants_presence() || admin->queue.congested()) {
      continue;
    }
    if (admin->stale) {
      touched.push_back(admin);
      resync(*admin, tracker, report);
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

  std::vector<Change> changes;
  std::vector<Change> batch;  // changes_since replaces its contents
  for (auto& [seq, admins] : groups) {
    changes.clear();
    std::uint64_t next = seq;
    bool behind = false;
    while (changes.size() < kChangesPerTick && next != head) {
      const std::uint64_t from = next;
      if (tracker.changes_since(from, kChangesPerRead, batch, &next) == ChangeStatus::behind) {
        behind = true;
        break;
      }
      changes.insert(changes.end(), std::make_move_iterator(batch.begin()),
                     std::make_move_iterator(batch.end()));
      if (next == from) break;
    }
    touched.insert(touched.end(), admins.begin(), admins.end());
    if (behind) {
      for (Admin* admin : admins) resync(*admin, tracker, report);
      continue;
    }
    std::erase_if(changes, [](const Change& ch) { return ch.topic != kCartTrackerTopic; });
    if (!changes.empty()) {
      // Written once into its frame; the last admin of the group takes it.
      std::string frame = start_text_frame();
      phoenix::append_push_head(frame, std::nullopt, kAdminPresenceTopic, "presence_diff");
      append_presence_diff(frame, changes);
      phoenix::append_push_tail(frame);
      const std::size_t begin = finish_text_frame(frame);
      for (std::size_t i = 0; i < admins.size(); ++i) {
        if (offer_frame(*admins[i], frame, begin, i + 1 == admins.size())) ++report.messages;
      }
    }
    for (Admin* admin : admins) admin->session.set_presence_seq(next);
  }
}

bool AdminFeed::send_stats(Admin& admin, std::uint64_t version, std::string& push, Tracker& tracker,
                           std::int64_t now_ms) {
  if (push.empty()) {
    push = phoenix::encode_push(std::nullopt, kAdminStatsTopic, "stats",
                                encode_stats(tracker.stats(kCartTrackerTopic), now_ms));
  }
  try {
    if (!admin.queue.push_stats(push)) return false;
  } catch (const std::bad_alloc&) {
    admin.out_of_memory = true;
    return false;
  }
  admin.session.set_stats_version(version);
  return true;
}

bool AdminFeed::welcome(Admin& admin, Tracker& tracker, std::int64_t now_ms) {
  if (!admin.session.wants_stats() ||
      admin.session.stats_version() != ChannelSession::kStatsUnseen) {
    return false;
  }
  // Read the version first: a change racing the encoding is pushed again.
  std::string push;
  return send_stats(admin, tracker.stats_version(), push, tracker, now_ms);
}

void AdminFeed::feed_stats(Tracker& tracker, std::int64_t now_ms, std::vector<Admin*>& touched,
                           TickReport& report) {
  const std::uint64_t version = tracker.stats_version();
  std::string push;
  for (Admin* admin : admins_) {
    if (!admin->session.wants_presence()) admin->stale = false;  // stats need no resync
    if (admin->out_of_memory || !admin->session.wants_stats() ||
        admin->session.stats_version() == version) {
      continue;
    }
    // Stats are small and say where the store is now: they go out even while
    // the presence feed is held back by a busy queue (the queue says where).
    touched.push_back(admin);
    if (send_stats(*admin, version, push, tracker, now_ms)) ++report.messages;
  }
}

}  // namespace presence
