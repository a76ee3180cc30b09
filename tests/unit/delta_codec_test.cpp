#include "presence/delta_codec.hpp"

#include <gtest/gtest.h>

#include "presence/tracker_types.hpp"

namespace presence {
namespace {

Delta sample_delta() {
  Delta d;
  d.origin = ReplicaName{"store-a", 1764277500};
  d.from = 41;
  d.to = 300;
  d.joins.push_back(
      DeltaJoin{"admin:cart_tracker", "cart-1", 299, 120, 7,
                CartMeta{"/products/air-max-90", {{"air-max-90", "10.5", 2}, {"samba", "9", 1}}},
                -5, 1764277500123});
  d.joins.push_back(DeltaJoin{"admin:cart_tracker", "cart-2", 300, 0, 300, CartMeta{}, 0, 0});
  d.leaves.push_back(DeltaLeave{12, 3});
  d.leaves.push_back(DeltaLeave{UINT64_MAX, 1});
  return d;
}

TEST(DeltaCodec, DeltasAndFullStatesRoundTrip) {
  const Delta d = sample_delta();
  const Result<Delta> back = decode_delta(encode_delta(d));
  ASSERT_TRUE(back) << back.reason();
  EXPECT_EQ(*back, d);
  Delta full = d;
  full.full_state = true;
  full.from = 0;
  full.leaves.clear();
  const Result<Delta> full_back = decode_delta(encode_delta(full));
  ASSERT_TRUE(full_back) << full_back.reason();
  EXPECT_EQ(*full_back, full);
}

TEST(DeltaCodec, ContextsRoundTrip) {
  CausalContext c;
  c.replicas.push_back(ReplicaContext{{"a", 1}, ReplicaState::up, 10, {}});
  c.replicas.push_back(ReplicaContext{{"b", 2}, ReplicaState::down, 3, {{5, 9}, {12, 12}}});
  const Result<CausalContext> back = decode_context(encode_context(c));
  ASSERT_TRUE(back) << back.reason();
  ASSERT_EQ(back->replicas.size(), 2u);
  EXPECT_EQ(back->replicas[0], c.replicas[0]);
  EXPECT_EQ(back->replicas[1], c.replicas[1]);
  EXPECT_EQ(decode_delta(encode_context(c)).reason(), "a context, not a delta");
  EXPECT_EQ(decode_context(encode_delta(sample_delta())).reason(), "not a context");
}

TEST(DeltaCodec, EveryTruncationAndAnyTrailingByteIsRefused) {
  const std::string bytes = encode_delta(sample_delta());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode_delta(bytes.substr(0, n))) << n;
  }
  const Result<Delta> trailing = decode_delta(bytes + '\0');
  EXPECT_EQ(trailing.code(), Errc::malformed);
  EXPECT_EQ(trailing.reason(), "bytes after the message");
}

TEST(DeltaCodec, HeadersAreChecked) {
  std::string bytes = encode_delta(sample_delta());
  std::string bad = bytes;
  bad[0] = 'X';
  EXPECT_EQ(decode_delta(bad).reason(), "bad magic");
  bad = bytes;
  bad[2] = static_cast<char>(kDeltaCodecVersion + 1);
  EXPECT_EQ(decode_delta(bad).code(), Errc::unsupported);
  bad = bytes;
  bad[3] = 9;
  EXPECT_EQ(decode_delta(bad).reason(), "unknown kind");
}

TEST(DeltaCodec, EveryFieldOnePastItsBoundIsRefused) {
  auto status_of = [](const Delta& d) { return decode_delta(encode_delta(d)).code(); };
  Delta d = sample_delta();
  d.joins[0].topic = std::string(kMaxTopicBytes, 't');
  d.joins[0].key = std::string(kMaxKeyBytes, 'k');
  d.joins[0].meta.page = std::string(kMaxPageBytes, 'p');
  d.joins[0].meta.items.assign(kMaxItems, CartItem{std::string(kMaxProductBytes, 'a'),
                                                   std::string(kMaxSizeBytes, '9'), kMaxQty});
  d.origin.node = std::string(kMaxNodeNameBytes, 'n');
  ASSERT_EQ(status_of(d), Errc::ok);
  const auto past = [&](auto mutate) {
    Delta copy = d;
    mutate(copy);
    return status_of(copy);
  };
  EXPECT_EQ(past([](Delta& x) { x.joins[0].topic += 't'; }), Errc::too_large);
  EXPECT_EQ(past([](Delta& x) { x.joins[0].key += 'k'; }), Errc::too_large);
  EXPECT_EQ(past([](Delta& x) { x.joins[0].meta.page += 'p'; }), Errc::too_large);
  EXPECT_EQ(past([](Delta& x) {
              x.joins[0].meta.items.push_back({"a", "9", 1});
            }),
            Errc::too_large);
  EXPECT_EQ(past([](Delta& x) { x.joins[0].meta.items[0].product += 'a'; }), Errc::too_large);
  EXPECT_EQ(past([](Delta& x) { x.joins[0].meta.items[0].size += '9'; }), Errc::too_large);
  EXPECT_EQ(past([](Delta& x) { x.joins[0].meta.items[0].qty = kMaxQty + 1; }), Errc::too_large);
  EXPECT_EQ(past([](Delta& x) { x.origin.node += 'n'; }), Errc::too_large);
  EXPECT_EQ(past([](Delta& x) { x.origin.node.clear(); }), Errc::malformed);
  EXPECT_EQ(past([](Delta& x) { x.to = x.from - 1; }), Errc::malformed);
  EXPECT_EQ(past([](Delta& x) { x.full_state = true; }), Errc::malformed);

  CausalContext c;
  c.replicas.assign(kMaxReplicas, ReplicaContext{{"a", 1}, ReplicaState::up, 1, {}});
  c.replicas[0].cloud.assign(kMaxCloudRanges, ClockRange{3, 4});
  EXPECT_TRUE(decode_context(encode_context(c)));
  c.replicas[0].cloud.push_back(ClockRange{6, 7});
  EXPECT_EQ(decode_context(encode_context(c)).code(), Errc::too_large);
  c.replicas[0].cloud.pop_back();
  c.replicas.push_back(c.replicas[1]);
  EXPECT_EQ(decode_context(encode_context(c)).code(), Errc::too_large);
}

