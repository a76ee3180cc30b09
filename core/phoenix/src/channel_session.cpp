#include "presence/channel_session.hpp"

#include <utility>

#include "presence/cart_payload.hpp"
#include "presence/presence_json.hpp"

namespace presence {
namespace {

using nlohmann::json;

constexpr std::string_view kPhoenixTopic = "phoenix";

std::string error_reply(const phoenix::Message& msg, std::string_view reason) {
  return phoenix::encode_reply(msg.join_ref, msg.ref, msg.topic, "error", json{{"reason", reason}});
}

std::string ok_reply(const phoenix::Message& msg, const json& response = json::object()) {
  return phoenix::encode_reply(msg.join_ref, msg.ref, msg.topic, "ok", response);
}

struct RefsOf {
  std::optional<std::string> join_ref, ref;
  std::string topic{kPhoenixTopic};
};

// The join_ref, ref and topic of a message that is a JSON array but not a
// valid Phoenix message, as far as they are strings.
RefsOf readable_refs(std::string_view text, Errc error) {
  RefsOf refs;
  // Only well-formed, bounded JSON (Errc::invalid) is parsed a second time.
  if (error != Errc::invalid) return refs;
  json doc = json::parse(text, nullptr, false);
  if (!doc.is_array()) return refs;
  if (doc.size() > 0 && doc[0].is_string()) refs.join_ref = doc[0].get<std::string>();
  if (doc.size() > 1 && doc[1].is_string()) refs.ref = doc[1].get<std::string>();
  if (doc.size() > 2 && doc[2].is_string()) refs.topic = doc[2].get<std::string>();
  return refs;
}

std::string_view track_error_reason(TrackError e) {
  switch (e) {
    case TrackError::region_full:
      return "server full";
    case TrackError::key_full:
      return "too many connections for this cart";
    case TrackError::not_found:
      return "presence not found";
    case TrackError::invalid_argument:
      return "invalid presence";
    case TrackError::strings_full:
      return "too many distinct pages and products on the server";
    case TrackError::not_in_catalog:
      return "product or size not in the catalogue";
    case TrackError::none:
      break;
  }
  return "internal error";
}

}  // namespace

ChannelSession::ChannelSession(SocketRole role, std::string sub, Owner owner,
                               std::size_t max_channels)
    : role_(role), sub_(std::move(sub)), owner_(owner), max_channels_(max_channels) {}

std::optional<std::size_t> ChannelSession::find(std::string_view topic) const {
  for (std::size_t i = 0; i < channels_.size(); i++) {
    if (channels_[i].topic == topic) return i;
  }
  return std::nullopt;
}

// Which channel a topic names and whether this socket may join it; the
// reason to refuse otherwise.
Status ChannelSession::authorize(std::string_view topic, Kind* kind) const {
  const Status unauthorized{Errc::unauthorized, "unauthorized"};
  const Status unmatched{Errc::not_found, "unmatched topic"};
  if (topic.starts_with(kCartTopicPrefix)) {
    *kind = Kind::cart;
    if (role_ != SocketRole::shopper || topic.substr(kCartTopicPrefix.size()) != sub_) {
      return unauthorized;
    }
    return Status::ok();
  }
  if (topic == kAdminPresenceTopic || topic == kAdminStatsTopic) {
    *kind = topic == kAdminStatsTopic ? Kind::admin_stats : Kind::admin_presence;
    return role_ == SocketRole::admin ? Status::ok() : unauthorized;
  }
  if (topic == kAdminHistoryTopic) {
    *kind = Kind::admin_history;
    return role_ == SocketRole::admin ? Status::ok() : unauthorized;
  }
  if (topic.starts_with("admin:")) return role_ == SocketRole::admin ? unmatched : unauthorized;
  return unmatched;
}

void ChannelSession::on_text(std::string_view text, Tracker& tracker, std::int64_t now_ms,
                             std::vector<std::string>& out) {
  Result<phoenix::Message> parsed = phoenix::parse_message(text);
  if (!parsed) {
    // Answer with whatever refs can be read, so the client's push gets its
    // error; the socket lives on.
    RefsOf refs = readable_refs(text, parsed.code());
    out.push_back(phoenix::encode_reply(refs.join_ref, refs.ref, refs.topic, "error",
                                        json{{"reason", "malformed message: " + parsed.reason()}}));
    return;
  }
  phoenix::Message& msg = *parsed;

  if (msg.topic == kPhoenixTopic) {
    if (msg.event == "heartbeat") {
      out.push_back(ok_reply(msg));
    } else {
      out.push_back(error_reply(msg, "unknown event"));
    }
    return;
  }
  if (msg.event == "phx_join") {
    on_join(msg, tracker, now_ms, out);
    return;
  }

  std::optional<std::size_t> index = find(msg.topic);
  if (!index || channels_[*index].join_ref != msg.join_ref) {
    out.push_back(error_reply(msg, "unmatched topic"));
    return;
  }
  Channel& ch = channels_[*index];
  if (msg.event == "phx_leave") {
    leave_channel(*index, tracker);
    out.push_back(ok_reply(msg));
    return;
  }
  if (ch.kind == Kind::cart && msg.event == "update") {
    on_update(ch, msg, tracker, now_ms, out);
    return;
  }
  out.push_back(error_reply(msg, "unknown event"));
}

void ChannelSession::on_join(phoenix::Message& msg, Tracker& tracker, std::int64_t now_ms,
                             std::vector<std::string>& out) {
  Kind kind{};
  if (const Status allowed = authorize(msg.topic, &kind); !allowed) {
    out.push_back(error_reply(msg, allowed.reason()));
    return;
  }
  if (msg.join_ref && msg.join_ref->size() > kMaxJoinRefBytes) {
    out.push_back(error_reply(msg, "join_ref too long"));
    return;
  }

  CartMeta meta;
  if (kind == Kind::cart) {
    Result<CartMeta> payload = parse_join_payload(msg.payload);
    if (!payload) {
      out.push_back(error_reply(msg, payload.reason()));
      return;
    }
    meta = std::move(payload).value();
  }

  // A second join of a joined topic replaces the first, as Phoenix does: the
  // old channel is closed before the new one is joined.
  std::optional<std::size_t> existing = find(msg.topic);
  if (existing) {
    Channel& old = channels_[*existing];
    out.push_back(phoenix::encode_push(old.join_ref, old.topic, "phx_close", "{}"));
    leave_channel(*existing, tracker);
  } else if (channels_.size() >= max_channels_) {
    out.push_back(error_reply(msg, "too many channels"));
    return;
  }

  Channel ch{msg.topic, msg.join_ref, kind, {}, {}};
  // Room first: once tracked, a presence must not be lost to a failed push.
  channels_.reserve(channels_.size() + 1);
  if (kind == Kind::cart) {
    TrackResult tracked = tracker.track(kCartTrackerTopic, sub_, meta, owner_, now_ms);
    if (tracked.error != TrackError::none) {
      out.push_back(error_reply(msg, track_error_reason(tracked.error)));
      return;
    }
    ch.handle = tracked.handle;
    ch.meta = std::move(meta);
    channels_.push_back(std::move(ch));
    out.push_back(ok_reply(msg));
    return;
  }

  channels_.push_back(std::move(ch));
  out.push_back(ok_reply(msg));
  if (kind == Kind::admin_history) {
    // The timeline follows from the broadcaster, in bounded chunks.
    history_joined_ = true;
    history_view_ = HistoryView{};
  } else if (kind == Kind::admin_presence) {
    presence_joined_ = true;
    out.push_back(presence_state_push(tracker));
  } else {
    // The admin feed queues the first stats right behind this reply, in the
    // one place of its queue that stats take.
    stats_joined_ = true;
    stats_version_ = kStatsUnseen;
  }
}

void ChannelSession::on_update(Channel& ch, phoenix::Message& msg, Tracker& tracker,
                               std::int64_t now_ms, std::vector<std::string>& out) {
  Result<CartMeta> payload = parse_update_payload(msg.payload, ch.meta);
  if (!payload) {
    out.push_back(error_reply(msg, payload.reason()));
    return;
  }
  TrackResult updated = tracker.update(ch.handle, *payload, now_ms);
  if (updated.error != TrackError::none) {
    out.push_back(error_reply(msg, track_error_reason(updated.error)));
    return;
  }
  ch.handle = updated.handle;
  ch.meta = std::move(payload).value();
  out.push_back(ok_reply(msg));
}

std::string ChannelSession::presence_state_push(Tracker& tracker) {
  std::vector<PresenceEntry> entries;
  presence_seq_ = tracker.snapshot(kCartTrackerTopic, entries);
  std::optional<std::string> join_ref;
  if (std::optional<std::size_t> i = find(kAdminPresenceTopic)) join_ref = channels_[*i].join_ref;
  return phoenix::encode_push(join_ref, kAdminPresenceTopic, "presence_state",
                              encode_presence_state(entries));
}

void ChannelSession::leave_channel(std::size_t index, Tracker& tracker) {
  Channel& ch = channels_[index];
  switch (ch.kind) {
    case Kind::cart:
      tracker.untrack(ch.handle);
      break;
    case Kind::admin_presence:
      presence_joined_ = false;
      break;
    case Kind::admin_stats:
      stats_joined_ = false;
      break;
    case Kind::admin_history:
      history_joined_ = false;
      break;
  }
  channels_.erase(channels_.begin() + static_cast<std::ptrdiff_t>(index));
}

void ChannelSession::close(Tracker& tracker) {
  for (Channel& ch : channels_) {
    if (ch.kind == Kind::cart) tracker.untrack(ch.handle);
  }
  channels_.clear();
  presence_joined_ = false;
  stats_joined_ = false;
  history_joined_ = false;
}

}  // namespace presence
