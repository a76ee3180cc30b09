// libFuzzer target: the cluster codec must refuse malformed input cleanly, and
// whatever it accepts must encode back to bytes that decode to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "presence/delta_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (const auto delta = presence::decode_delta(bytes)) {
    const auto again = presence::decode_delta(presence::encode_delta(*delta));
    if (!again || !(*again == *delta)) std::abort();
  }
  if (const auto context = presence::decode_context(bytes)) {
    const auto again = presence::decode_context(presence::encode_context(*context));
    if (!again || again->replicas != context->replicas) std::abort();
  }
  return 0;
}
