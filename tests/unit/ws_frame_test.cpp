#include "presence/ws_frame.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace presence {
namespace {

using namespace presence::ws;

using Kind = FrameEvent::Kind;

constexpr std::uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};
constexpr std::size_t kMax = 1024;

// An event with its views copied out, so it outlives the next feed().
struct Seen {
  Kind kind;
  Opcode opcode;
  std::string payload;
  CloseCode code;
  std::string reason;
  bool operator==(const Seen&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Seen& s) {
  return os << "{kind " << static_cast<int>(s.kind) << " op " << static_cast<int>(s.opcode)
            << " payload " << s.payload.size() << "B code " << static_cast<int>(s.code) << " "
            << s.reason << "}";
}

// Feeds `bytes` in chunks of the given sizes (cycled; empty = all at once) and returns every
// event up to the first error or close.
std::vector<Seen> run(std::string_view bytes, Role role = Role::server, std::size_t max = kMax,
                      const std::vector<std::size_t>& chunks = {}) {
  FrameParser parser(role, max);
  std::vector<Seen> seen;
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  std::size_t off = 0;
  for (std::size_t i = 0; off < bytes.size(); ++i) {
    std::size_t chunk = bytes.size() - off;
    if (!chunks.empty())
      chunk = std::min(chunk, std::max<std::size_t>(1, chunks[i % chunks.size()]));
    std::size_t pos = 0;
    while (pos < chunk) {
      std::size_t consumed = 0;
      const FrameEvent ev = parser.feed(data + off + pos, chunk - pos, &consumed);
      pos += consumed;
      if (ev.kind == Kind::none) {
        EXPECT_GT(consumed, 0u);
        if (consumed == 0) return seen;
        continue;
      }
      seen.push_back(
          {ev.kind, ev.opcode, std::string(ev.payload), ev.code, std::string(ev.reason)});
      if (ev.kind == Kind::error || ev.kind == Kind::close) return seen;
    }
    off += chunk;
  }
  return seen;
}

std::string frame(Opcode op, std::string_view payload, bool fin = true, bool masked = true) {
  std::string out;
  append_frame(out, op, payload, fin, masked ? kKey : nullptr);
  return out;
}

// A frame header built byte by byte, for encodings the encoder never produces.
std::string raw_frame(std::uint8_t b0, std::uint8_t length7, std::string_view extended_length,
                      std::string_view payload) {
  std::string out;
  out += static_cast<char>(b0);
  out += static_cast<char>(0x80 | length7);
  out += extended_length;
  out.append(reinterpret_cast<const char*>(kKey), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    out += static_cast<char>(static_cast<std::uint8_t>(payload[i]) ^ kKey[i & 3]);
  }
  return out;
}

std::string close_body(std::uint16_t code, std::string_view reason = {}) {
  std::string body;
  body += static_cast<char>(code >> 8);
  body += static_cast<char>(code & 0xFF);
  body += reason;
  return body;
}

Seen only_event(std::string_view bytes, Role role = Role::server, std::size_t max = kMax) {
  const auto seen = run(bytes, role, max);
  EXPECT_EQ(seen.size(), 1u);
  return seen.empty() ? Seen{Kind::none, Opcode::text, {}, CloseCode::normal, {}} : seen.front();
}

void expect_error(std::string_view bytes, CloseCode code, Role role = Role::server,
                  std::size_t max = kMax) {
  const auto seen = run(bytes, role, max);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().kind, Kind::error);
  EXPECT_EQ(seen.back().code, code) << seen.back().reason;
  EXPECT_FALSE(seen.back().reason.empty());
}

TEST(WsFrame, MaskedTextMessage) {
  const Seen ev = only_event(frame(Opcode::text, "hello"));
  EXPECT_EQ(ev.kind, Kind::message);
  EXPECT_EQ(ev.opcode, Opcode::text);
  EXPECT_EQ(ev.payload, "hello");
}

TEST(WsFrame, BinaryAndEmptyMessages) {
  const std::string bin("\x00\xff\xc0\x80", 4);
  EXPECT_EQ(only_event(frame(Opcode::binary, bin)).payload, bin);
  EXPECT_EQ(only_event(frame(Opcode::binary, bin)).opcode, Opcode::binary);
  const Seen empty = only_event(frame(Opcode::text, ""));
  EXPECT_EQ(empty.kind, Kind::message);
  EXPECT_EQ(empty.payload, "");
}

