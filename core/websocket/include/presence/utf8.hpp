// UTF-8 validation for WebSocket text messages (RFC 3629 as required by RFC 6455 section 8.1):
// no overlong forms, no surrogates, nothing above U+10FFFF.
#pragma once

#include <cstdint>
#include <string_view>

namespace presence::ws {

// Validates a text message piece by piece, so a message split over fragments (or over TCP reads)
// is refused at the first bad byte, not after it is fully buffered.
class Utf8Validator {
 public:
  // Feeds the next bytes; returns false once the input seen so far cannot start valid UTF-8.
  // Sticky: after a failure every later call returns false until reset().
  bool feed(std::string_view bytes) noexcept;
  // True when everything fed so far is valid and no multi-byte sequence is left open.
  bool complete() const noexcept { return !failed_ && pending_ == 0; }
  void reset() noexcept { *this = Utf8Validator{}; }

 private:
  bool feed_byte(std::uint8_t byte) noexcept;

  std::uint8_t pending_ = 0;  // continuation bytes still expected
  std::uint8_t low_ = 0x80;   // range allowed for the next continuation byte
  std::uint8_t high_ = 0xBF;
  bool failed_ = false;
};

bool is_valid_utf8(std::string_view s) noexcept;

}  // namespace presence::ws
