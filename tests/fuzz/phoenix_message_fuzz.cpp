// parse_message on arbitrary text: it never throws, and whatever it accepts comes back unchanged
// through encode_reply and encode_push.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "presence/phoenix_message.hpp"

namespace {

using presence::phoenix::ParseError;

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = presence::phoenix::parse_message(text);
  if (parsed.error != ParseError::none) {
    require(!parsed.reason.empty());
    return 0;
  }
  const auto& msg = parsed.msg;

  const auto reply = presence::phoenix::parse_message(
      presence::phoenix::encode_reply(msg.join_ref, msg.ref, msg.topic, "ok", msg.payload));
  // The reply wraps the payload one level deeper, which may cross the nesting limit.
  if (reply.error != ParseError::too_deep) {
    require(reply.error == ParseError::none);
    require(reply.msg.join_ref == msg.join_ref && reply.msg.ref == msg.ref);
    require(reply.msg.topic == msg.topic && reply.msg.event == "phx_reply");
    require(reply.msg.payload.at("status") == "ok");
    require(reply.msg.payload.at("response") == msg.payload);
  }

  const auto push = presence::phoenix::parse_message(
      presence::phoenix::encode_push(msg.join_ref, msg.topic, msg.event, msg.payload.dump()));
  require(push.error == ParseError::none);
  require(push.msg.join_ref == msg.join_ref && !push.msg.ref.has_value());
  require(push.msg.topic == msg.topic && push.msg.event == msg.event);
  require(push.msg.payload == msg.payload);
  return 0;
}