TEST(WsFrame, SeveralFramesInOneBufferComeOutOneAtATime) {
  const std::string bytes =
      frame(Opcode::text, "a") + frame(Opcode::ping, "p") + frame(Opcode::binary, "b");
  FrameParser parser(Role::server, kMax);
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  std::size_t consumed = 0;
  FrameEvent ev = parser.feed(data, bytes.size(), &consumed);
  EXPECT_EQ(ev.kind, Kind::message);
  EXPECT_EQ(consumed, frame(Opcode::text, "a").size());
  std::size_t off = consumed;
  ev = parser.feed(data + off, bytes.size() - off, &consumed);
  EXPECT_EQ(ev.kind, Kind::ping);
  EXPECT_EQ(ev.payload, "p");
  off += consumed;
  ev = parser.feed(data + off, bytes.size() - off, &consumed);
  EXPECT_EQ(ev.kind, Kind::message);
  EXPECT_EQ(ev.payload, "b");
  EXPECT_EQ(off + consumed, bytes.size());
}

TEST(WsFrame, ServerRefusesUnmaskedClientFrame) {
  expect_error(frame(Opcode::text, "hi", true, false), CloseCode::protocol_error);
}

TEST(WsFrame, ClientRefusesMaskedServerFrameAndAcceptsUnmasked) {
  expect_error(frame(Opcode::text, "hi", true, true), CloseCode::protocol_error, Role::client);
  EXPECT_EQ(only_event(frame(Opcode::text, "hi", true, false), Role::client).payload, "hi");
}

TEST(WsFrame, ReservedBitsWithoutExtension) {
  for (const int rsv : {0x40, 0x20, 0x10}) {
    expect_error(raw_frame(static_cast<std::uint8_t>(0x81 | rsv), 1, {}, "x"),
                 CloseCode::protocol_error);
  }
}

TEST(WsFrame, UnknownOpcodes) {
  for (const int op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    expect_error(raw_frame(static_cast<std::uint8_t>(0x80 | op), 0, {}, {}),
                 CloseCode::protocol_error);
  }
}

TEST(WsFrame, ControlFrameOf125BytesPassesAnd126Fails) {
  const std::string at_limit(kMaxControlPayloadBytes, 'p');
  EXPECT_EQ(only_event(frame(Opcode::ping, at_limit)).payload, at_limit);
  EXPECT_EQ(only_event(frame(Opcode::pong, at_limit)).kind, Kind::pong);
  expect_error(frame(Opcode::ping, at_limit + "p"), CloseCode::protocol_error);
  expect_error(frame(Opcode::pong, at_limit + "p"), CloseCode::protocol_error);
}

TEST(WsFrame, ControlLengthInExtendedFormIsRefusedEvenIfSmall) {
  expect_error(raw_frame(0x89, 126, std::string("\x00\x05", 2), "hello"),
               CloseCode::protocol_error);
}

TEST(WsFrame, FragmentedControlFrames) {
  expect_error(frame(Opcode::ping, "x", false), CloseCode::protocol_error);
  expect_error(frame(Opcode::close, "", false), CloseCode::protocol_error);
}

TEST(WsFrame, ContinuationWithoutStart) {
  expect_error(frame(Opcode::continuation, "x"), CloseCode::protocol_error);
}

TEST(WsFrame, NewDataFrameInsideFragmentedMessage) {
  expect_error(frame(Opcode::text, "a", false) + frame(Opcode::text, "b"),
               CloseCode::protocol_error);
  expect_error(frame(Opcode::text, "a", false) + frame(Opcode::binary, "b"),
               CloseCode::protocol_error);
}

TEST(WsFrame, FragmentsAreReassembledAroundInterleavedControlFrames) {
  const std::string bytes = frame(Opcode::text, "hel", false) + frame(Opcode::ping, "1") +
                            frame(Opcode::continuation, "lo ", false) + frame(Opcode::pong, "2") +
                            frame(Opcode::continuation, "world");
  const auto seen = run(bytes);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].kind, Kind::ping);
  EXPECT_EQ(seen[0].payload, "1");
  EXPECT_EQ(seen[1].kind, Kind::pong);
  EXPECT_EQ(seen[1].payload, "2");
  EXPECT_EQ(seen[2].kind, Kind::message);
  EXPECT_EQ(seen[2].opcode, Opcode::text);
  EXPECT_EQ(seen[2].payload, "hello world");
}

