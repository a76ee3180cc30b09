// libFuzzer target: the cluster codec must refuse malformed input cleanly, and
// whatever it accepts must encode back to bytes that decode to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "presence/delta_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  presence::Delta delta;
  if (presence::decode_delta(bytes, delta).status == presence::DecodeStatus::ok) {
    presence::Delta again;
    if (presence::decode_delta(presence::encode_delta(delta), again).status !=
            presence::DecodeStatus::ok ||
        !(again == delta)) {
      std::abort();
    }
  }
  presence::CausalContext context;
  if (presence::decode_context(bytes, context).status == presence::DecodeStatus::ok) {
    presence::CausalContext again;
    if (presence::decode_context(presence::encode_context(context), again).status !=
            presence::DecodeStatus::ok ||
        again.replicas != context.replicas) {
      std::abort();
    }
  }
  return 0;
}
