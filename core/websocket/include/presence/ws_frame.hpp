// WebSocket framing (RFC 6455 section 5): an incremental parser that enforces every rule a
// server must, each mapped to its close code, and the matching encoders.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "presence/utf8.hpp"

namespace presence::ws {

enum class Opcode : std::uint8_t {
  continuation = 0,
  text = 1,
  binary = 2,
  close = 8,
  ping = 9,
  pong = 10
};

// The codes this side sends. A received close may carry any valid code (see is_valid_close_code),
// so CloseCode values outside this list can appear in FrameEvent::code.
enum class CloseCode : std::uint16_t {
  normal = 1000,
  going_away = 1001,
  protocol_error = 1002,
  unsupported_data = 1003,
  invalid_payload = 1007,
  policy_violation = 1008,
  message_too_big = 1009,
  internal_error = 1011
};

enum class Role {
  server,  // we are the server: the peer must mask every frame
  client   // we are the client: the peer must not mask
};

inline constexpr std::size_t kMaxControlPayloadBytes = 125;
inline constexpr std::size_t kMaxCloseReasonBytes = kMaxControlPayloadBytes - 2;
inline constexpr std::size_t kMaxFrameHeaderBytes = 14;  // 2 + 8 (64-bit length) + 4 (mask)
// Smallest buffer the parser allocates for a message, so short fragments do not reallocate.
inline constexpr std::size_t kMinMessageCapacity = 256;

// Whether a code received in a close frame is one a peer may send (RFC 6455 7.4 and the IANA
// registry): 1000-1003, 1007-1014 and the application range 3000-4999.
bool is_valid_close_code(std::uint16_t code) noexcept;

struct FrameEvent {
  enum class Kind {
    none,     // need more bytes
    message,  // a complete text or binary message, reassembled from its fragments
    ping,
    pong,
    close,  // the peer's close frame; the parser ignores everything after it
    error   // a protocol violation: close the connection with `code`
  };
  Kind kind = Kind::none;
  Opcode opcode = Opcode::text;        // text/binary for a message, the control opcode otherwise
  std::string_view payload;            // valid until the next feed() or release_buffers()
  CloseCode code = CloseCode::normal;  // close: received code (none sent -> normal); error: ours
  std::string_view reason;             // close: received reason; error: what went wrong
};

class FrameParser {
 public:
  // max_message_bytes bounds a whole (reassembled) data message; control frames have their own
  // 125-byte bound and an inline buffer.
  FrameParser(Role role, std::size_t max_message_bytes) noexcept;

  // Consumes bytes from [data, data+len) and stops after at most one complete event; *consumed
  // tells how many bytes were used, so call again with the rest. Never allocates more than
  // max_message_bytes, whatever it is fed. After an error every call consumes all input and
  // returns the same error; after a close every call consumes all input and returns none.
  FrameEvent feed(const std::uint8_t* data, std::size_t len, std::size_t* consumed) noexcept;

  // Frees the message buffer so an idle connection costs only this object. Does nothing while a
  // fragmented message is being received; invalidates the payload of the last message event.
  void release_buffers() noexcept;

  // Heap bytes held for messages (0 after release_buffers()).
  std::size_t buffer_capacity() const noexcept { return message_capacity_; }

 private:
  enum class Stage { header, payload, closed, failed };

  // Enters the failed state; returns false so a check can `return fail(...)`.
  bool fail(CloseCode code, std::string_view why) noexcept;
  FrameEvent failure() const noexcept;
  bool check_first_two_bytes() noexcept;
  bool finish_header() noexcept;
  bool reserve_message(std::size_t total) noexcept;
  bool read_payload(const std::uint8_t* data, std::size_t len, std::size_t* used) noexcept;
  void unmask(const std::uint8_t* from, char* to, std::size_t n) const noexcept;
  FrameEvent finish_frame() noexcept;
  FrameEvent finish_control_frame() noexcept;
  bool is_control() const noexcept { return (header_[0] & 0x08) != 0; }
  bool is_fin() const noexcept { return (header_[0] & 0x80) != 0; }

  Role role_;
  std::size_t max_message_bytes_;
  Stage stage_ = Stage::header;
  CloseCode failure_code_ = CloseCode::normal;  // the error repeated once the parser failed
  std::string_view failure_reason_;

  // The frame being read.
  std::array<std::uint8_t, kMaxFrameHeaderBytes> header_{};
  std::uint8_t header_have_ = 0;  // narrow fields: a parser lives in every idle connection
  std::uint8_t header_need_ = 2;
  std::array<std::uint8_t, 4> mask_{};
  bool masked_ = false;
  std::uint64_t payload_left_ = 0;
  std::uint64_t payload_seen_ = 0;

  // The data message being assembled from one or more frames.
  bool in_message_ = false;
  bool drop_message_ = false;  // the last event handed out the buffer; reuse it on the next feed
  Opcode message_opcode_ = Opcode::text;
  Utf8Validator utf8_;
  std::unique_ptr<char[]> message_;
  std::size_t message_size_ = 0;
  std::size_t message_capacity_ = 0;

  std::array<char, kMaxControlPayloadBytes> control_{};
  std::uint8_t control_size_ = 0;
};

// Writes a frame header for a payload of payload_len bytes into out (at least
// kMaxFrameHeaderBytes long); returns the bytes written. A mask_key (4 bytes) sets the mask bit;
// the caller masks the payload itself.
std::size_t write_frame_header(std::uint8_t* out, Opcode op, std::uint64_t payload_len, bool fin,
                               const std::uint8_t* mask_key) noexcept;

// Encoders: server frames unmasked; client frames masked with the given 4-byte key.
void append_frame(std::string& out, Opcode op, std::string_view payload, bool fin = true,
                  const std::uint8_t* mask_key = nullptr);
// The reason is cut to kMaxCloseReasonBytes at a UTF-8 character boundary.
void append_close(std::string& out, CloseCode code, std::string_view reason,
                  const std::uint8_t* mask_key = nullptr);

}  // namespace presence::ws