TEST(WsFrame, EmptyFragmentsAreAllowed) {
  const auto seen = run(frame(Opcode::binary, "", false) + frame(Opcode::continuation, "", false) +
                        frame(Opcode::continuation, "z"));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].opcode, Opcode::binary);
  EXPECT_EQ(seen[0].payload, "z");
}

TEST(WsFrame, NonMinimalLengthEncodingsAreAccepted) {
  EXPECT_EQ(only_event(raw_frame(0x81, 126, std::string("\x00\x03", 2), "abc")).payload, "abc");
  EXPECT_EQ(only_event(raw_frame(0x81, 127, std::string("\0\0\0\0\0\0\0\x03", 8), "abc")).payload,
            "abc");
}

TEST(WsFrame, SixtyFourBitLengthWithMostSignificantBitSet) {
  expect_error(raw_frame(0x82, 127, std::string("\x80\0\0\0\0\0\0\x01", 8), {}),
               CloseCode::protocol_error);
}

TEST(WsFrame, LengthFormsAtEachBoundary) {
  constexpr std::size_t kBig = 70000;
  for (const std::size_t n : {125u, 126u, 65535u, 65536u, 65537u}) {
    const std::string payload(n, 'x');
    const std::string bytes = frame(Opcode::binary, payload);
    const std::size_t header = n < 126 ? 2 : n <= 65535 ? 4 : 10;
    EXPECT_EQ(bytes.size(), header + 4 + n) << n;
    const Seen ev = only_event(bytes, Role::server, kBig);
    EXPECT_EQ(ev.payload.size(), n);
    EXPECT_EQ(ev.payload, payload);
  }
}

TEST(WsFrame, MessageOfExactlyMaxPassesAndOneMoreFails) {
  EXPECT_EQ(only_event(frame(Opcode::binary, std::string(kMax, 'm'))).payload.size(), kMax);
  expect_error(frame(Opcode::binary, std::string(kMax + 1, 'm')), CloseCode::message_too_big);
}

TEST(WsFrame, OversizedMessageIsRefusedFromTheHeaderAlone) {
  const std::string bytes = frame(Opcode::binary, std::string(kMax + 1, 'm'));
  FrameParser parser(Role::server, kMax);
  std::size_t consumed = 0;
  const FrameEvent ev =
      parser.feed(reinterpret_cast<const std::uint8_t*>(bytes.data()), 8, &consumed);
  EXPECT_EQ(ev.kind, Kind::error);
  EXPECT_EQ(ev.code, CloseCode::message_too_big);
  EXPECT_EQ(parser.buffer_capacity(), 0u);
}

TEST(WsFrame, HugeSixtyFourBitLengthIsTooBigNotAnAllocation) {
  expect_error(raw_frame(0x82, 127, std::string("\x7f\xff\xff\xff\xff\xff\xff\xff", 8), {}),
               CloseCode::message_too_big);
}

TEST(WsFrame, FragmentedMessageOfExactlyMaxPassesAndOneMoreFails) {
  const std::string half(kMax / 2, 'h');
  EXPECT_EQ(run(frame(Opcode::text, half, false) + frame(Opcode::continuation, half))
                .at(0)
                .payload.size(),
            kMax);
  expect_error(frame(Opcode::text, half, false) + frame(Opcode::continuation, half + "h"),
               CloseCode::message_too_big);
}

TEST(WsFrame, ControlFramesDoNotCountTowardsTheMessageMaximum) {
  const std::string ping(kMaxControlPayloadBytes, 'p');
  EXPECT_EQ(only_event(frame(Opcode::ping, ping), Role::server, 0).kind, Kind::ping);
  expect_error(frame(Opcode::text, "x"), CloseCode::message_too_big, Role::server, 0);
}

