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
  Delta back;
  ASSERT_EQ(decode_delta(encode_delta(d), back).status, DecodeStatus::ok);
  EXPECT_EQ(back, d);
  Delta full = d;
  full.full_state = true;
  full.from = 0;
  full.leaves.clear();
  ASSERT_EQ(decode_delta(encode_delta(full), back).status, DecodeStatus::ok);
  EXPECT_EQ(back, full);
}

TEST(DeltaCodec, ContextsRoundTrip) {
  CausalContext c;
  c.replicas.push_back(ReplicaContext{{"a", 1}, ReplicaState::up, 10, {}});
  c.replicas.push_back(ReplicaContext{{"b", 2}, ReplicaState::down, 3, {{5, 9}, {12, 12}}});
  CausalContext back;
  ASSERT_EQ(decode_context(encode_context(c), back).status, DecodeStatus::ok);
  ASSERT_EQ(back.replicas.size(), 2u);
  EXPECT_EQ(back.replicas[0], c.replicas[0]);
  EXPECT_EQ(back.replicas[1], c.replicas[1]);
  Delta wrong_kind;
  EXPECT_EQ(decode_delta(encode_context(c), wrong_kind).status, DecodeStatus::bad_header);
  EXPECT_EQ(decode_context(encode_delta(sample_delta()), back).status, DecodeStatus::bad_header);
}

TEST(DeltaCodec, EveryTruncationAndAnyTrailingByteIsRefused) {
  const std::string bytes = encode_delta(sample_delta());
  Delta out;
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_NE(decode_delta(bytes.substr(0, n), out).status, DecodeStatus::ok) << n;
  }
  EXPECT_EQ(decode_delta(bytes + '\0', out).status, DecodeStatus::trailing_bytes);
}

TEST(DeltaCodec, HeadersAreChecked) {
  std::string bytes = encode_delta(sample_delta());
  Delta out;
  std::string bad = bytes;
  bad[0] = 'X';
  EXPECT_EQ(decode_delta(bad, out).status, DecodeStatus::bad_header);
  bad = bytes;
  bad[2] = static_cast<char>(kDeltaCodecVersion + 1);
  EXPECT_EQ(decode_delta(bad, out).status, DecodeStatus::bad_header);
  bad = bytes;
  bad[3] = 9;
  EXPECT_EQ(decode_delta(bad, out).status, DecodeStatus::bad_header);
}

TEST(DeltaCodec, EveryFieldOnePastItsBoundIsRefused) {
  auto status_of = [](const Delta& d) {
    Delta out;
    return decode_delta(encode_delta(d), out).status;
  };
  Delta d = sample_delta();
  d.joins[0].topic = std::string(kMaxTopicBytes, 't');
  d.joins[0].key = std::string(kMaxKeyBytes, 'k');
  d.joins[0].meta.page = std::string(kMaxPageBytes, 'p');
  d.joins[0].meta.items.assign(kMaxItems, CartItem{std::string(kMaxProductBytes, 'a'),
                                                   std::string(kMaxSizeBytes, '9'), kMaxQty});
  d.origin.node = std::string(kMaxNodeNameBytes, 'n');
  ASSERT_EQ(status_of(d), DecodeStatus::ok);
  const auto past = [&](auto mutate) {
    Delta copy = d;
    mutate(copy);
    return status_of(copy);
  };
  EXPECT_EQ(past([](Delta& x) { x.joins[0].topic += 't'; }), DecodeStatus::out_of_bounds);
  EXPECT_EQ(past([](Delta& x) { x.joins[0].key += 'k'; }), DecodeStatus::out_of_bounds);
  EXPECT_EQ(past([](Delta& x) { x.joins[0].meta.page += 'p'; }), DecodeStatus::out_of_bounds);
  EXPECT_EQ(past([](Delta& x) {
              x.joins[0].meta.items.push_back({"a", "9", 1});
            }),
            DecodeStatus::out_of_bounds);
  EXPECT_EQ(past([](Delta& x) { x.joins[0].meta.items[0].product += 'a'; }),
            DecodeStatus::out_of_bounds);
  EXPECT_EQ(past([](Delta& x) { x.joins[0].meta.items[0].size += '9'; }),
            DecodeStatus::out_of_bounds);
  EXPECT_EQ(past([](Delta& x) { x.joins[0].meta.items[0].qty = kMaxQty + 1; }),
            DecodeStatus::out_of_bounds);
  EXPECT_EQ(past([](Delta& x) { x.origin.node += 'n'; }), DecodeStatus::out_of_bounds);
  EXPECT_EQ(past([](Delta& x) { x.origin.node.clear(); }), DecodeStatus::malformed);
  EXPECT_EQ(past([](Delta& x) { x.to = x.from - 1; }), DecodeStatus::malformed);
  EXPECT_EQ(past([](Delta& x) { x.full_state = true; }), DecodeStatus::malformed);

  CausalContext c;
  c.replicas.assign(kMaxReplicas, ReplicaContext{{"a", 1}, ReplicaState::up, 1, {}});
  c.replicas[0].cloud.assign(kMaxCloudRanges, ClockRange{3, 4});
  CausalContext out;
  EXPECT_EQ(decode_context(encode_context(c), out).status, DecodeStatus::ok);
  c.replicas[0].cloud.push_back(ClockRange{6, 7});
  EXPECT_EQ(decode_context(encode_context(c), out).status, DecodeStatus::out_of_bounds);
  c.replicas[0].cloud.pop_back();
  c.replicas.push_back(c.replicas[1]);
  EXPECT_EQ(decode_context(encode_context(c), out).status, DecodeStatus::out_of_bounds);
}

TEST(DeltaCodec, HugeCountsAreRefusedBeforeAnyReservation) {
  // A join count of 2^62 in a few bytes must not allocate.
  std::string bytes = encode_delta(Delta{ReplicaName{"a", 1}, false, 0, 0, {}, {}});
  bytes.resize(bytes.size() - 2);
  bytes += std::string("\xff\xff\xff\xff\xff\xff\xff\xff\x3f", 9);
  bytes += '\0';
  Delta out;
  EXPECT_EQ(decode_delta(bytes, out).status, DecodeStatus::out_of_bounds);
  const std::string overflow = std::string(
                                   "PD\x01\x01\x01"
                                   "a",
                                   6) +
                               std::string(9, '\xff') + '\x02';
  EXPECT_EQ(decode_delta(overflow, out).status, DecodeStatus::malformed);
}

}  // namespace
}  // namespace presence
