#include "presence_feed_count.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace presence::sim {
namespace {

TEST(FeedCount, StateCountsEveryMetaOfEveryKeyAndNothingNested) {
  const FeedCount c = count_feed_metas(
      R"(["2",null,"admin:cart_tracker","presence_state",)"
      R"({"cart-1":{"metas":[{"phx_ref":"a","page":"/","items":[{"product":"x","size":"9","qty":1}]},)"
      R"({"phx_ref":"b","page":"/cart","items":[]}]},"cart-2":{"metas":[{"phx_ref":"c","items":[]}]}}])");
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.event, "presence_state");
  EXPECT_TRUE(c.is_state);
  EXPECT_EQ(c.metas, 3);
}

TEST(FeedCount, DiffCountsJoinsMinusLeaves) {
  const FeedCount c = count_feed_metas(
      R"(["2",null,"admin:cart_tracker","presence_diff",{"joins":{"cart-1":{"metas":[)"
      R"({"phx_ref":"b","phx_ref_prev":"a","items":[{"product":"x","size":"9","qty":2}]}]},)"
      R"("cart-3":{"metas":[{"phx_ref":"d"}]}},"leaves":{"cart-1":{"metas":[{"phx_ref":"a"}]}}}])");
  ASSERT_TRUE(c.ok);
  EXPECT_FALSE(c.is_state);
  EXPECT_EQ(c.metas, 1);
  const FeedCount empty = count_feed_metas(
      R"(["2",null,"admin:cart_tracker","presence_diff",{"joins":{},"leaves":{}}])");
  ASSERT_TRUE(empty.ok);
  EXPECT_EQ(empty.metas, 0);
}

TEST(FeedCount, OtherMessagesAreNamedAndBrokenOnesRefused) {
  const FeedCount reply = count_feed_metas(
      R"(["2","2","admin:cart_tracker","phx_reply",{"status":"ok","response":{}}])");
  ASSERT_TRUE(reply.ok);
  EXPECT_EQ(reply.event, "phx_reply");
  EXPECT_EQ(reply.metas, 0);
  EXPECT_FALSE(count_feed_metas(R"(["2",null,"admin:cart_tracker","presence_state",{)").ok);
  EXPECT_FALSE(count_feed_metas(R"(["2",null,"admin:cart_tracker","presence_state"])").ok);
  EXPECT_FALSE(count_feed_metas(R"({"event":"presence_state"})").ok);
  EXPECT_FALSE(count_feed_metas("").ok);
}

TEST(FeedCount, EscapesAreDecodedAndBracketsInsideStringsAreNotStructure) {
  const FeedCount c = count_feed_metas(
      R"(["2",null,"admin:cart_tracker","presence\u005fstate",)"
      R"({"cart-\"1\\":{"metas":[{"page":"/a\"]}{[","note":"\u007b\\\"}"},{"page":"}]"}]},)"
      R"("{\"metas\":[{}]}":{"metas":[{"page":"\/\b\f\n\r\t"}]}}])");
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.event, "presence_state");
  EXPECT_TRUE(c.is_state);
  EXPECT_EQ(c.metas, 3);
}

TEST(FeedCount, SurrogatePairsDecodeAndLoneSurrogatesAreRefused) {
  const FeedCount pair =
      count_feed_metas(R"(["2",null,"t","go \ud83d\uDE00",{"k":"\ud83d\ude00 and \u00e9"}])");
  ASSERT_TRUE(pair.ok);
  EXPECT_EQ(pair.event, "go \xF0\x9F\x98\x80");
  EXPECT_EQ(count_feed_metas(R"(["2",null,"t","caf\u00e9\u20ac",{}])").event,
            "caf\xC3\xA9\xE2\x82\xAC");
  for (const char* lone : {R"("\ud83d")", R"("\ude00")", R"("\ud83d\u0041")", R"("\ud83dx")",
                           R"("\ud83d\n")", R"("\ude00\ud83d")"}) {
    EXPECT_FALSE(count_feed_metas(std::string(R"(["2",null,"t","e",{"k":)") + lone + "}]").ok)
        << lone;
  }
}

TEST(FeedCount, WhitespaceAnywhereBetweenTokens) {
  const FeedCount c = count_feed_metas(
      " \r\n\t[ \"2\" ,\n null ,\t\"admin:cart_tracker\" , \"presence_diff\" ,\r\n"
      " { \"joins\" : { \"cart-1\" : { \"metas\" : [ { \"phx_ref\" : \"b\" } ,\n\n{ } ] } } ,"
      " \"leaves\" :\t{ } } ] \n\t ");
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.metas, 2);
}