TEST(WsFrame, InvalidUtf8TextIsRefusedBeforeTheMessageEnds) {
  FrameParser parser(Role::server, kMax);
  const std::string first = frame(Opcode::text, "ok \xc0\xaf", false);
  std::size_t consumed = 0;
  const FrameEvent ev =
      parser.feed(reinterpret_cast<const std::uint8_t*>(first.data()), first.size(), &consumed);
  EXPECT_EQ(ev.kind, Kind::error);
  EXPECT_EQ(ev.code, CloseCode::invalid_payload);
}

TEST(WsFrame, Utf8SequenceSplitAcrossFragmentsIsAccepted) {
  // U+1F600 is F0 9F 98 80.
  const auto seen =
      run(frame(Opcode::text, "\xf0\x9f", false) + frame(Opcode::continuation, "\x98\x80"));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].payload, "\xf0\x9f\x98\x80");
}

TEST(WsFrame, TextEndingInsideAUtf8Sequence) {
  expect_error(frame(Opcode::text, "abc\xe2\x82"), CloseCode::invalid_payload);
  expect_error(frame(Opcode::text, "\xf0\x9f", false) + frame(Opcode::continuation, "\x98"),
               CloseCode::invalid_payload);
}

TEST(WsFrame, BinaryIsNotCheckedForUtf8) {
  EXPECT_EQ(only_event(frame(Opcode::binary, "\xff\xfe")).kind, Kind::message);
}

TEST(WsFrame, CloseWithoutStatusReadsAsNormal) {
  const Seen ev = only_event(frame(Opcode::close, ""));
  EXPECT_EQ(ev.kind, Kind::close);
  EXPECT_EQ(ev.code, CloseCode::normal);
  EXPECT_EQ(ev.reason, "");
}

TEST(WsFrame, CloseWithCodeAndReason) {
  const Seen ev = only_event(frame(Opcode::close, close_body(4000, "bye \xc3\xa9")));
  EXPECT_EQ(ev.kind, Kind::close);
  EXPECT_EQ(static_cast<std::uint16_t>(ev.code), 4000);
  EXPECT_EQ(ev.reason, "bye \xc3\xa9");
}

TEST(WsFrame, CloseWithOneBytePayload) {
  expect_error(frame(Opcode::close, "\x03"), CloseCode::protocol_error);
}

TEST(WsFrame, InvalidCloseCodes) {
  for (const int value : {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535}) {
    const auto code = static_cast<std::uint16_t>(value);
    SCOPED_TRACE(code);
    EXPECT_FALSE(is_valid_close_code(code));
    expect_error(frame(Opcode::close, close_body(code)), CloseCode::protocol_error);
  }
}

TEST(WsFrame, ValidCloseCodes) {
  for (const int value :
       {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999}) {
    const auto code = static_cast<std::uint16_t>(value);
    SCOPED_TRACE(code);
    EXPECT_TRUE(is_valid_close_code(code));
    const Seen ev = only_event(frame(Opcode::close, close_body(code)));
    EXPECT_EQ(ev.kind, Kind::close);
    EXPECT_EQ(static_cast<std::uint16_t>(ev.code), code);
  }
}

TEST(WsFrame, CloseReasonNotUtf8) {
  expect_error(frame(Opcode::close, close_body(1000, "\xed\xa0\x80")), CloseCode::invalid_payload);
}

TEST(WsFrame, NothingIsParsedAfterClose) {
  const std::string bytes = frame(Opcode::close, close_body(1000)) + frame(Opcode::text, "late");
  FrameParser parser(Role::server, kMax);
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  std::size_t consumed = 0;
  EXPECT_EQ(parser.feed(data, bytes.size(), &consumed).kind, Kind::close);
  const std::size_t off = consumed;
  EXPECT_EQ(parser.feed(data + off, bytes.size() - off, &consumed).kind, Kind::none);
  EXPECT_EQ(consumed, bytes.size() - off);
}

