#include "presence/ws_frame.hpp"

#include <algorithm>
#include <cstring>
#include <new>

namespace presence::ws {
namespace {

constexpr std::uint8_t kFinBit = 0x80;
constexpr std::uint8_t kReservedBits = 0x70;
constexpr std::uint8_t kOpcodeBits = 0x0F;
constexpr std::uint8_t kMaskBit = 0x80;
constexpr std::uint8_t kLengthBits = 0x7F;
constexpr std::uint8_t kLength16 = 126;
constexpr std::uint8_t kLength64 = 127;
constexpr std::size_t kMaskKeyBytes = 4;

bool is_known_opcode(std::uint8_t op) noexcept {
  switch (static_cast<Opcode>(op)) {
    case Opcode::continuation:
    case Opcode::text:
    case Opcode::binary:
    case Opcode::close:
    case Opcode::ping:
    case Opcode::pong:
      return true;
  }
  return false;
}

std::uint64_t read_big_endian(const std::uint8_t* p, std::size_t bytes) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

bool is_valid_close_code(std::uint16_t code) noexcept {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

FrameParser::FrameParser(Role role, std::size_t max_message_bytes) noexcept
    : role_(role), max_message_bytes_(max_message_bytes) {}

bool FrameParser::fail(CloseCode code, std::string_view why) noexcept {
  stage_ = Stage::failed;
  failure_code_ = code;
  failure_reason_ = why;
  return false;
}

FrameEvent FrameParser::failure() const noexcept {
  return FrameEvent{FrameEvent::Kind::error, Opcode::close, {}, failure_code_, failure_reason_};
}

FrameEvent FrameParser::feed(const std::uint8_t* data, std::size_t len,
                             std::size_t* consumed) noexcept {
  if (stage_ == Stage::failed) {
    *consumed = len;
    return failure();
  }
  if (stage_ == Stage::closed) {
    *consumed = len;
    return {};
  }
  if (drop_message_) {
    message_size_ = 0;
    drop_message_ = false;
  }
  std::size_t pos = 0;
  for (;;) {
    if (stage_ == Stage::header) {
      while (header_have_ < header_need_ && pos < len) {
        header_[header_have_++] = data[pos++];
        if (header_have_ == 2 && !check_first_two_bytes()) {
          *consumed = pos;
          return failure();
        }
      }
      if (header_have_ < header_need_) break;
      if (!finish_header()) {
        *consumed = pos;
        return failure();
      }
    }
    std::size_t used = 0;
    const bool ok = read_payload(data + pos, len - pos, &used);
    pos += used;
    if (!ok) {
      *consumed = pos;
      return failure();
    }
    if (payload_left_ > 0) break;
    const FrameEvent event = finish_frame();
    if (event.kind != FrameEvent::Kind::none) {
      *consumed = pos;
      return event;
    }
  }
  *consumed = pos;
  return {};
}

bool FrameParser::check_first_two_bytes() noexcept {
  const std::uint8_t op = header_[0] & kOpcodeBits;
  if ((header_[0] & kReservedBits) != 0) {
    return fail(CloseCode::protocol_error, "reserved bits set without an extension");
  }
  if (!is_known_opcode(op)) {
    return fail(CloseCode::protocol_error, "unknown opcode");
  }
  masked_ = (header_[1] & kMaskBit) != 0;
  if (role_ == Role::server && !masked_) {
    return fail(CloseCode::protocol_error, "unmasked client frame");
  }
  if (role_ == Role::client && masked_) {
    return fail(CloseCode::protocol_error, "masked server frame");
  }
  const std::uint8_t length7 = header_[1] & kLengthBits;
  if (is_control()) {
    if (!is_fin()) {
      return fail(CloseCode::protocol_error, "fragmented control frame");
    }
    if (length7 > kMaxControlPayloadBytes) {
      return fail(CloseCode::protocol_error, "control frame longer than 125 bytes");
    }
  } else if (op == static_cast<std::uint8_t>(Opcode::continuation) && !in_message_) {
    return fail(CloseCode::protocol_error, "continuation frame without a message to continue");
  } else if (op != static_cast<std::uint8_t>(Opcode::continuation) && in_message_) {
    return fail(CloseCode::protocol_error, "new data frame inside a fragmented message");
  }
  std::size_t extended = 0;
  if (length7 == kLength16) extended = 2;
  if (length7 == kLength64) extended = 8;
  header_need_ = static_cast<std::uint8_t>(2 + extended + (masked_ ? kMaskKeyBytes : 0));
  return true;
}

bool FrameParser::finish_header() noexcept {
  const std::uint8_t length7 = header_[1] & kLengthBits;
  std::uint64_t length = length7;
  std::size_t at = 2;
  if (length7 == kLength16) {
    length = read_big_endian(&header_[at], 2);
    at += 2;
  } else if (length7 == kLength64) {
    length = read_big_endian(&header_[at], 8);
    at += 8;
    if ((length >> 63) != 0) {
      return fail(CloseCode::protocol_error, "64-bit length with the most significant bit set");
    }
  }
  if (masked_) std::memcpy(mask_.data(), &header_[at], kMaskKeyBytes);

  if (is_control()) {
    control_size_ = 0;
  } else {
    const std::size_t already = in_message_ ? message_size_ : 0;
    // Refused from the header alone, so an oversized message is never buffered.
    if (length > max_message_bytes_ - already) {
      return fail(CloseCode::message_too_big, "message larger than the maximum");
    }
    if (!in_message_) {
      in_message_ = true;
      message_opcode_ = static_cast<Opcode>(header_[0] & kOpcodeBits);
      message_size_ = 0;
      utf8_.reset();
    }
    if (!reserve_message(already + static_cast<std::size_t>(length))) {
      return fail(CloseCode::internal_error, "out of memory");
    }
  }
  payload_left_ = length;
  payload_seen_ = 0;
  stage_ = Stage::payload;
  return true;
}

bool FrameParser::reserve_message(std::size_t total) noexcept {
  if (total <= message_capacity_) return true;
  // Geometric growth keeps many small fragments linear, capped so the bound holds.
  const std::size_t grown = std::max({total, kMinMessageCapacity, 2 * message_capacity_});
  const std::size_t capacity = std::min(grown, max_message_bytes_);
  std::unique_ptr<char[]> bigger(new (std::nothrow) char[capacity]);
  if (!bigger) return false;
  if (message_size_ > 0) std::memcpy(bigger.get(), message_.get(), message_size_);
  message_ = std::move(bigger);
  message_capacity_ = capacity;
  return true;
}

void FrameParser::unmask(const std::uint8_t* from, char* to, std::size_t n) const noexcept {
  // Eight bytes at a time with the key lined up to this frame offset; a multiple of 4 keeps the
  // alignment for every word.
  std::array<std::uint8_t, 8> key_bytes{};
  for (std::size_t i = 0; i < key_bytes.size(); ++i) key_bytes[i] = mask_[(payload_seen_ + i) & 3];
  std::uint64_t key = 0;
  std::memcpy(&key, key_bytes.data(), sizeof key);
  std::size_t i = 0;
  for (; i + sizeof key <= n; i += sizeof key) {
    std::uint64_t word = 0;
    std::memcpy(&word, from + i, sizeof word);
    word ^= key;
    std::memcpy(to + i, &word, sizeof word);
  }
  for (; i < n; ++i) to[i] = static_cast<char>(from[i] ^ mask_[(payload_seen_ + i) & 3]);
}

bool FrameParser::read_payload(const std::uint8_t* data, std::size_t len,
                               std::size_t* used) noexcept {
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(payload_left_, len));
  *used = n;
  if (n == 0) return true;
  char* dst = is_control() ? control_.data() + control_size_ : message_.get() + message_size_;
  if (masked_) {
    unmask(data, dst, n);
  } else {
    std::memcpy(dst, data, n);
  }
  payload_seen_ += n;
  payload_left_ -= n;
  if (is_control()) {
    control_size_ = static_cast<std::uint8_t>(control_size_ + n);
    return true;
  }
  message_size_ += n;
  if (message_opcode_ == Opcode::text && !utf8_.feed(std::string_view(dst, n))) {
    return fail(CloseCode::invalid_payload, "text message is not valid UTF-8");
  }
  return true;
}

FrameEvent FrameParser::finish_frame() noexcept {
  stage_ = Stage::header;
  header_have_ = 0;
  header_need_ = 2;
  if (is_control()) return finish_control_frame();
  if (!is_fin()) return {};
  if (message_opcode_ == Opcode::text && !utf8_.complete()) {
    fail(CloseCode::invalid_payload, "text message ends inside a UTF-8 sequence");
    return failure();
  }
  in_message_ = false;
  drop_message_ = true;
  FrameEvent event;
  event.kind = FrameEvent::Kind::message;
  event.opcode = message_opcode_;
  event.payload = std::string_view(message_.get(), message_size_);
  return event;
}

FrameEvent FrameParser::finish_control_frame() noexcept {
  const auto op = static_cast<Opcode>(header_[0] & kOpcodeBits);
  const std::string_view body(control_.data(), control_size_);
  FrameEvent event;
  event.opcode = op;
  if (op == Opcode::ping || op == Opcode::pong) {
    event.kind = op == Opcode::ping ? FrameEvent::Kind::ping : FrameEvent::Kind::pong;
    event.payload = body;
    return event;
  }
  if (body.size() == 1) {
    fail(CloseCode::protocol_error, "close frame with a 1-byte payload");
    return failure();
  }
  event.kind = FrameEvent::Kind::close;
  if (body.size() >= 2) {
    const auto code = static_cast<std::uint16_t>(
        read_big_endian(reinterpret_cast<const std::uint8_t*>(body.data()), 2));
    if (!is_valid_close_code(code)) {
      fail(CloseCode::protocol_error, "invalid close code");
      return failure();
    }
    event.reason = body.substr(2);
    if (!is_valid_utf8(event.reason)) {
      fail(CloseCode::invalid_payload, "close reason is not valid UTF-8");
      return failure();
    }
    event.code = static_cast<CloseCode>(code);
  }
  stage_ = Stage::closed;
  return event;
}

void FrameParser::release_buffers() noexcept {
  if (in_message_) return;
  message_.reset();
  message_capacity_ = 0;
  message_size_ = 0;
  drop_message_ = false;
}

std::size_t write_frame_header(std::uint8_t* out, Opcode op, std::uint64_t payload_len, bool fin,
                               const std::uint8_t* mask_key) noexcept {
  out[0] = static_cast<std::uint8_t>((fin ? kFinBit : 0) | static_cast<std::uint8_t>(op));
  const std::uint8_t mask_bit = mask_key != nullptr ? kMaskBit : 0;
  std::size_t n = 2;
  if (payload_len < kLength16) {
    out[1] = static_cast<std::uint8_t>(mask_bit | payload_len);
  } else if (payload_len <= 0xFFFF) {
    out[1] = mask_bit | kLength16;
    for (std::size_t i = 0; i < 2; ++i)
      out[n++] = static_cast<std::uint8_t>(payload_len >> (8 - 8 * i));
  } else {
    out[1] = mask_bit | kLength64;
    for (std::size_t i = 0; i < 8; ++i)
      out[n++] = static_cast<std::uint8_t>(payload_len >> (56 - 8 * i));
  }
  if (mask_key != nullptr) {
    std::memcpy(out + n, mask_key, kMaskKeyBytes);
    n += kMaskKeyBytes;
  }
  return n;
}

void append_frame(std::string& out, Opcode op, std::string_view payload, bool fin,
                  const std::uint8_t* mask_key) {
  std::uint8_t header[kMaxFrameHeaderBytes];
  const std::size_t header_size = write_frame_header(header, op, payload.size(), fin, mask_key);
  out.append(reinterpret_cast<const char*>(header), header_size);
  const std::size_t start = out.size();
  out.append(payload);
  if (mask_key == nullptr) return;
  for (std::size_t i = 0; i < payload.size(); ++i) {
    out[start + i] = static_cast<char>(static_cast<std::uint8_t>(out[start + i]) ^ mask_key[i & 3]);
  }
}

void append_close(std::string& out, CloseCode code, std::string_view reason,
                  const std::uint8_t* mask_key) {
  std::size_t cut = std::min(reason.size(), kMaxCloseReasonBytes);
  // Step back over continuation bytes so the reason stays valid UTF-8.
  while (cut > 0 && cut < reason.size() &&
         (static_cast<std::uint8_t>(reason[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  std::array<char, kMaxControlPayloadBytes> body{};
  const auto value = static_cast<std::uint16_t>(code);
  body[0] = static_cast<char>(value >> 8);
  body[1] = static_cast<char>(value & 0xFF);
  if (cut > 0) std::memcpy(body.data() + 2, reason.data(), cut);
  append_frame(out, Opcode::close, std::string_view(body.data(), 2 + cut), true, mask_key);
}

}  // namespace presence::ws