TEST(FeedCount, DiffKeysInAnyOrderAndUnknownOnesIgnored) {
  const FeedCount c = count_feed_metas(
      R"(["2",null,"admin:cart_tracker","presence_diff",{)"
      R"("leaves":{"a":{"metas":[{"phx_ref":"1"},{"phx_ref":"2"}]},"b":{"metas":[{}]}},)"
      R"("extra":{"c":{"metas":[{},{},{},{}]}},"count":7,)"
      R"("joins":{"c":{"metas":[{"phx_ref":"3"}]}},)"
      R"("jo\u0069ns":{"d":{"metas":[{}]}}}])");
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.metas, 1 + 1 - 3);  // both spellings of joins, minus the leaves
}

TEST(FeedCount, OnlyObjectsDirectlyInAMetasListAreMetas) {
  const FeedCount c = count_feed_metas(
      R"(["2",null,"admin:cart_tracker","presence_state",{)"
      R"("a":{"metas":[{"items":[{"product":"x"},{"product":"y"}],"metas":[{},{}]},"not a meta",7]},)"
      R"("b":{"other":[{},{}],"metas":{"x":{}},"m":{"metas":[{}]}},)"
      R"("c":[{"metas":[{}]}],"d":"metas","e":{"metas":[[{}],{"deep":{"metas":[{}]}}]}}])");
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.metas, 2);  // the one object in a's list and the second in e's
}

TEST(FeedCount, NumbersAndLiteralsFollowTheJsonGrammar) {
  for (const char* value : {"0", "-0", "12", "-0.5", "1.25e+10", "3E-2", "1e5", "true", "false",
                            "null", "[]", "{}", "\"\""}) {
    EXPECT_TRUE(count_feed_metas(std::string(R"([)") + value + R"(,1,"t","e",{}])").ok) << value;
  }
  for (const char* value : {"01", "1.", ".5", "-", "+1", "1e", "1e+", "0x1", "tru", "nul", "True",
                            "NaN", "1.2.3", "--1", ""}) {
    EXPECT_FALSE(count_feed_metas(std::string(R"([)") + value + R"(,1,"t","e",{}])").ok) << value;
  }
}

TEST(FeedCount, MalformedMessagesAreRefused) {
  const char* const broken[] = {
      R"(["2",null,"t","presence_state",{"a":{"metas":[{}]}])",    // object closed by ]
      R"(["2",null,"t","presence_state",{"a":{"metas":[{}]}}}])",  // one } too many
      R"(["2",null,"t","presence_state",{"a":{"metas":[{}}]}}])",  // crossed brackets
      R"(["2",null,"t","presence_state",{"a":"unterminated}])",    // string runs to the end
      R"(["2",null,"t","presence_state",{}]x)",                    // trailing garbage
      R"(["2",null,"t","presence_state",{}]])",                    // a second close
      R"(["2",null,"t","presence_state",{}] [])",                  // a second value
      R"(["2",null,"t",{}])",                                      // four elements
      R"(["2",null,"t","presence_state",{},{}])",                  // six elements
      R"(["2",null,"t",7,{}])",                                    // event not a string
      R"(["2",null,"t",null,{}])",                                 // event null
      R"(["2",null,"t","presence_state",[]])",                     // payload not an object
      R"(["2",null,"t","presence_state","{}"])",                   // payload a string
      R"(["2",null,"t","presence_state",{"a":1,}])",               // trailing comma
      R"(["2",null,"t","presence_state",{"a" 1}])",                // missing colon
      R"(["2",null,"t","presence_state",{"a":1 "b":2}])",          // missing comma
      R"(["2" null,"t","presence_state",{}])",                     // missing comma
      R"(["2",null,"t","presence_state",{a:1}])",                  // key not a string
      R"(["2",null,"t","presence_state",{1:1}])",                  // key not a string
      R"(["2",null,"t","presence_state",{"a":"\x"}])",             // unknown escape
      R"(["2",null,"t","presence_state",{"a":"\u12"}])",           // short \u
      R"(["2",null,"t","presence_state",{"a":"\u12g4"}])",         // not hex
      R"(["2",null,"t","presence_state",{"a":"\"}])",              // escaped closing quote
      R"(["2",null,"t","presence_state",{"a":"\)",                 // backslash at the end
      "[\"2\",null,\"t\",\"e\",{\"a\":\"tab\there\"}]",            // raw control byte
      "[\"2\",null,\"t\",\"e\",{\"a\":\"line\nbreak\"}]",          // raw newline
      "[\"2\",null,\"t\",\"e\",{\"a\":\"\xC3(\"}]",                // bad UTF-8 continuation
      "[\"2\",null,\"t\",\"e\",{\"a\":\"\xC0\xAF\"}]",             // overlong UTF-8
      "[\"2\",null,\"t\",\"e\",{\"a\":\"\xED\xA0\x80\"}]",         // UTF-8 surrogate
      "[\"2\",null,\"t\",\"e\",{\"a\":\"\xE2\x82\"}]",             // cut UTF-8 sequence
      "[\"2\",null,\"t\",\"e\",{\"a\":1}\xC3\xA9]",                // non-ASCII outside strings
      "[]",
      "[",
      "]",
      "{}",
      "\"presence_state\"",
      " ",
      "null"};
  for (const char* text : broken) EXPECT_FALSE(count_feed_metas(text).ok) << text;
  std::string with_nul = R"(["2",null,"t","e",{}])";
  ASSERT_TRUE(count_feed_metas(with_nul).ok);
  // A NUL after the message is trailing garbage like any other byte (nlohmann stops at it).
  with_nul += '\0';
  EXPECT_FALSE(count_feed_metas(with_nul).ok);
}

