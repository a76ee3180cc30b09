// One socket's Phoenix channels: what the server answers to each message a
// client sends (joins, leaves, updates, heartbeats) and the presence it
// tracks on the client's behalf. Transport-free: the nginx glue hands in the
// text of each WebSocket message and sends the texts that come out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "presence/cart_meta.hpp"
#include "presence/history_feed.hpp"
#include "presence/phoenix_message.hpp"
#include "presence/result.hpp"
#include "presence/tracker.hpp"

namespace presence {

// The tracker topic every shopper connection is tracked under; admins see it
// as the channel `admin:cart_tracker`.
inline constexpr std::string_view kCartTrackerTopic = "cart_tracker";
inline constexpr std::string_view kAdminPresenceTopic = "admin:cart_tracker";
inline constexpr std::string_view kAdminStatsTopic = "admin:stats";
inline constexpr std::string_view kCartTopicPrefix = "cart:";
inline constexpr std::size_t kMaxJoinRefBytes = 64;

enum class SocketRole { shopper, admin };

class ChannelSession {
 public:
  ChannelSession(SocketRole role, std::string sub, Owner owner, std::size_t max_channels);
  ChannelSession(const ChannelSession&) = delete;
  ChannelSession& operator=(const ChannelSession&) = delete;

  // Handles the text of one client message; every reply and push it causes is
  // appended to `out` as the text of one WebSocket message.
  void on_text(std::string_view text, Tracker& tracker, std::int64_t now_ms,
               std::vector<std::string>& out);

  // The socket is gone: untracks every presence it held.
  void close(Tracker& tracker);

  SocketRole role() const noexcept { return role_; }
  const std::string& sub() const noexcept { return sub_; }
  std::size_t channel_count() const noexcept { return channels_.size(); }

  // Admin feeds, driven by the worker's broadcaster.
  bool wants_presence() const noexcept { return presence_joined_; }
  bool wants_stats() const noexcept { return stats_joined_; }
  bool wants_history() const noexcept { return history_joined_; }
  // Where this admin is in the timeline (reset by each join of admin:history).
  HistoryView& history_view() noexcept { return history_view_; }
  // The change sequence this admin's presence view is consistent with.
  std::uint64_t presence_seq() const noexcept { return presence_seq_; }
  void set_presence_seq(std::uint64_t seq) noexcept { presence_seq_ = seq; }
  // A fresh presence_state push (after falling behind): sets presence_seq.
  std::string presence_state_push(Tracker& tracker);
  // The stats version this admin has seen; kStatsUnseen after its join.
  static constexpr std::uint64_t kStatsUnseen = ~std::uint64_t{0};
  std::uint64_t stats_version() const noexcept { return stats_version_; }
  void set_stats_version(std::uint64_t v) noexcept { stats_version_ = v; }

 private:
  enum class Kind { cart, admin_presence, admin_stats, admin_history };
  struct Channel {
    std::string topic;
    std::optional<std::string> join_ref;
    Kind kind;
    MetaHandle handle;  // cart channels: the tracked presence
    CartMeta meta;      // cart channels: what was last tracked
  };

  void on_join(phoenix::Message& msg, Tracker& tracker, std::int64_t now_ms,
               std::vector<std::string>& out);
  void on_update(Channel& ch, phoenix::Message& msg, Tracker& tracker, std::int64_t now_ms,
                 std::vector<std::string>& out);
  void leave_channel(std::size_t index, Tracker& tracker);
  std::optional<std::size_t> find(std::string_view topic) const;
  // Whether this socket may join `topic`; the reason is the phx_reply's.
  Status authorize(std::string_view topic, Kind* kind) const;

  SocketRole role_;
  std::string sub_;
  Owner owner_;
  std::size_t max_channels_;
  std::vector<Channel> channels_;
  bool presence_joined_ = false;
  bool stats_joined_ = false;
  bool history_joined_ = false;
  HistoryView history_view_;
  std::uint64_t presence_seq_ = 0;
  std::uint64_t stats_version_ = 0;
};

}  // namespace presence