TEST(DeltaCodec, RepeatedStringsAreWrittenOnceAndClocksAsDifferences) {
  Delta d;
  d.origin = ReplicaName{"store-a", 1764277500};
  d.from = 1'000'000;
  d.to = 1'000'100;
  const CartMeta meta{"/products/air-max-90", {{"air-max-90", "10.5", 2}}};
  d.joins.push_back(DeltaJoin{"admin:cart_tracker", "cart-1", 1'000'001, 999'000, 500, meta,
                              1764277500000, 1764277500123});
  const std::size_t one = encode_delta(d).size();
  std::size_t expected = 1;  // the second join's time is 77 ms on: two bytes
  for (std::uint64_t i = 2; i <= 100; ++i) {
    d.joins.push_back(DeltaJoin{"admin:cart_tracker", "cart-" + std::to_string(i), 1'000'000 + i, 0,
                                1'000'000 + i, meta, 1764277500200, 1764277500200});
    // Topic, page, product and size indexes (4), the key with its length, flags, one-byte
    // clock and time differences, the item count and qty (5).
    expected += 4 + 1 + d.joins.back().key.size() + 5;
  }
  const std::string bytes = encode_delta(d);
  EXPECT_EQ(bytes.size() - one, expected);
  const Result<Delta> back = decode_delta(bytes);
  ASSERT_TRUE(back) << back.reason();
  EXPECT_EQ(*back, d);
}

TEST(DeltaCodec, ExtremeClocksAndTimesRoundTrip) {
  Delta d;
  d.origin = ReplicaName{"b", 0};
  d.to = UINT64_MAX;
  d.joins.push_back(DeltaJoin{"t", "k", UINT64_MAX, 1, 0, CartMeta{}, INT64_MIN, INT64_MAX});
  d.joins.push_back(DeltaJoin{"t", "k", 1, UINT64_MAX, UINT64_MAX, CartMeta{}, INT64_MAX, 0});
  d.joins.push_back(DeltaJoin{"t", "k", 0, 0, 0, CartMeta{}, -1, INT64_MIN});
  d.leaves.push_back(DeltaLeave{UINT64_MAX, 0});
  d.leaves.push_back(DeltaLeave{0, UINT64_MAX});
  const Result<Delta> back = decode_delta(encode_delta(d));
  ASSERT_TRUE(back) << back.reason();
  EXPECT_EQ(*back, d);
}

TEST(DeltaCodec, TableIndexesAndJoinFlagsAreChecked) {
  Delta d;
  d.origin = ReplicaName{"a", 1};
  d.to = 1;
  d.joins.push_back(DeltaJoin{"t", "k", 1, 0, 1, CartMeta{"p", {}}, 5, 5});
  const std::string bytes = encode_delta(d);
  // Header, origin (3), from, to, table: 2 strings "t" and "p" (5), join count.
  const std::size_t join_at = 4 + 3 + 2 + 5 + 1;
  ASSERT_EQ(bytes.substr(join_at, 4), std::string("\x00\x01k\x00", 4));
  std::string bad = bytes;
  bad[join_at] = 2;  // a topic past the table's two strings
  EXPECT_EQ(decode_delta(bad).reason(), "topic not in the table");
  bad = bytes;
  bad[join_at + 3] = 8;  // a flag no version 2 writer sets
  EXPECT_EQ(decode_delta(bad).reason(), "unknown join flags");
  bad = bytes;
  bad[join_at - 6] = 3;  // a table of three strings where two are written
  EXPECT_FALSE(decode_delta(bad));
}

TEST(DeltaCodec, HugeCountsAreRefusedBeforeAnyReservation) {
  // A join count of 2^62 in a few bytes must not allocate.
  std::string bytes = encode_delta(Delta{ReplicaName{"a", 1}, false, 0, 0, {}, {}});
  bytes.resize(bytes.size() - 2);
  bytes += std::string("\xff\xff\xff\xff\xff\xff\xff\xff\x3f", 9);
  bytes += '\0';
  EXPECT_EQ(decode_delta(bytes).code(), Errc::too_large);
  const std::string overflow = std::string("PD") + static_cast<char>(kDeltaCodecVersion) +
                               std::string(
                                   "\x01\x01"
                                   "a",
                                   3) +
                               std::string(9, '\xff') + '\x02';
  EXPECT_EQ(decode_delta(overflow).reason(), "varint overflow");
}

}  // namespace
}  // namespace presence
