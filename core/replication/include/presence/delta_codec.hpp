// A compact, versioned binary encoding of deltas, full states and causal
// contexts for the cluster transport: a 4-byte header ("PD", version, kind),
// then LEB128 varints and length-prefixed strings. Decoding is strict: every
// length and count is bounded, and trailing or missing bytes are errors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "presence/crdt.hpp"

namespace presence {

inline constexpr std::uint8_t kDeltaCodecVersion = 1;

enum class DecodeStatus { ok, truncated, bad_header, out_of_bounds, malformed, trailing_bytes };

struct DecodeResult {
  DecodeStatus status;
  std::string reason;  // empty when ok
};

std::string encode_delta(const Delta& delta);  // deltas and full states
std::string encode_context(const CausalContext& context);

DecodeResult decode_delta(std::string_view bytes, Delta& out);
DecodeResult decode_context(std::string_view bytes, CausalContext& out);

}  // namespace presence
