#include "presence/log_redaction.hpp"

#include <string>

#include <gtest/gtest.h>

namespace presence {
namespace {

std::string redacted(std::string_view line) {
  std::string out(line.size(), '\0');
  out.resize(redact_credentials(line, out.data()));
  return out;
}

constexpr std::string_view kJwt =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYXJ0LTEiLCJyb2xlIjoiYWRtaW4ifQ.c2lnbmF0dXJl";

TEST(LogRedaction, RemovesTheTokenFromRequestLinesAndQueryStrings) {
  const std::string token(kJwt);
  EXPECT_EQ(redacted("http request line: \"GET /socket/websocket?vsn=2.0.0&token=" + token +
                     " HTTP/1.1\"\n"),
            "http request line: \"GET /socket/websocket?vsn=2.0.0&token=[redacted] HTTP/1.1\"\n");
  EXPECT_EQ(redacted("http args: \"token=" + token + "&vsn=2.0.0\""),
            "http args: \"token=[redacted]&vsn=2.0.0\"");
  EXPECT_EQ(redacted("request: \"GET /x?token=" + token + "\", host: \"a\""),
            "request: \"GET /x?token=[redacted]\", host: \"a\"");
  EXPECT_EQ(redacted("a?token=" + token + "&token=" + token),
            "a?token=[redacted]&token=[redacted]");
  EXPECT_EQ(redacted("?access_token=" + token), "?access_token=[redacted]");
}

TEST(LogRedaction, RemovesCartCookiesAndAuthorizationHeaders) {
  EXPECT_EQ(redacted("http header: \"Cookie: a=1; presence_cart=cart-0123456789.abcdefgh\""),
            "http header: \"Cookie: a=1; presence_cart=[redacted]\"");
  EXPECT_EQ(redacted("http header: \"Authorization: Basic YWRtaW46bGF1bmNoLWRheQ==\"\n"),
            "http header: \"Authorization: [redacted]\"\n");
  EXPECT_EQ(redacted("authorization:   Bearer abcdefghijkl"), "authorization:   [redacted]");
}

TEST(LogRedaction, NeverLengthensALine) {
  EXPECT_EQ(redacted("?token=abc&vsn=2.0.0"), "?token=***&vsn=2.0.0");
  EXPECT_EQ(redacted("?token=&vsn"), "?token=&vsn");
  EXPECT_EQ(redacted("token="), "token=");
  EXPECT_EQ(redacted("?token=0123456789"), "?token=[redacted]");
  EXPECT_EQ(redacted("?token=012345678"), "?token=*********");
}

TEST(LogRedaction, LeavesOtherTextAlone) {
  for (std::string_view line : {"", "presence: websocket refused (403): expired at 1",
                                "tokens=3 TOKEN=x", "GET /socket/websocket?vsn=2.0.0 HTTP/1.1"}) {
    EXPECT_EQ(redacted(line), line);
  }
}

}  // namespace
}  // namespace presence
