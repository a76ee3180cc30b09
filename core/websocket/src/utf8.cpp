#include "presence/utf8.hpp"

#include <cstring>

namespace presence::ws {
namespace {

constexpr std::uint64_t kHighBitsOf8 = 0x8080808080808080ULL;

}  // namespace

bool Utf8Validator::feed_byte(std::uint8_t byte) noexcept {
  if (pending_ > 0) {
    if (byte < low_ || byte > high_) return false;
    --pending_;
    low_ = 0x80;
    high_ = 0xBF;
    return true;
  }
  if (byte < 0x80) return true;
  // The first continuation byte is narrowed for the lead bytes that could otherwise encode an
  // overlong form (E0, F0), a surrogate (ED) or a code point above U+10FFFF (F4).
  if (byte >= 0xC2 && byte <= 0xDF) {
    pending_ = 1;
  } else if (byte >= 0xE0 && byte <= 0xEF) {
    pending_ = 2;
    if (byte == 0xE0) low_ = 0xA0;
    if (byte == 0xED) high_ = 0x9F;
  } else if (byte >= 0xF0 && byte <= 0xF4) {
    pending_ = 3;
    if (byte == 0xF0) low_ = 0x90;
    if (byte == 0xF4) high_ = 0x8F;
  } else {
    return false;
  }
  return true;
}

bool Utf8Validator::feed(std::string_view bytes) noexcept {
  if (failed_) return false;
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  while (p != end) {
    // ASCII runs, the common case for JSON, are checked eight bytes at a time.
    if (pending_ == 0) {
      std::uint64_t word = 0;
      while (end - p >= 8) {
        std::memcpy(&word, p, sizeof word);
        if (word & kHighBitsOf8) break;
        p += 8;
      }
      if (p == end) break;
    }
    if (!feed_byte(static_cast<std::uint8_t>(*p))) {
      failed_ = true;
      return false;
    }
    ++p;
  }
  return true;
}

bool is_valid_utf8(std::string_view s) noexcept {
  Utf8Validator v;
  return v.feed(s) && v.complete();
}

}  // namespace presence::ws
