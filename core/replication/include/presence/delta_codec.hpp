// A compact, versioned binary encoding of deltas, full states and causal
// contexts for the cluster transport: a 4-byte header ("PD", version, kind),
// then LEB128 varints and length-prefixed strings. A delta lists its topics,
// pages, products and sizes once in a table its joins index, and sends clocks
// and times as differences from the previous join's. Decoding is strict: every
// length, count and index is bounded, and trailing or missing bytes are errors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "presence/crdt.hpp"
#include "presence/result.hpp"

namespace presence {

inline constexpr std::uint8_t kDeltaCodecVersion = 2;

std::string encode_delta(const Delta& delta);  // deltas and full states
std::string encode_context(const CausalContext& context);

// A refusal is Errc::too_large for a length or count past its bound,
// Errc::unsupported for another codec version, Errc::malformed otherwise
// (cut short, bytes left over, a wrong kind, an impossible value).
Result<Delta> decode_delta(std::string_view bytes);
Result<CausalContext> decode_context(std::string_view bytes);

}  // namespace presence