std::string nested_payload(int containers) {
  return R"(["2",null,"t","presence_state",{"x":)" + std::string(containers, '[') +
         std::string(containers, ']') + "}]";
}

TEST(FeedCount, NestingIsBoundedAtTheLimit) {
  constexpr int kMessageAndPayload = 2;
  const FeedCount at_limit = count_feed_metas(nested_payload(kMaxFeedNesting - kMessageAndPayload));
  EXPECT_TRUE(at_limit.ok);
  EXPECT_EQ(at_limit.metas, 0);
  EXPECT_FALSE(count_feed_metas(nested_payload(kMaxFeedNesting - kMessageAndPayload + 1)).ok);
  EXPECT_FALSE(count_feed_metas(std::string(100000, '[')).ok);
}

// Each prefix sits in a heap buffer of its own size, so a read past it is an ASan error.
TEST(FeedCount, EveryTruncationIsRefusedWithoutReadingPastIt) {
  const std::string message =
      "[\"2\",null,\"admin:cart_tracker\",\"presence_diff\",{\"joins\":{\"c\\\"1\":{\"metas\":"
      "[{\"phx_ref\":\"b\\u00e9\\ud83d\\ude00\",\"qty\":-12.5e+3,\"ok\":true,\"no\":false,"
      "\"items\":[{\"p\":\"caf\xC3\xA9 \xF0\x9F\x98\x80\"}],\"n\":null}]}},"
      "\"leaves\":{\"c2\":{\"metas\":[{\"phx_ref\":\"a\\\\\"}]}}}]";
  const FeedCount whole = count_feed_metas(message);
  ASSERT_TRUE(whole.ok);
  EXPECT_EQ(whole.metas, 0);
  for (std::size_t length = 0; length < message.size(); ++length) {
    const auto prefix = std::make_unique<char[]>(length + 1);  // +1: never a zero-size buffer
    message.copy(prefix.get(), length);
    EXPECT_FALSE(count_feed_metas(std::string_view(prefix.get(), length)).ok) << length;
  }
}

// The oracle: the same count taken from nlohmann's document of the message.
std::int64_t metas_in(const nlohmann::json& presences) {
  std::int64_t metas = 0;
  if (!presences.is_object()) return 0;
  for (const auto& entry : presences) {
    if (!entry.is_object() || !entry.contains("metas") || !entry["metas"].is_array()) continue;
    for (const auto& meta : entry["metas"]) metas += meta.is_object() ? 1 : 0;
  }
  return metas;
}

FeedCount count_from_document(std::string_view text) {
  const nlohmann::json message = nlohmann::json::parse(text, nullptr, false);
  FeedCount count;
  if (message.is_discarded() || !message.is_array() || message.size() != 5 ||
      !message[3].is_string() || !message[4].is_object()) {
    return count;
  }
  count.ok = true;
  count.event = message[3].get<std::string>();
  count.is_state = count.event == "presence_state";
  const nlohmann::json& payload = message[4];
  if (count.is_state) count.metas = metas_in(payload);
  if (count.event == "presence_diff") {
    count.metas = metas_in(payload.value("joins", nlohmann::json())) -
                  metas_in(payload.value("leaves", nlohmann::json()));
  }
  return count;
}

