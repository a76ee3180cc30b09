#include "presence/ws_handshake.hpp"

#include <type_traits>
#include <utility>

#include <gtest/gtest.h>

namespace presence {
namespace {

using namespace presence::ws;

UpgradeRequest good_request() {
  UpgradeRequest r;
  r.method = "GET";
  r.http_major = 1;
  r.http_minor = 1;
  r.upgrade = "websocket";
  r.connection = "Upgrade";
  r.key = "dGhlIHNhbXBsZSBub25jZQ==";
  r.version = "13";
  r.query_vsn = "2.0.0";
  r.has_vsn = true;
  return r;
}

void expect_refused(const UpgradeRequest& r, int status) {
  const UpgradeCheck check = check_upgrade(r);
  EXPECT_FALSE(check.ok);
  EXPECT_EQ(check.http_status, status);
  EXPECT_FALSE(check.reason.empty());
}

// Refusing allocates nothing, so it cannot throw where nginx calls it.
static_assert(noexcept(check_upgrade(std::declval<const UpgradeRequest&>())));
static_assert(std::is_same_v<decltype(UpgradeCheck::reason), std::string_view>);

TEST(WsHandshake, AcceptsAValidUpgrade) {
  const UpgradeCheck check = check_upgrade(good_request());
  EXPECT_TRUE(check.ok) << check.reason;
}

TEST(WsHandshake, AcceptsTokenListsInAnyCase) {
  UpgradeRequest r = good_request();
  r.upgrade = "h2c, WebSocket";
  r.connection = "keep-alive,\tUPGRADE ";
  r.http_major = 2;
  r.http_minor = 0;
  EXPECT_TRUE(check_upgrade(r).ok);
}

TEST(WsHandshake, RefusesOtherMethods) {
  UpgradeRequest r = good_request();
  r.method = "POST";
  expect_refused(r, kStatusBadRequest);
}

TEST(WsHandshake, RefusesHttp10) {
  UpgradeRequest r = good_request();
  r.http_minor = 0;
  expect_refused(r, kStatusBadRequest);
}

TEST(WsHandshake, RefusesMissingOrWrongUpgradeTokens) {
  UpgradeRequest r = good_request();
  r.upgrade = "";
  expect_refused(r, kStatusBadRequest);
  r.upgrade = "websockets";
  expect_refused(r, kStatusBadRequest);
  r = good_request();
  r.connection = "keep-alive";
  expect_refused(r, kStatusBadRequest);
  r.connection = "upgraded";
  expect_refused(r, kStatusBadRequest);
}

TEST(WsHandshake, OtherVersionsGet426) {
  UpgradeRequest r = good_request();
  r.version = "8";
  expect_refused(r, kStatusUpgradeRequired);
  r.version = "";
  expect_refused(r, kStatusUpgradeRequired);
}

TEST(WsHandshake, KeyMustBeBase64Of16Bytes) {
  UpgradeRequest r = good_request();
  r.key = "";
  expect_refused(r, kStatusBadRequest);
  r.key = "dGhlIHNhbXBsZSBub25jZQ=";  // 23 characters, one short
  expect_refused(r, kStatusBadRequest);
  r.key = "dGhlIHNhbXBsZSBub25jZQ===";  // 25, one past
  expect_refused(r, kStatusBadRequest);
  r.key = "dGhlIHNhbXBsZSBub25jZQAA";  // 18 bytes, no padding
  expect_refused(r, kStatusBadRequest);
  r.key = "dGhlIHNhbXBsZSBub25j*Q==";
  expect_refused(r, kStatusBadRequest);
  r.key = " dGhlIHNhbXBsZSBub25jZQ== ";
  EXPECT_TRUE(check_upgrade(r).ok);
}

TEST(WsHandshake, VsnMustBePresentAndTwoPointZero) {
  UpgradeRequest r = good_request();
  r.has_vsn = false;
  r.query_vsn = "";
  expect_refused(r, kStatusBadRequest);
  r.has_vsn = true;
  r.query_vsn = "1.0.0";
  expect_refused(r, kStatusBadRequest);
}

TEST(QueryParam, FindsTheFirstOccurrenceAndDecodes) {
  EXPECT_EQ(query_param("vsn=2.0.0&token=abc", "vsn"), "2.0.0");
  EXPECT_EQ(query_param("vsn=2.0.0&token=abc", "token"), "abc");
  EXPECT_EQ(query_param("token=a%2Eb%2dc&token=second", "token"), "a.b-c");
  EXPECT_EQ(query_param("q=a+b%20c", "q"), "a b c");
  // An encoded name is not the parameter: "token=" is what log redaction finds.
  EXPECT_EQ(query_param("t%6fken=x", "token"), std::nullopt);
  EXPECT_EQ(query_param("flag&x=1", "flag"), "");
  EXPECT_EQ(query_param("a=1=2", "a"), "1=2");
}

TEST(QueryParam, AbsentOrMalformed) {
  EXPECT_EQ(query_param("", "vsn"), std::nullopt);
  EXPECT_EQ(query_param("vsnx=1&xvsn=2", "vsn"), std::nullopt);
  EXPECT_EQ(query_param("vsn=%2", "vsn"), std::nullopt);
  EXPECT_EQ(query_param("vsn=%", "vsn"), std::nullopt);
  EXPECT_EQ(query_param("vsn=%zz", "vsn"), std::nullopt);
}

}  // namespace
}  // namespace presence
