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

TEST(DeltaCodec, HugeCountsAreRefusedBeforeAnyReservation) {
  // A join count of 2^62 in a few bytes must not allocate.
  std::string bytes = encode_delta(Delta{ReplicaName{"a", 1}, false, 0, 0, {}, {}});
  bytes.resize(bytes.size() - 2);
  bytes += std::string("\xff\xff\xff\xff\xff\xff\xff\xff\x3f", 9);
  bytes += '\0';
  EXPECT_EQ(decode_delta(bytes).code(), Errc::too_large);
  const std::string overflow = std::string(
                                   "PD\x01\x01\x01"
                                   "a",
                                   6) +
                               std::string(9, '\xff') + '\x02';
  EXPECT_EQ(decode_delta(overflow).reason(), "varint overflow");
}

}  // namespace
}  // namespace presence