// Strings with every character class the scanner treats apart: quotes, backslashes, brackets,
// control bytes (escaped by the serializer), multi-byte UTF-8 and characters beyond the BMP.
rc::Gen<std::string> tricky_string() {
  return rc::gen::map(
      rc::gen::container<std::vector<std::string>>(rc::gen::element<std::string>(
          "a", "Z", "0", "-", " ", "/", "\"", "\\", "{", "}", "[", "]", ":", ",", "\n", "\x01",
          "metas", "joins", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80")),
      [](const std::vector<std::string>& pieces) {
        std::string s;
        for (const std::string& piece : pieces) s += piece;
        return s;
      });
}

nlohmann::ordered_json generated_meta() {
  nlohmann::ordered_json meta = {{"phx_ref", *tricky_string()}, {"page", *tricky_string()}};
  nlohmann::ordered_json items = nlohmann::ordered_json::array();
  const auto item_count = *rc::gen::inRange(0, 3);
  for (int i = 0; i < item_count; ++i) {
    items.push_back({{"product", *tricky_string()}, {"qty", *rc::gen::inRange(-5, 100)}});
  }
  meta["items"] = items;
  if (*rc::gen::arbitrary<bool>()) meta["metas"] = nlohmann::ordered_json::array({{{"x", 1}}});
  return meta;
}

nlohmann::ordered_json generated_presences() {
  nlohmann::ordered_json presences = nlohmann::ordered_json::object();
  const auto keys = *rc::gen::inRange(0, 4);
  for (int k = 0; k < keys; ++k) {
    nlohmann::ordered_json metas = nlohmann::ordered_json::array();
    const auto count = *rc::gen::inRange(0, 4);
    for (int m = 0; m < count; ++m) metas.push_back(generated_meta());
    presences[*tricky_string()] = {{"metas", metas}};
  }
  return presences;
}

std::string generated_message() {
  const std::string event =
      *rc::gen::element<std::string>("presence_state", "presence_diff", "phx_reply");
  nlohmann::ordered_json payload;
  if (event == "presence_diff") {
    const bool leaves_first = *rc::gen::arbitrary<bool>();
    payload[leaves_first ? "leaves" : "joins"] = generated_presences();
    payload["unknown"] = generated_presences();
    payload[leaves_first ? "joins" : "leaves"] = generated_presences();
  } else {
    payload = generated_presences();
  }
  const nlohmann::ordered_json message = {"2", nullptr, "admin:cart_tracker", event, payload};
  const int indent = *rc::gen::element(-1, 0, 2);
  return message.dump(indent, ' ', *rc::gen::arbitrary<bool>());
}

RC_GTEST_PROP(FeedCount, AgreesWithTheParsedDocument, ()) {
  const std::string text = generated_message();
  const FeedCount expected = count_from_document(text);
  RC_ASSERT(expected.ok);
  const FeedCount actual = count_feed_metas(text);
  RC_ASSERT(actual.ok);
  RC_ASSERT(actual.event == expected.event);
  RC_ASSERT(actual.is_state == expected.is_state);
  RC_ASSERT(actual.metas == expected.metas);
}

// One byte changed, dropped or added: the scanner accepts exactly what nlohmann parses into a
// message. Counts are not compared, as an edit may make two keys equal, which the document merges.
RC_GTEST_PROP(FeedCount, RefusesWhatTheParserRefusesAfterAnEdit, ()) {
  std::string text = generated_message();
  const auto at = *rc::gen::inRange<std::size_t>(0, text.size());
  const char byte = *rc::gen::element('{', '}', '[', ']', '"', ':', ',', '\\', ' ', '0', '-', 'u',
                                      '\0', '\x1F', '\xC3', '\xA9');
  switch (*rc::gen::inRange(0, 3)) {
    case 0:
      text[at] = byte;
      break;
    case 1:
      text.erase(at, 1);
      break;
    default:
      text.insert(at, 1, byte);
      break;
  }
  const FeedCount expected = count_from_document(text);
  const FeedCount actual = count_feed_metas(text);
  RC_ASSERT(actual.ok == expected.ok);
  if (!expected.ok) return;
  RC_ASSERT(actual.event == expected.event);
  RC_ASSERT(actual.is_state == expected.is_state);
}

}  // namespace
}  // namespace presence::sim