TEST(WsFrame, ErrorsAreStickyAndSwallowInput) {
  const std::string bad = frame(Opcode::text, "x", true, false);
  FrameParser parser(Role::server, kMax);
  const auto* data = reinterpret_cast<const std::uint8_t*>(bad.data());
  std::size_t consumed = 0;
  EXPECT_EQ(parser.feed(data, bad.size(), &consumed).kind, Kind::error);
  const std::string good = frame(Opcode::text, "y");
  const FrameEvent again =
      parser.feed(reinterpret_cast<const std::uint8_t*>(good.data()), good.size(), &consumed);
  EXPECT_EQ(again.kind, Kind::error);
  EXPECT_EQ(again.code, CloseCode::protocol_error);
  EXPECT_EQ(consumed, good.size());
}

TEST(WsFrame, BufferNeverExceedsTheMaximumAndIsReleasedWhenIdle) {
  constexpr std::size_t kSmallMax = 300;
  FrameParser parser(Role::server, kSmallMax);
  const std::string bytes = frame(Opcode::binary, std::string(kSmallMax, 'b'));
  std::size_t consumed = 0;
  EXPECT_EQ(
      parser.feed(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), &consumed)
          .kind,
      Kind::message);
  EXPECT_GE(parser.buffer_capacity(), kSmallMax);
  EXPECT_LE(parser.buffer_capacity(), kSmallMax);
  parser.release_buffers();
  EXPECT_EQ(parser.buffer_capacity(), 0u);
}

TEST(WsFrame, ManySmallFragmentsStayWithinTheMaximum) {
  constexpr std::size_t kSmallMax = 1000;
  std::string bytes = frame(Opcode::binary, "", false);
  for (std::size_t i = 0; i < kSmallMax; ++i) bytes += frame(Opcode::continuation, "f", false);
  FrameParser parser(Role::server, kSmallMax);
  std::size_t consumed = 0;
  EXPECT_EQ(
      parser.feed(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), &consumed)
          .kind,
      Kind::none);
  EXPECT_LE(parser.buffer_capacity(), kSmallMax);
  const std::string one_more = frame(Opcode::continuation, "f");
  EXPECT_EQ(
      parser
          .feed(reinterpret_cast<const std::uint8_t*>(one_more.data()), one_more.size(), &consumed)
          .code,
      CloseCode::message_too_big);
}

TEST(WsFrame, ReleaseBuffersKeepsAMessageInProgress) {
  const std::string first = frame(Opcode::text, "abc", false);
  const std::string last = frame(Opcode::continuation, "def");
  FrameParser parser(Role::server, kMax);
  std::size_t consumed = 0;
  parser.feed(reinterpret_cast<const std::uint8_t*>(first.data()), first.size(), &consumed);
  parser.release_buffers();
  EXPECT_GT(parser.buffer_capacity(), 0u);
  const FrameEvent ev =
      parser.feed(reinterpret_cast<const std::uint8_t*>(last.data()), last.size(), &consumed);
  EXPECT_EQ(ev.payload, "abcdef");
}

TEST(WsFrameEncode, ServerFramesAreUnmaskedWithMinimalLength) {
  EXPECT_EQ(frame(Opcode::text, "hi", true, false), std::string("\x81\x02hi", 4));
  EXPECT_EQ(frame(Opcode::binary, "", false, false), std::string("\x02\x00", 2));
  const std::string medium = frame(Opcode::text, std::string(126, 'a'), true, false);
  EXPECT_EQ(medium.substr(0, 4), std::string("\x81\x7e\x00\x7e", 4));
  const std::string large = frame(Opcode::text, std::string(65536, 'a'), true, false);
  EXPECT_EQ(large.substr(0, 10), std::string("\x81\x7f\0\0\0\0\0\x01\0\0", 10));
}

TEST(WsFrameEncode, ClientFramesAreMasked) {
  const std::string bytes = frame(Opcode::text, "abcd", true, true);
  ASSERT_EQ(bytes.size(), 2u + 4u + 4u);
  EXPECT_EQ(static_cast<std::uint8_t>(bytes[1]), 0x84);
  EXPECT_EQ(static_cast<std::uint8_t>(bytes[6]), 'a' ^ kKey[0]);
  EXPECT_EQ(static_cast<std::uint8_t>(bytes[9]), 'd' ^ kKey[3]);
}

