#include "presence/phoenix_message.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>

namespace presence {
namespace {

using namespace presence::phoenix;

using nlohmann::json;

TEST(PhoenixMessage, ParsesAJoin) {
  const Result<Message> p = parse_message(
      R"(["3","3","cart:c1","phx_join",{"page":"/","items":[{"product":"p","size":"9"}]}])");
  ASSERT_TRUE(p) << p.reason();
  EXPECT_EQ(p->join_ref, "3");
  EXPECT_EQ(p->ref, "3");
  EXPECT_EQ(p->topic, "cart:c1");
  EXPECT_EQ(p->event, "phx_join");
  EXPECT_EQ(p->payload["items"][0]["size"], "9");
}

TEST(PhoenixMessage, ParsesAHeartbeatWithNullJoinRef) {
  const Result<Message> p = parse_message(R"([null,"7","phoenix","heartbeat",{}])");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->join_ref, std::nullopt);
  EXPECT_EQ(p->ref, "7");
  EXPECT_TRUE(p->payload.is_object());
}

TEST(PhoenixMessage, PayloadMayBeAnyJson) {
  EXPECT_TRUE(parse_message(R"([null,null,"t","e",null])"));
  EXPECT_EQ(parse_message(R"([null,null,"t","e",[1,2]])")->payload, json({1, 2}));
}

TEST(PhoenixMessage, RefusesNonJson) {
  for (const char* text :
       {"", "[", "not json", R"(["a","b","c","d",{}] x)", "[1,]", R"([null,null,"t","e",1e400])"}) {
    const Result<Message> p = parse_message(text);
    EXPECT_EQ(p.code(), Errc::malformed) << text;
    EXPECT_EQ(p.reason(), "not JSON");
  }
}

TEST(PhoenixMessage, RefusesNonArrays) {
  for (const char* text : {R"({"topic":"t"})", "42"}) {
    const Result<Message> p = parse_message(text);
    EXPECT_EQ(p.code(), Errc::invalid) << text;
    EXPECT_EQ(p.reason(), "not a JSON array") << text;
  }
}

TEST(PhoenixMessage, RefusesWrongArity) {
  for (const char* text : {R"([null,null,"t","e"])", R"([null,null,"t","e",{},{}])", "[]"}) {
    const Result<Message> p = parse_message(text);
    EXPECT_EQ(p.code(), Errc::invalid) << text;
    EXPECT_EQ(p.reason(), "expected [join_ref, ref, topic, event, payload]") << text;
  }
}

TEST(PhoenixMessage, RefusesWrongFieldTypes) {
  for (const char* text :
       {R"([1,null,"t","e",{}])", R"([null,2,"t","e",{}])", R"([null,null,3,"e",{}])",
        R"([null,null,"t",null,{}])", R"([null,{},"t","e",{}])"}) {
    const Result<Message> p = parse_message(text);
    EXPECT_EQ(p.code(), Errc::invalid) << text;
    EXPECT_NE(p.reason().find(" must be a string"), std::string::npos) << p.reason();
  }
}

std::string nested(std::size_t depth) {
  // The message array is level 1; the payload adds depth - 1 levels of arrays.
  return R"([null,null,"t","e",)" + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "]";
}

TEST(PhoenixMessage, NestingAtTheLimitPassesAndOneDeeperFails) {
  EXPECT_TRUE(parse_message(nested(kMaxJsonDepth)));
  EXPECT_EQ(parse_message(nested(kMaxJsonDepth + 1)).code(), Errc::too_large);
}

TEST(PhoenixMessage, BracketsInsideStringsDoNotCountAsNesting) {
  const std::string deep_looking = "\"" + std::string(kMaxJsonDepth * 2, '[') + "\\\"{\"";
  EXPECT_TRUE(parse_message(R"([null,null,"t","e",{"s":)" + deep_looking + "}]"));
}

TEST(PhoenixMessage, EncodesAReply) {
  const std::string text =
      encode_reply(std::string("1"), std::string("2"), "cart:c1", "ok", json::object());
  EXPECT_EQ(text, R"(["1","2","cart:c1","phx_reply",{"status":"ok","response":{}}])");
  const std::string err = encode_reply(std::nullopt, std::string("9"), "phoenix", "error",
                                       json{{"reason", "unauthorized"}});
  EXPECT_EQ(
      err,
      R"([null,"9","phoenix","phx_reply",{"status":"error","response":{"reason":"unauthorized"}}])");
}

TEST(PhoenixMessage, EncodesAPushWithNullRef) {
  EXPECT_EQ(encode_push(std::string("4"), "admin:stats", "stats", R"({"shoppers":1})"),
            R"(["4",null,"admin:stats","stats",{"shoppers":1}])");
  EXPECT_EQ(encode_push(std::nullopt, "t", "e", "{}"), R"([null,null,"t","e",{}])");
}

TEST(PhoenixMessage, APushWrittenInPlaceIsTheEncodedPush) {
  std::string out = "prefix";
  append_push_head(out, std::nullopt, "admin:cart_tracker", "presence_diff");
  out += R"({"joins":{},"leaves":{}})";
  append_push_tail(out);
  EXPECT_EQ(out, "prefix" + encode_push(std::nullopt, "admin:cart_tracker", "presence_diff",
                                        R"({"joins":{},"leaves":{}})"));
}

TEST(PhoenixMessage, EscapesStrings) {
  std::string out;
  append_json_string(out, std::string("q\"b\\n\n\x01\x1f\x7f\xc3\xa9", 11));
  EXPECT_EQ(out, "\"q\\\"b\\\\n\\u000a\\u0001\\u001f\x7f\xc3\xa9\"");
  EXPECT_EQ(json::parse(out), std::string("q\"b\\n\n\x01\x1f\x7f\xc3\xa9", 11));
}

TEST(PhoenixMessage, ReplyWithInvalidUtf8InTheResponseStillEncodes) {
  const std::string text = encode_reply(std::nullopt, std::nullopt, "t", "error",
                                        json{{"reason", std::string("bad \xff")}});
  EXPECT_TRUE(parse_message(text));
}

RC_GTEST_PROP(PhoenixMessageProperty, EncodedRepliesParseBack,
              (const std::string& topic, const std::string& ref, const std::string& value)) {
  // Drops the bytes that are not UTF-8, as Phoenix topics and refs always are.
  const auto clean = [](const std::string& s) {
    return json::parse(json(s).dump(-1, ' ', false, json::error_handler_t::ignore))
        .get<std::string>();
  };
  const std::string t = clean(topic);
  const std::string r = clean(ref);
  const json response{{"value", clean(value)}};
  const Result<Message> p = parse_message(encode_reply(std::nullopt, r, t, "ok", response));
  RC_ASSERT(static_cast<bool>(p));
  RC_ASSERT(!p->join_ref.has_value());
  RC_ASSERT(p->ref == r);
  RC_ASSERT(p->topic == t);
  RC_ASSERT(p->event == std::string(kReplyEvent));
  RC_ASSERT(p->payload == json({{"status", "ok"}, {"response", response}}));
}

}  // namespace
}  // namespace presence
