#include "presence_feed_count.hpp"

#include <new>

#include "presence/utf8.hpp"

namespace presence::sim {
namespace {

constexpr std::size_t kEventIndex = 3;
constexpr std::size_t kPayloadIndex = 4;
constexpr std::size_t kMessageElements = 5;
constexpr std::string_view kSingleEscapes = "\"\\/bfnrt";       // after a backslash, all but \u
constexpr std::string_view kSingleEscaped = "\"\\/\b\f\n\r\t";  // what each of them stands for
constexpr std::size_t kUnicodeEscapeLength = 6;                 // \uXXXX
constexpr char32_t kHighSurrogateFirst = 0xD800;
constexpr char32_t kLowSurrogateFirst = 0xDC00;
constexpr char32_t kLowSurrogateLast = 0xDFFF;
constexpr char32_t kSupplementaryFirst = 0x10000;
constexpr unsigned kSurrogateBits = 10;

// A string's bytes between its quotes, still escaped; most are compared without decoding.
struct RawString {
  std::string_view text;
  bool escaped = false;
};

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The code unit of a \uXXXX at p (at least six bytes), or -1 if its digits are not hex.
long unicode_escape(const char* p) noexcept {
  long unit = 0;
  for (int i = 2; i < static_cast<int>(kUnicodeEscapeLength); ++i) {
    const int digit = hex_digit(p[i]);
    if (digit < 0) return -1;
    unit = unit * 16 + digit;
  }
  return unit;
}

bool is_high_surrogate(long unit) noexcept {
  return unit >= static_cast<long>(kHighSurrogateFirst) &&
         unit < static_cast<long>(kLowSurrogateFirst);
}

bool is_low_surrogate(long unit) noexcept {
  return unit >= static_cast<long>(kLowSurrogateFirst) &&
         unit <= static_cast<long>(kLowSurrogateLast);
}

void append_utf8(char32_t cp, std::string& out) {
  const auto byte = [](char32_t bits) { return static_cast<char>(bits); };
  if (cp < 0x80) {
    out += byte(cp);
  } else if (cp < 0x800) {
    out += byte(0xC0 | (cp >> 6));
    out += byte(0x80 | (cp & 0x3F));
  } else if (cp < kSupplementaryFirst) {
    out += byte(0xE0 | (cp >> 12));
    out += byte(0x80 | ((cp >> 6) & 0x3F));
    out += byte(0x80 | (cp & 0x3F));
  } else {
    out += byte(0xF0 | (cp >> 18));
    out += byte(0x80 | ((cp >> 12) & 0x3F));
    out += byte(0x80 | ((cp >> 6) & 0x3F));
    out += byte(0x80 | (cp & 0x3F));
  }
}

// Decodes a string the scanner has already checked, so every escape in it is complete and its
// surrogates are paired.
std::string unescape(RawString raw) {
  if (!raw.escaped) return std::string(raw.text);
  std::string out;
  const std::string_view s = raw.text;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    const std::size_t single = kSingleEscapes.find(s[++i]);
    if (single != std::string_view::npos) {
      out += kSingleEscaped[single];
      continue;
    }
    auto cp = static_cast<char32_t>(unicode_escape(&s[i - 1]));
    i += kUnicodeEscapeLength - 2;
    if (is_high_surrogate(static_cast<long>(cp))) {
      const auto low = static_cast<char32_t>(unicode_escape(&s[i + 1]));
      cp = kSupplementaryFirst + ((cp - kHighSurrogateFirst) << kSurrogateBits) +
           (low - kLowSurrogateFirst);
      i += kUnicodeEscapeLength;
    }
    append_utf8(cp, out);
  }
  return out;
}

bool names(RawString raw, std::string_view name) {
  return raw.escaped ? unescape(raw) == name : raw.text == name;
}

// A recursive-descent pass that checks the JSON grammar as it goes and counts the metas where the
// message's shape puts them. Every read is bounds-checked against end_; nesting is bounded by
// kMaxFeedNesting, which also bounds the recursion.
class FeedScanner {
 public:
  explicit FeedScanner(std::string_view text) noexcept
      : p_(text.data()), end_(text.data() + text.size()) {}

  bool scan_message(FeedCount& out) {
    if (!at('[')) return false;
    std::size_t elements = 0;
    const bool scanned = scan_array([&](std::size_t index) {
      elements = index + 1;
      if (index < kEventIndex) return skip_value();
      if (index == kEventIndex) return scan_event(out);
      if (index == kPayloadIndex) return scan_payload(out);
      return false;
    });
    skip_whitespace();
    return scanned && elements == kMessageElements && p_ == end_;
  }

 private:
  bool scan_event(FeedCount& out) {
    RawString event;
    if (!at('"') || !scan_string(event)) return false;
    out.event = unescape(event);
    out.is_state = out.event == "presence_state";
    return true;
  }

  bool scan_payload(FeedCount& out) {
    if (!at('{')) return false;
    if (out.is_state) {
      return scan_object([&](RawString) { return scan_presences_entry(1, out.metas); });
    }
    if (out.event != "presence_diff") return skip_value();
    return scan_object([&](RawString key) {
      if (names(key, "joins")) return scan_presences(1, out.metas);
      if (names(key, "leaves")) return scan_presences(-1, out.metas);
      return skip_value();
    });
  }

