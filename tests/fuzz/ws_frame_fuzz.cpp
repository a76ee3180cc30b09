// FrameParser in both roles: the same bytes fed whole and in pseudo-random chunks must give the
// same events, every event must respect the parser's bounds, and every message must survive a
// round trip through the encoder.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "presence/utf8.hpp"
#include "presence/ws_frame.hpp"

namespace {

using presence::ws::CloseCode;
using presence::ws::FrameEvent;
using presence::ws::FrameParser;
using presence::ws::Opcode;
using presence::ws::Role;
using Kind = FrameEvent::Kind;

// The first bytes of an input pick the parser's settings; the rest is the stream.
constexpr std::size_t kSettingsBytes = 3;
constexpr std::size_t kMaxStepFactor = 8;  // max_message_bytes = settings byte * this
constexpr std::uint32_t kMaxChunk = 64;
constexpr std::uint8_t kMaskKey[4] = {0xa1, 0x02, 0xf3, 0x44};

void require(bool ok) {
  if (!ok) std::abort();
}

struct Seen {
  Kind kind;
  Opcode opcode;
  std::string payload;
  CloseCode code;
  std::string reason;
  bool operator==(const Seen&) const = default;
};

void check_event(const FrameEvent& ev, std::size_t max) {
  switch (ev.kind) {
    case Kind::message:
      require(ev.opcode == Opcode::text || ev.opcode == Opcode::binary);
      require(ev.payload.size() <= max);
      if (ev.opcode == Opcode::text) require(presence::ws::is_valid_utf8(ev.payload));
      break;
    case Kind::ping:
    case Kind::pong:
      require(ev.payload.size() <= presence::ws::kMaxControlPayloadBytes);
      break;
    case Kind::close:
      require(ev.code == CloseCode::normal ||
              presence::ws::is_valid_close_code(static_cast<std::uint16_t>(ev.code)));
      require(presence::ws::is_valid_utf8(ev.reason));
      break;
    case Kind::error:
      require(ev.code == CloseCode::protocol_error || ev.code == CloseCode::invalid_payload ||
              ev.code == CloseCode::message_too_big);
      require(!ev.reason.empty());
      break;
    case Kind::none:
      break;
  }
}

// Feeds the stream in chunks from a xorshift sequence (seed 0: all at once).
std::vector<Seen> run(Role role, std::size_t max, const std::uint8_t* data, std::size_t size,
                      std::uint32_t seed) {
  FrameParser parser(role, max);
  std::vector<Seen> seen;
  std::uint32_t state = seed;
  std::size_t off = 0;
  while (off < size) {
    std::size_t chunk = size - off;
    if (seed != 0) {
      state ^= state << 13;
      state ^= state >> 17;
      state ^= state << 5;
      chunk = std::min<std::size_t>(chunk, 1 + state % kMaxChunk);
    }
    std::size_t pos = 0;
    while (pos < chunk) {
      std::size_t consumed = 0;
      const FrameEvent ev = parser.feed(data + off + pos, chunk - pos, &consumed);
      require(consumed <= chunk - pos);
      require(parser.buffer_capacity() <= max);
      pos += consumed;
      if (ev.kind == Kind::none) {
        require(consumed > 0);
        continue;
      }
      check_event(ev, max);
      seen.push_back(
          {ev.kind, ev.opcode, std::string(ev.payload), ev.code, std::string(ev.reason)});
      if (ev.kind == Kind::error || ev.kind == Kind::close) return seen;
    }
    off += chunk;
  }
  return seen;
}

void check_round_trip(const Seen& message, Role role) {
  std::string bytes;
  presence::ws::append_frame(bytes, message.opcode, message.payload, true,
                             role == Role::server ? kMaskKey : nullptr);
  FrameParser parser(role, message.payload.size());
  std::size_t consumed = 0;
  const FrameEvent ev =
      parser.feed(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), &consumed);
  require(ev.kind == Kind::message && consumed == bytes.size());
  require(ev.opcode == message.opcode && ev.payload == message.payload);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < kSettingsBytes) return 0;
  const Role role = (data[0] & 1) != 0 ? Role::client : Role::server;
  const std::size_t max = data[1] * kMaxStepFactor;
  const std::uint32_t seed = data[2] | 1u;
  const std::uint8_t* stream = data + kSettingsBytes;
  const std::size_t stream_size = size - kSettingsBytes;

  const auto whole = run(role, max, stream, stream_size, 0);
  require(run(role, max, stream, stream_size, seed) == whole);
  for (const Seen& seen : whole) {
    if (seen.kind == Kind::message) check_round_trip(seen, role);
  }
  return 0;
}
