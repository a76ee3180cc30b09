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

Status not_a_message(std::string reason) {
  return {Errc::invalid, std::move(reason)};
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

Result<Message> parse_message(std::string_view text) noexcept {
  try {
    if (nesting_depth(text) > kMaxJsonDepth) {
      return Status{Errc::too_large, "nested deeper than " + std::to_string(kMaxJsonDepth)};
    }
    auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return Status{Errc::malformed, "not JSON"};
    if (!json.is_array()) return not_a_message("not a JSON array");
    if (json.size() != kFieldCount) {
      return not_a_message("expected [join_ref, ref, topic, event, payload]");
    }
    Message msg;
    if (!take_ref(json[0], &msg.join_ref)) {
      return not_a_message("join_ref must be a string or null");
    }
    if (!take_ref(json[1], &msg.ref)) return not_a_message("ref must be a string or null");
    if (!json[2].is_string()) return not_a_message("topic must be a string");
    if (!json[3].is_string()) return not_a_message("event must be a string");
    msg.topic = std::move(json[2].get_ref<std::string&>());
    msg.event = std::move(json[3].get_ref<std::string&>());
    msg.payload = std::move(json[4]);
    return msg;
  } catch (const std::bad_alloc&) {
    return Status{Errc::exhausted, "out of memory"};
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
  append_push_head(out, join_ref, topic, event);
  out += payload_json;
  append_push_tail(out);
  return out;
}

void append_push_head(std::string& out, const std::optional<std::string>& join_ref,
                      std::string_view topic, std::string_view event) {
  out += '[';
  append_ref(out, join_ref);
  out += ",null,";
  append_json_string(out, topic);
  out += ',';
  append_json_string(out, event);
  out += ',';
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
