#include "presence/phoenix_message.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>

namespace presence::phoenix {
namespace {

using nlohmann::json;

TEST(PhoenixMessage, ParsesAJoin) {
  const Parsed p = parse_message(
      R"(["3","3","cart:c1","phx_join",{"page":"/","items":[{"product":"p","size":"9"}]}])");
  ASSERT_EQ(p.error, ParseError::none) << p.reason;
  EXPECT_EQ(p.msg.join_ref, "3");
  EXPECT_EQ(p.msg.ref, "3");
  EXPECT_EQ(p.msg.topic, "cart:c1");
  EXPECT_EQ(p.msg.event, "phx_join");
  EXPECT_EQ(p.msg.payload["items"][0]["size"], "9");
}

TEST(PhoenixMessage, ParsesAHeartbeatWithNullJoinRef) {
  const Parsed p = parse_message(R"([null,"7","phoenix","heartbeat",{}])");
  ASSERT_EQ(p.error, ParseError::none);
  EXPECT_EQ(p.msg.join_ref, std::nullopt);
  EXPECT_EQ(p.msg.ref, "7");
  EXPECT_TRUE(p.msg.payload.is_object());
}

TEST(PhoenixMessage, PayloadMayBeAnyJson) {
  EXPECT_EQ(parse_message(R"([null,null,"t","e",null])").error, ParseError::none);
  EXPECT_EQ(parse_message(R"([null,null,"t","e",[1,2]])").msg.payload, json({1, 2}));
}

TEST(PhoenixMessage, RefusesNonJson) {
  for (const char* text :
       {"", "[", "not json", R"(["a","b","c","d",{}] x)", "[1,]", R"([null,null,"t","e",1e400])"}) {
    const Parsed p = parse_message(text);
    EXPECT_EQ(p.error, ParseError::not_json) << text;
    EXPECT_FALSE(p.reason.empty());
  }
}

TEST(PhoenixMessage, RefusesNonArrays) {
  EXPECT_EQ(parse_message(R"({"topic":"t"})").error, ParseError::not_array);
  EXPECT_EQ(parse_message("42").error, ParseError::not_array);
}

TEST(PhoenixMessage, RefusesWrongArity) {
  EXPECT_EQ(parse_message(R"([null,null,"t","e"])").error, ParseError::wrong_arity);
  EXPECT_EQ(parse_message(R"([null,null,"t","e",{},{}])").error, ParseError::wrong_arity);
  EXPECT_EQ(parse_message("[]").error, ParseError::wrong_arity);
}

TEST(PhoenixMessage, RefusesWrongFieldTypes) {
  for (const char* text :
       {R"([1,null,"t","e",{}])", R"([null,2,"t","e",{}])", R"([null,null,3,"e",{}])",
        R"([null,null,"t",null,{}])", R"([null,{},"t","e",{}])"}) {
    const Parsed p = parse_message(text);
    EXPECT_EQ(p.error, ParseError::bad_field_type) << text;
    EXPECT_FALSE(p.reason.empty());
  }
}

std::string nested(std::size_t depth) {
  // The message array is level 1; the payload adds depth - 1 levels of arrays.
  return R"([null,null,"t","e",)" + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "]";
}

TEST(PhoenixMessage, NestingAtTheLimitPassesAndOneDeeperFails) {
  EXPECT_EQ(parse_message(nested(kMaxJsonDepth)).error, ParseError::none);
  EXPECT_EQ(parse_message(nested(kMaxJsonDepth + 1)).error, ParseError::too_deep);
}

TEST(PhoenixMessage, BracketsInsideStringsDoNotCountAsNesting) {
  const std::string deep_looking = "\"" + std::string(kMaxJsonDepth * 2, '[') + "\\\"{\"";
  EXPECT_EQ(parse_message(R"([null,null,"t","e",{"s":)" + deep_looking + "}]").error,
            ParseError::none);
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
  EXPECT_EQ(parse_message(text).error, ParseError::none);
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
  const Parsed p = parse_message(encode_reply(std::nullopt, r, t, "ok", response));
  RC_ASSERT(p.error == ParseError::none);
  RC_ASSERT(!p.msg.join_ref.has_value());
  RC_ASSERT(p.msg.ref == r);
  RC_ASSERT(p.msg.topic == t);
  RC_ASSERT(p.msg.event == std::string(kReplyEvent));
  RC_ASSERT(p.msg.payload == json({{"status", "ok"}, {"response", response}}));
}

}  // namespace
}  // namespace presence::phoenix
