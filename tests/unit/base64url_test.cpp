#include "presence/base64url.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace presence {
namespace {

using namespace presence::base64url;

TEST(Base64url, EncodesRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(encode(""), "");
  EXPECT_EQ(encode("f"), "Zg");
  EXPECT_EQ(encode("fo"), "Zm8");
  EXPECT_EQ(encode("foo"), "Zm9v");
  EXPECT_EQ(encode("foob"), "Zm9vYg");
  EXPECT_EQ(encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(encode("foobar"), "Zm9vYmFy");
}

TEST(Base64url, UsesTheUrlAlphabet) {
  EXPECT_EQ(encode("\xfb\xff\xbf"), "-_-_");
  EXPECT_EQ(decode("-_-_"), std::string("\xfb\xff\xbf"));
}

TEST(Base64url, RefusesPaddingAndForeignBytes) {
  EXPECT_EQ(decode("Zg=="), std::nullopt);
  EXPECT_EQ(decode("Zm8="), std::nullopt);
  EXPECT_EQ(decode("+/+/"), std::nullopt);
  EXPECT_EQ(decode("Zm9 v"), std::nullopt);
  EXPECT_EQ(decode(std::string_view("Zm\0v", 4)), std::nullopt);
  EXPECT_EQ(decode("Zm9\xc3\xa9"), std::nullopt);
}

TEST(Base64url, RefusesEveryByteOutsideTheAlphabet) {
  const std::string url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const std::string standard = url.substr(0, 62) + "+/=";
  for (int byte = 0; byte < 256; ++byte) {
    const char c = static_cast<char>(byte);
    EXPECT_EQ(decode(std::string("QUJD") + c + "UJD").has_value(), url.find(c) != url.npos) << byte;
    if (standard.find(c) == standard.npos) {
      const bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
      EXPECT_EQ(base64::decode(std::string("QUJD") + c + "QUI=").has_value(), space) << byte;
    }
  }
}

TEST(Base64url, RefusesImpossibleLengthsAndNonCanonicalBits) {
  EXPECT_EQ(decode("Z"), std::nullopt);
  EXPECT_EQ(decode("Zm9vY"), std::nullopt);
  // "Zh" carries the same byte as "Zg" plus a set trailing bit.
  EXPECT_EQ(decode("Zg"), std::string("f"));
  EXPECT_EQ(decode("Zh"), std::nullopt);
}

TEST(Base64url, StandardVariantTakesPemBodies) {
  EXPECT_EQ(base64::encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64::encode("\xfb\xff\xbf"), "+/+/");
  EXPECT_EQ(base64::decode("Zm9v\r\nYmE=\n"), std::string("fooba"));
  EXPECT_EQ(base64::decode("+/+/"), std::string("\xfb\xff\xbf"));
  EXPECT_EQ(base64::decode("-_-_"), std::nullopt);
  EXPECT_EQ(base64::decode("Zm9vYmE"), std::nullopt);
}

RC_GTEST_PROP(Base64url, DecodeInvertsEncode, (const std::string& bytes)) {
  const std::string text = encode(bytes);
  RC_ASSERT(text.find('=') == std::string::npos);
  RC_ASSERT(decode(text) == bytes);
}

}  // namespace
}  // namespace presence
