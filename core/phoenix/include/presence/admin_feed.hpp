// A worker's admin feed: once per broadcast interval the nginx glue calls
// tick(), which reads what changed in the shared tracker since each admin's
// view, encodes it once per group of admins that share a view, and queues it
// to each of them; then the stats, to each admin whose version is old. The
// cost of a change is one encoding per worker, not one per admin.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "presence/channel_session.hpp"
#include "presence/send_queue.hpp"
#include "presence/tracker.hpp"

namespace presence {

class AdminFeed {
 public:
  // Changes read per tracker call, and per tick for one group of admins: the
  // lock is held only for one call; the rest waits for the next tick.
  static constexpr std::size_t kChangesPerRead = 4096;
  static constexpr std::size_t kChangesPerTick = 8 * kChangesPerRead;

  static constexpr std::size_t kNotListed = static_cast<std::size_t>(-1);

  // One admin socket as the feed sees it; lives as long as the socket.
  struct Admin {
    Admin(ChannelSession& s, SendQueue& q, void* owner) noexcept
        : session(s), queue(q), socket(owner) {}
    Admin(const Admin&) = delete;
    Admin& operator=(const Admin&) = delete;

    ChannelSession& session;
    SendQueue& queue;
    void* const socket;  // the transport's own socket object, for the caller
    // A push was refused (its queue was over its bound): it gets a fresh
    // presence_state, instead of an ever longer backlog, once it drains.
    bool stale = false;
    // Queuing for it ran out of memory: its socket must be closed.
    bool out_of_memory = false;
    std::size_t index = kNotListed;
  };

  struct TickReport {
    std::size_t messages = 0;  // queued
    std::size_t resyncs = 0;   // presence_state pushes to admins that fell behind
  };

  // False only when memory runs out.
  bool add(Admin& admin) noexcept;
  void remove(Admin& admin) noexcept;
  bool empty() const noexcept { return admins_.empty(); }
  // The replica the timeline's samples are of, named in admin:history pushes.
  void set_history_node(std::string node) { history_node_ = std::move(node); }

  // Queues what is due to every listed admin and appends each admin whose
  // queue it touched to `touched`, once. Never adds or removes admins; an
  // admin whose queue ran out of memory is marked and skipped. Throws only
  // what reading the tracker or encoding throws (memory).
  TickReport tick(Tracker& tracker, std::int64_t now_ms, std::vector<Admin*>& touched);

  // An admin that just joined admin:stats gets its first stats now, behind
  // its join reply; false when it was not queued (a later tick retries).
  static bool welcome(Admin& admin, Tracker& tracker, std::int64_t now_ms);

  // Queues one message under the admin's bound: an admin over it is marked
  // stale instead. False when the message was not queued.
  static bool offer(Admin& admin, std::string_view text) noexcept;

 private:
  void feed_presence(Tracker& tracker, std::vector<Admin*>& touched, TickReport& report);
  void feed_stats(Tracker& tracker, std::int64_t now_ms, std::vector<Admin*>& touched,
                  TickReport& report);
  // The timeline's new samples, to admins on admin:history whose queue is not
  // congested: a slow admin holds back only its own timeline.
  void feed_history(Tracker& tracker, std::vector<Admin*>& touched, TickReport& report);
  void resync(Admin& admin, Tracker& tracker, TickReport& report);
  // Queues the stats push (encoded on first use) to one admin.
  static bool send_stats(Admin& admin, std::uint64_t version, std::string& push, Tracker& tracker,
                         std::int64_t now_ms);

  std::vector<Admin*> admins_;
  std::string history_node_;
};

}  // namespace presence
