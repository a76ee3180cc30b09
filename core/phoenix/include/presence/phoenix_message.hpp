// Phoenix Channels V2 JSON messages: a text frame holds [join_ref, ref, topic, event, payload],
// as the V2 serializer of the `phoenix` JS client encodes and decodes them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

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

enum class ParseError { none, not_json, not_array, wrong_arity, bad_field_type, too_deep };

struct Parsed {
  ParseError error = ParseError::none;
  Message msg;
  std::string reason;  // why, when error != none
};

// Never throws; a malformed message is an error value.
Parsed parse_message(std::string_view text) noexcept;

// [join_ref, ref, topic, "phx_reply", {"status": status, "response": response}]
std::string encode_reply(const std::optional<std::string>& join_ref,
                         const std::optional<std::string>& ref, std::string_view topic,
                         std::string_view status, const nlohmann::json& response);

// [join_ref, null, topic, event, payload]; payload_json is spliced in as it is, so a payload
// broadcast to many sockets is serialized once. topic and event must be UTF-8.
std::string encode_push(const std::optional<std::string>& join_ref, std::string_view topic,
                        std::string_view event, std::string_view payload_json);

// Appends s as a JSON string literal (quotes and escapes); s must be UTF-8.
void append_json_string(std::string& out, std::string_view s);

}  // namespace presence::phoenix
