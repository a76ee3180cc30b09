#include "presence/phoenix_message.hpp"

#include <new>
#include <utility>

namespace presence::phoenix {
namespace {

constexpr std::size_t kFieldCount = 5;

// Nesting depth of JSON text, counting brackets outside strings; malformed text is left for the
// parser to refuse, this only has to bound what the parser is given.
std::size_t nesting_depth(std::string_view text) noexcept {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

Parsed refuse(ParseError error, std::string reason) {
  Parsed parsed;
  parsed.error = error;
  parsed.reason = std::move(reason);
  return parsed;
}

bool take_ref(nlohmann::json& field, std::optional<std::string>* out) {
  if (field.is_null()) return true;
  if (!field.is_string()) return false;
  *out = std::move(field.get_ref<std::string&>());
  return true;
}

void append_ref(std::string& out, const std::optional<std::string>& ref) {
  if (ref) {
    append_json_string(out, *ref);
  } else {
    out += "null";
  }
}

}  // namespace

Parsed parse_message(std::string_view text) noexcept {
  try {
    if (nesting_depth(text) > kMaxJsonDepth) {
      return refuse(ParseError::too_deep, "nested deeper than " + std::to_string(kMaxJsonDepth));
    }
    auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return refuse(ParseError::not_json, "not JSON");
    if (!json.is_array()) return refuse(ParseError::not_array, "not a JSON array");
    if (json.size() != kFieldCount) {
      return refuse(ParseError::wrong_arity, "expected [join_ref, ref, topic, event, payload]");
    }
    Parsed parsed;
    if (!take_ref(json[0], &parsed.msg.join_ref)) {
      return refuse(ParseError::bad_field_type, "join_ref must be a string or null");
    }
    if (!take_ref(json[1], &parsed.msg.ref)) {
      return refuse(ParseError::bad_field_type, "ref must be a string or null");
    }
    if (!json[2].is_string()) return refuse(ParseError::bad_field_type, "topic must be a string");
    if (!json[3].is_string()) return refuse(ParseError::bad_field_type, "event must be a string");
    parsed.msg.topic = std::move(json[2].get_ref<std::string&>());
    parsed.msg.event = std::move(json[3].get_ref<std::string&>());
    parsed.msg.payload = std::move(json[4]);
    return parsed;
  } catch (const std::bad_alloc&) {
    return refuse(ParseError::not_json, "out of memory");
  }
}

std::string encode_reply(const std::optional<std::string>& join_ref,
                         const std::optional<std::string>& ref, std::string_view topic,
                         std::string_view status, const nlohmann::json& response) {
  std::string out = "[";
  append_ref(out, join_ref);
  out += ',';
  append_ref(out, ref);
  out += ',';
  append_json_string(out, topic);
  out += ',';
  append_json_string(out, kReplyEvent);
  out += ",{\"status\":";
  append_json_string(out, status);
  out += ",\"response\":";
  // replace, not throw: a reply must go out even if a string in it was not UTF-8.
  out += response.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += "}]";
  return out;
}

std::string encode_push(const std::optional<std::string>& join_ref, std::string_view topic,
                        std::string_view event, std::string_view payload_json) {
  std::string out;
  out.reserve(payload_json.size() + topic.size() + event.size() + 32);
  out += '[';
  append_ref(out, join_ref);
  out += ",null,";
  append_json_string(out, topic);
  out += ',';
  append_json_string(out, event);
  out += ',';
  out += payload_json;
  out += ']';
  return out;
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  // Runs of bytes that need no escape are appended whole.
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto byte = static_cast<unsigned char>(s[i]);
    if (byte >= 0x20 && byte != '"' && byte != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    if (byte >= 0x20) {
      out += '\\';
      out += static_cast<char>(byte);
    } else {
      out += "\\u00";
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0F];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

}  // namespace presence::phoenix