  // {"<key>": {"metas": [...]}, ...}: each meta adds sign to metas.
  bool scan_presences(int sign, std::int64_t& metas) {
    if (!at('{')) return skip_value();
    return scan_object([&](RawString) { return scan_presences_entry(sign, metas); });
  }

  bool scan_presences_entry(int sign, std::int64_t& metas) {
    if (!at('{')) return skip_value();
    return scan_object([&](RawString key) {
      if (!names(key, "metas") || !at('[')) return skip_value();
      return scan_array([&](std::size_t) {
        if (at('{')) metas += sign;
        return skip_value();
      });
    });
  }

  bool skip_value() {
    skip_whitespace();
    if (p_ == end_) return false;
    switch (*p_) {
      case '{':
        return scan_object([&](RawString) { return skip_value(); });
      case '[':
        return scan_array([&](std::size_t) { return skip_value(); });
      case '"': {
        RawString ignored;
        return scan_string(ignored);
      }
      case 't':
        return skip_literal("true");
      case 'f':
        return skip_literal("false");
      case 'n':
        return skip_literal("null");
      default:
        return skip_number();
    }
  }

  // At '{': calls on_member(key) with p_ at the member's value, which it must consume.
  template <typename OnMember>
  bool scan_object(OnMember on_member) {
    if (++depth_ > kMaxFeedNesting) return false;
    ++p_;
    if (!at('}')) {
      do {
        RawString key;
        if (!at('"') || !scan_string(key) || !consume(':') || !on_member(key)) return false;
      } while (consume(','));
      if (!at('}')) return false;
    }
    ++p_;
    --depth_;
    return true;
  }

  // At '[': calls on_element(index) with p_ before the element, which it must consume.
  template <typename OnElement>
  bool scan_array(OnElement on_element) {
    if (++depth_ > kMaxFeedNesting) return false;
    ++p_;
    if (!at(']')) {
      std::size_t index = 0;
      do {
        if (!on_element(index++)) return false;
      } while (consume(','));
      if (!at(']')) return false;
    }
    ++p_;
    --depth_;
    return true;
  }

  // At '"': moves past the closing quote. The fast loop only stops at a quote, a backslash, a
  // control byte or a non-ASCII byte; the last are checked as UTF-8 once the string is closed.
  bool scan_string(RawString& out) {
    const char* const start = ++p_;
    bool non_ascii = false;
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out.text = std::string_view(start, static_cast<std::size_t>(p_ - start));
        ++p_;
        return !non_ascii || ws::is_valid_utf8(out.text);
      }
      if (c == '\\') {
        if (!skip_escape()) return false;
        out.escaped = true;
      } else if (c < 0x20) {
        return false;
      } else {
        if (c >= 0x80) non_ascii = true;
        ++p_;
      }
    }
    return false;
  }

  // At '\\': one escape, or a surrogate pair of \u escapes, as JSON allows.
  bool skip_escape() {
    if (end_ - p_ < 2) return false;
    if (p_[1] != 'u') {
      if (kSingleEscapes.find(p_[1]) == std::string_view::npos) return false;
      p_ += 2;
      return true;
    }
    const long unit = unicode_escape_at();
    if (unit < 0 || is_low_surrogate(unit)) return false;
    p_ += kUnicodeEscapeLength;
    if (!is_high_surrogate(unit)) return true;
    if (p_ == end_ || *p_ != '\\' || !is_low_surrogate(unicode_escape_at())) return false;
    p_ += kUnicodeEscapeLength;
    return true;
  }

  // The code unit of a \uXXXX at p_, or -1 if it is cut short or malformed.
  long unicode_escape_at() const noexcept {
    if (end_ - p_ < static_cast<std::ptrdiff_t>(kUnicodeEscapeLength) || p_[1] != 'u') return -1;
    return unicode_escape(p_);
  }

  bool skip_literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::string_view(p_, word.size()) != word) {
      return false;
    }
    p_ += word.size();
    return true;
  }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
  bool skip_number() {
    if (p_ != end_ && *p_ == '-') ++p_;
    if (p_ != end_ && *p_ == '0') {
      ++p_;
    } else if (!skip_digits()) {
      return false;
    }
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (!skip_digits()) return false;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!skip_digits()) return false;
    }
    return true;
  }

  // True if at least one digit was skipped.
  bool skip_digits() noexcept {
    const char* const start = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    return p_ != start;
  }

  void skip_whitespace() noexcept {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  // Skips whitespace; true if the next byte is c (left in place).
  bool at(char c) noexcept {
    skip_whitespace();
    return p_ != end_ && *p_ == c;
  }

  // Skips whitespace; true (and moves past it) if the next byte is c.
  bool consume(char c) noexcept {
    if (!at(c)) return false;
    ++p_;
    return true;
  }

  const char* p_;
  const char* const end_;
  int depth_ = 0;
};

}  // namespace

FeedCount count_feed_metas(std::string_view text) noexcept {
  try {
    FeedCount count;
    if (FeedScanner(text).scan_message(count)) {
      count.ok = true;
      return count;
    }
  } catch (const std::bad_alloc&) {
    // An event or key too large to decode is no feed message either.
  }
  return FeedCount{};
}

}  // namespace presence::sim
