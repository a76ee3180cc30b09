// Phoenix Channels V2 JSON messages: a text frame holds [join_ref, ref, topic, event, payload],
// as the V2 serializer of the `phoenix` JS client encodes and decodes them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "presence/result.hpp"

namespace presence::phoenix {

// Deepest nesting of arrays and objects accepted in a message (the message array itself is level
// 1, a cart join payload needs 4); deeper input is refused before it is parsed.
inline constexpr std::size_t kMaxJsonDepth = 32;
inline constexpr std::string_view kReplyEvent = "phx_reply";

struct Message {
  std::optional<std::string> join_ref;
  std::optional<std::string> ref;
  std::string topic;
  std::string event;
  nlohmann::json payload;
};

// Never throws. A refusal is Errc::malformed for text that is not JSON,
// Errc::invalid for JSON that is not [join_ref, ref, topic, event, payload]
// (its refs may still be readable), Errc::too_large past kMaxJsonDepth, and
// Errc::exhausted when memory ran out.
Result<Message> parse_message(std::string_view text) noexcept;

// [join_ref, ref, topic, "phx_reply", {"status": status, "response": response}]
std::string encode_reply(const std::optional<std::string>& join_ref,
                         const std::optional<std::string>& ref, std::string_view topic,
                         std::string_view status, const nlohmann::json& response);

// [join_ref, null, topic, event, payload]; payload_json is spliced in as it is, so a payload
// broadcast to many sockets is serialized once. topic and event must be UTF-8.
std::string encode_push(const std::optional<std::string>& join_ref, std::string_view topic,
                        std::string_view event, std::string_view payload_json);

// The same message written in place: append_push_head writes
// `[join_ref,null,topic,event,`, the caller appends the payload JSON, and
// append_push_tail closes the array.
void append_push_head(std::string& out, const std::optional<std::string>& join_ref,
                      std::string_view topic, std::string_view event);
inline void append_push_tail(std::string& out) {
  out += ']';
}

// Appends s as a JSON string literal (quotes and escapes); s must be UTF-8.
void append_json_string(std::string& out, std::string_view s);

}  // namespace presence::phoenix
