#include "presence/utf8.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <string>

namespace presence {
namespace {

using namespace presence::ws;

// An independent statement of RFC 3629: decode each sequence to its code point, then check the
// shortest form, the range and the surrogate gap.
bool reference_valid(const std::string& s) {
  static constexpr std::uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<std::uint8_t>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    }
    if ((b >> 5) == 0x6) {
      len = 2;
      cp = b & 0x1F;
    } else if ((b >> 4) == 0xE) {
      len = 3;
      cp = b & 0x0F;
    } else if ((b >> 3) == 0x1E) {
      len = 4;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto c = static_cast<std::uint8_t>(s[i + k]);
      if ((c >> 6) != 0x2) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii that is longer than eight bytes"));
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_TRUE(is_valid_utf8("\xed\x9f\xbf"));      // U+D7FF, just below the surrogates
  EXPECT_TRUE(is_valid_utf8("\xee\x80\x80"));      // U+E000, just above them
  EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF, the last code point
  EXPECT_TRUE(is_valid_utf8(std::string("a\0b", 3)));
}

TEST(Utf8, RefusesOverlongForms) {
  EXPECT_FALSE(is_valid_utf8("\xc0\x80"));
  EXPECT_FALSE(is_valid_utf8("\xc1\xbf"));
  EXPECT_FALSE(is_valid_utf8("\xe0\x9f\xbf"));
  EXPECT_FALSE(is_valid_utf8("\xf0\x8f\xbf\xbf"));
}

TEST(Utf8, RefusesSurrogatesAndCodePointsPastTheEnd) {
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));
  EXPECT_FALSE(is_valid_utf8("\xed\xbf\xbf"));
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // U+110000, one past
  EXPECT_FALSE(is_valid_utf8("\xf5\x80\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xff"));
}

TEST(Utf8, RefusesStrayAndMissingContinuations) {
  EXPECT_FALSE(is_valid_utf8("\x80"));
  EXPECT_FALSE(is_valid_utf8("abc\xc3"));
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));
  EXPECT_FALSE(is_valid_utf8("\xe2\x28\xa1"));
  EXPECT_FALSE(is_valid_utf8("12345678\xf0\x9f\x98"));
}

TEST(Utf8, IncrementalValidatorTracksOpenSequences) {
  Utf8Validator v;
  EXPECT_TRUE(v.feed("ok \xf0\x9f"));
  EXPECT_FALSE(v.complete());
  EXPECT_TRUE(v.feed("\x98"));
  EXPECT_TRUE(v.feed("\x80"));
  EXPECT_TRUE(v.complete());
  EXPECT_FALSE(v.feed("\xc0"));
  EXPECT_FALSE(v.feed("a"));
  EXPECT_FALSE(v.complete());
  v.reset();
  EXPECT_TRUE(v.feed("a"));
  EXPECT_TRUE(v.complete());
}

// Byte strings biased towards the interesting lead and continuation bytes.
rc::Gen<std::string> gen_bytes() {
  return rc::gen::container<std::string>(rc::gen::oneOf(
      rc::gen::arbitrary<char>(),
      rc::gen::map(rc::gen::element<int>(0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0,
                                         0xed, 0xef, 0xf0, 0xf4, 0xf5),
                   [](int b) { return static_cast<char>(b); })));
}

RC_GTEST_PROP(Utf8Property, AgreesWithTheReferenceDecoder, ()) {
  const std::string s = *gen_bytes();
  RC_ASSERT(is_valid_utf8(s) == reference_valid(s));
}

RC_GTEST_PROP(Utf8Property, SplittingDoesNotChangeTheVerdict, ()) {
  const std::string s = *gen_bytes();
  const std::size_t cut = *rc::gen::inRange<std::size_t>(0, s.size() + 1);
  Utf8Validator v;
  const bool fed =
      v.feed(std::string_view(s).substr(0, cut)) && v.feed(std::string_view(s).substr(cut));
  RC_ASSERT((fed && v.complete()) == is_valid_utf8(s));
}

RC_GTEST_PROP(Utf8Property, EncodedCodePointsAreValid, ()) {
  const auto cp = *rc::gen::suchThat(rc::gen::inRange<std::uint32_t>(0, 0x110000),
                                     [](std::uint32_t c) { return c < 0xD800 || c > 0xDFFF; });
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  RC_ASSERT(is_valid_utf8(s));
}

}  // namespace
}  // namespace presence
