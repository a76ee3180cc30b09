// parse_message on arbitrary text: it never throws, and whatever it accepts comes back unchanged
// through encode_reply and encode_push.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "presence/phoenix_message.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = presence::phoenix::parse_message(text);
  if (!parsed) {
    require(!parsed.reason().empty());
    return 0;
  }
  const auto& msg = *parsed;

  const auto reply = presence::phoenix::parse_message(
      presence::phoenix::encode_reply(msg.join_ref, msg.ref, msg.topic, "ok", msg.payload));
  // The reply wraps the payload one level deeper, which may cross the nesting limit.
  if (reply.code() != presence::Errc::too_large) {
    require(static_cast<bool>(reply));
    require(reply->join_ref == msg.join_ref && reply->ref == msg.ref);
    require(reply->topic == msg.topic && reply->event == "phx_reply");
    require(reply->payload.at("status") == "ok");
    require(reply->payload.at("response") == msg.payload);
  }

  const auto push = presence::phoenix::parse_message(
      presence::phoenix::encode_push(msg.join_ref, msg.topic, msg.event, msg.payload.dump()));
  require(static_cast<bool>(push));
  require(push->join_ref == msg.join_ref && !push->ref.has_value());
  require(push->topic == msg.topic && push->event == msg.event);
  require(push->payload == msg.payload);
  return 0;
}