TEST(WsFrameEncode, CloseRoundTripsAndCutsTheReasonAtACharacter) {
  std::string out;
  append_close(out, CloseCode::going_away, "restart");
  const Seen ev = only_event(out, Role::client);
  EXPECT_EQ(ev.code, CloseCode::going_away);
  EXPECT_EQ(ev.reason, "restart");

  // 61 two-byte characters (122 bytes) then one more: 124 bytes, one past the limit.
  std::string reason;
  for (int i = 0; i < 62; ++i) reason += "\xc3\xa9";
  out.clear();
  append_close(out, CloseCode::policy_violation, reason, kKey);
  const Seen cut = only_event(out);
  EXPECT_EQ(cut.kind, Kind::close);
  EXPECT_EQ(cut.reason, reason.substr(0, 122));

  out.clear();
  const std::string ascii(kMaxCloseReasonBytes + 1, 'r');
  append_close(out, CloseCode::normal, ascii);
  EXPECT_EQ(only_event(out, Role::client).reason, ascii.substr(0, kMaxCloseReasonBytes));
}

// Text that is valid UTF-8 with multi-byte characters, so fragment cuts fall inside them.
rc::Gen<std::string> gen_utf8_text() {
  return rc::gen::map(rc::gen::container<std::vector<int>>(rc::gen::element<int>(0, 1, 2, 3)),
                      [](const std::vector<int>& widths) {
                        static constexpr const char* kChars[] = {"a", "\xc3\xa9", "\xe2\x82\xac",
                                                                 "\xf0\x9f\x98\x80"};
                        std::string text;
                        for (const int w : widths) text += kChars[w];
                        return text;
                      });
}

// One message cut into fragments at the given points, with a ping after each fragment but the
// last when asked.
std::string fragmented(Opcode op, const std::string& payload, std::vector<std::size_t> cuts,
                       bool pings) {
  for (auto& cut : cuts) cut %= payload.size() + 1;
  std::sort(cuts.begin(), cuts.end());
  std::string out;
  std::size_t from = 0;
  Opcode next = op;
  for (const std::size_t cut : cuts) {
    append_frame(out, next, payload.substr(from, cut - from), false, kKey);
    if (pings) append_frame(out, Opcode::ping, payload.substr(from, 3), true, kKey);
    next = Opcode::continuation;
    from = cut;
  }
  append_frame(out, next, payload.substr(from), true, kKey);
  return out;
}

// Streams of mostly valid messages, sometimes with one byte overwritten, so both the events and
// the errors are compared across chunkings.
rc::Gen<std::string> gen_stream() {
  const auto gen_message = rc::gen::apply(
      [](bool text, const std::string& utf8, const std::string& bytes,
         const std::vector<std::size_t>& cuts, bool pings) {
        return fragmented(text ? Opcode::text : Opcode::binary, text ? utf8 : bytes, cuts, pings);
      },
      rc::gen::arbitrary<bool>(), gen_utf8_text(), rc::gen::arbitrary<std::string>(),
      rc::gen::container<std::vector<std::size_t>>(rc::gen::arbitrary<std::size_t>()),
      rc::gen::arbitrary<bool>());
  return rc::gen::apply(
      [](const std::vector<std::string>& messages, bool corrupt, std::size_t at, char value) {
        std::string all;
        for (const auto& m : messages) all += m;
        if (corrupt && !all.empty()) all[at % all.size()] = value;
        return all;
      },
      rc::gen::container<std::vector<std::string>>(gen_message), rc::gen::arbitrary<bool>(),
      rc::gen::arbitrary<std::size_t>(), rc::gen::arbitrary<char>());
}

RC_GTEST_PROP(WsFrameProperty, ChunkingDoesNotChangeTheEvents, ()) {
  const std::string stream = *gen_stream();
  const auto chunks = *rc::gen::nonEmpty(
      rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(1, 40)));
  const auto whole = run(stream);
  RC_ASSERT(run(stream, Role::server, kMax, {1}) == whole);
  RC_ASSERT(run(stream, Role::server, kMax, chunks) == whole);
}

RC_GTEST_PROP(WsFrameProperty, EncodedMessagesDecodeToThemselves, (const std::string& payload)) {
  std::string masked;
  append_frame(masked, Opcode::binary, payload, true, kKey);
  const auto seen = run(masked);
  RC_ASSERT(seen.size() == 1u);
  RC_ASSERT(seen[0].payload == payload);
}

}  // namespace
}  // namespace presence
