#include "presence/cluster_message.hpp"

#include <gtest/gtest.h>

namespace presence::cluster {
namespace {

SecretKey key() {
  return *derive_key("  0123456789abcdef0123456789abcdef\n");
}

Envelope sample() {
  return Envelope{Kind::transfer_req, ReplicaName{"store-a", 1764277500},
                  123456789,          1764277500123,
                  "store-b",          encode_transfer_request({{"store-b", 7}, 42})};
}

TEST(ClusterMessage, KeysComeFromTheTrimmedSecretOfAtLeast32Bytes) {
  const auto short_secret = derive_key(std::string(kMinSecretBytes - 1, 's') + "\n\n  ");
  EXPECT_EQ(short_secret.code(), Errc::invalid);
  const auto exact = derive_key(std::string(kMinSecretBytes, 's'));
  ASSERT_TRUE(exact);
  const auto trimmed = derive_key("\t " + std::string(kMinSecretBytes, 's') + "\r\n");
  ASSERT_TRUE(trimmed);
  EXPECT_EQ(exact->bytes, trimmed->bytes);
  EXPECT_NE(exact->bytes, derive_key(std::string(kMinSecretBytes, 't'))->bytes);
  // The MAC key is derived, not the secret's bytes.
  EXPECT_NE(std::string(exact->bytes.begin(), exact->bytes.end()), std::string(32, 's'));
}

TEST(ClusterMessage, EnvelopesRoundTripAndTheSenderIsReadableInClear) {
  const Envelope e = sample();
  const std::string sealed = seal(e, key());
  const Result<Envelope> back = open(sealed, key());
  ASSERT_TRUE(back) << back.reason();
  EXPECT_EQ(back->kind, e.kind);
  EXPECT_EQ(back->sender, e.sender);
  EXPECT_EQ(back->seq, e.seq);
  EXPECT_EQ(back->sent_ms, e.sent_ms);
  EXPECT_EQ(back->target, e.target);
  EXPECT_EQ(back->payload, e.payload);
  EXPECT_EQ(*peek_sender(sealed), e.sender);
  const auto q = decode_transfer_request(back->payload);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->of, (ReplicaName{"store-b", 7}));
  EXPECT_EQ(q->from, 42u);

  Envelope empty{Kind::permdown, {"b", 2}, 1, 0, "", ""};
  const auto again = open(seal(empty, key()), key());
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->payload.empty());
  EXPECT_TRUE(again->target.empty());
}

TEST(ClusterMessage, AnotherKeyOrAnyFlippedBitFailsTheMac) {
  const std::string sealed = seal(sample(), key());
  const auto other = *derive_key(std::string(40, 'k'));
  EXPECT_EQ(open(sealed, other).code(), Errc::unauthorized);
  // The payload and the MAC (a flipped length is malformed or too_large).
  for (std::size_t i = 48; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] ^= 0x20;
    EXPECT_EQ(open(bad, key()).code(), Errc::unauthorized) << i;
  }
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] ^= 0x01;
    EXPECT_FALSE(open(bad, key())) << i;
  }
}

TEST(ClusterMessage, EveryTruncationAndAnyTrailingByteIsRefused) {
  const std::string sealed = seal(sample(), key());
  for (std::size_t n = 0; n < sealed.size(); ++n) {
    EXPECT_FALSE(open(sealed.substr(0, n), key())) << n;
  }
  const auto trailing = open(sealed + '\0', key());
  EXPECT_EQ(trailing.code(), Errc::malformed);
  EXPECT_EQ(trailing.reason(), "bytes after the message");
}

TEST(ClusterMessage, AnotherVersionOrMagicIsRefusedBeforeTheMac) {
  std::string sealed = seal(sample(), key());
  std::string version = sealed;
  version[2] = static_cast<char>(kWireVersion + 1);
  EXPECT_EQ(open(version, key()).code(), Errc::unsupported);
  EXPECT_EQ(peek_sender(version).code(), Errc::unsupported);
  std::string magic = sealed;
  magic[0] = 'X';
  EXPECT_EQ(open(magic, key()).code(), Errc::malformed);
  EXPECT_EQ(peek_sender(magic).code(), Errc::malformed);
}

TEST(ClusterMessage, AnUnknownKindIsRefusedEvenWithAGoodMac) {
  Envelope e = sample();
  e.kind = static_cast<Kind>(7);
  EXPECT_EQ(open(seal(e, key()), key()).code(), Errc::unsupported);
  e.kind = static_cast<Kind>(0);
  EXPECT_EQ(open(seal(e, key()), key()).code(), Errc::unsupported);
}

TEST(ClusterMessage, NamesAreBoundedAndPrintableUtf8) {
  Envelope e = sample();
  e.sender.node = std::string(kMaxNodeNameBytes, 'n');
  EXPECT_TRUE(open(seal(e, key()), key()));
  e.sender.node += 'n';
  EXPECT_EQ(open(seal(e, key()), key()).code(), Errc::too_large);
  EXPECT_EQ(peek_sender(seal(e, key())).code(), Errc::too_large);

  e = sample();
  e.target = std::string(kMaxNodeNameBytes, 't');
  EXPECT_TRUE(open(seal(e, key()), key()));
  e.target += 't';
  EXPECT_EQ(open(seal(e, key()), key()).code(), Errc::too_large);

  for (const std::string& bad : {std::string("store\xff"), std::string("store\xc0\xaf"),
                                 std::string("store\n"), std::string("st\x7fore")}) {
    e = sample();
    e.sender.node = bad;
    EXPECT_EQ(open(seal(e, key()), key()).code(), Errc::malformed) << bad;
    e = sample();
    e.target = bad;
    EXPECT_EQ(open(seal(e, key()), key()).code(), Errc::malformed) << bad;
  }
  e = sample();
  e.sender.node = "magasin-\xc3\xa9t\xc3\xa9";  // UTF-8 is fine
  EXPECT_TRUE(open(seal(e, key()), key()));
  e.sender.node.clear();
  EXPECT_EQ(open(seal(e, key()), key()).code(), Errc::malformed);
}

TEST(ClusterMessage, APayloadPastItsBoundIsRefusedFromItsLength) {
  std::string sealed = seal(sample(), key());
  // The payload length sits just before the payload: 4 + 1 + 7 + 8 + 8 + 8 + 1 + 7.
  const std::size_t at = 4 + 1 + 7 + 8 + 8 + 8 + 1 + 7;
  const std::uint32_t past = kMaxAssembledBytes + 1;
  for (int i = 0; i < 4; ++i) sealed[at + i] = static_cast<char>((past >> (8 * i)) & 0xff);
  EXPECT_EQ(open(sealed, key()).code(), Errc::too_large);
}

TEST(ClusterMessage, TransferRequestsAndPointersRoundTripStrictly) {
  const std::string q = encode_transfer_request({{"store-c", 3}, 99});
  EXPECT_TRUE(decode_transfer_request(q));
  EXPECT_FALSE(decode_transfer_request(q + "x"));
  EXPECT_FALSE(decode_transfer_request(q.substr(0, q.size() - 1)));
  EXPECT_FALSE(decode_transfer_request(encode_transfer_request({{"", 3}, 99})));

  ChunkPointer p{"sneakers:xfer:store-a:77", 3, 2'500'000, content_hash("abc")};
  const auto back = decode_pointer(encode_pointer(p));
  ASSERT_TRUE(back) << back.reason();
  EXPECT_EQ(back->key_prefix, p.key_prefix);
  EXPECT_EQ(back->chunks, 3u);
  EXPECT_EQ(back->total_bytes, 2'500'000u);
  EXPECT_EQ(back->hash, p.hash);
  EXPECT_FALSE(decode_pointer(encode_pointer(p) + "x"));
  p.chunks = kMaxChunks;
  EXPECT_TRUE(decode_pointer(encode_pointer(p)));
  p.chunks = kMaxChunks + 1;
  EXPECT_EQ(decode_pointer(encode_pointer(p)).code(), Errc::too_large);
  p.chunks = 1;
  p.total_bytes = kMaxAssembledBytes;
  EXPECT_TRUE(decode_pointer(encode_pointer(p)));
  p.total_bytes = kMaxAssembledBytes + 1;
  EXPECT_EQ(decode_pointer(encode_pointer(p)).code(), Errc::too_large);
  p.total_bytes = 0;
  EXPECT_FALSE(decode_pointer(encode_pointer(p)));
  EXPECT_NE(content_hash("abc"), content_hash("abd"));
}

const ReplicaName kA{"store-a", 1};
constexpr std::int64_t kNow = 1'700'000'000'000;

TEST(ClusterReplayGuard, AMessageIsAcceptedOnceWithinTheWindow) {
  ReplayGuard g;
  EXPECT_EQ(g.check(kA, 1000, kNow, kNow), ReplayVerdict::fresh);
  EXPECT_EQ(g.check(kA, 1000, kNow, kNow), ReplayVerdict::replayed);
  EXPECT_EQ(g.check(kA, 1002, kNow, kNow), ReplayVerdict::fresh);
  EXPECT_EQ(g.check(kA, 1001, kNow, kNow), ReplayVerdict::fresh);  // out of order, once
  EXPECT_EQ(g.check(kA, 1001, kNow, kNow), ReplayVerdict::replayed);
  // Another generation of the same node has its own window.
  EXPECT_EQ(g.check({"store-a", 2}, 1000, kNow, kNow), ReplayVerdict::fresh);
}

TEST(ClusterReplayGuard, TheWindowEdgeAndOnePastIt) {
  ReplayGuard g;
  const std::uint64_t newest = 10'000;
  ASSERT_EQ(g.check(kA, newest, kNow, kNow), ReplayVerdict::fresh);
  EXPECT_EQ(g.check(kA, newest - (kReplayWindow - 1), kNow, kNow), ReplayVerdict::fresh);
  EXPECT_EQ(g.check(kA, newest - kReplayWindow, kNow, kNow), ReplayVerdict::replayed);
  // A jump past the whole window forgets the old bits but not the newest.
  ASSERT_EQ(g.check(kA, newest + 1000, kNow, kNow), ReplayVerdict::fresh);
  EXPECT_EQ(g.check(kA, newest + 1000, kNow, kNow), ReplayVerdict::replayed);
  EXPECT_EQ(g.check(kA, newest + 999, kNow, kNow), ReplayVerdict::fresh);
}

TEST(ClusterReplayGuard, MessagesSentTooFarFromNowAreStale) {
  ReplayGuard g;
  EXPECT_EQ(g.check(kA, 1, kNow - kMaxClockSkewMs, kNow), ReplayVerdict::fresh);
  EXPECT_EQ(g.check(kA, 2, kNow - kMaxClockSkewMs - 1, kNow), ReplayVerdict::stale);
  EXPECT_EQ(g.check(kA, 3, kNow + kMaxClockSkewMs, kNow), ReplayVerdict::fresh);
  EXPECT_EQ(g.check(kA, 4, kNow + kMaxClockSkewMs + 1, kNow), ReplayVerdict::stale);
  // Stale messages are not recorded: the seq stays free.
  EXPECT_EQ(g.check(kA, 2, kNow, kNow), ReplayVerdict::fresh);
}

TEST(ClusterReplayGuard, SendersAreBoundedAndTheLeastRecentlyHeardIsForgotten) {
  ReplayGuard g;
  for (std::size_t i = 0; i < kMaxGuardedSenders; ++i) {
    ASSERT_EQ(g.check({"n" + std::to_string(i), 1}, 5, kNow, kNow + std::int64_t(i)),
              ReplayVerdict::fresh);
  }
  // n0 is the least recently heard: one sender past the bound evicts it.
  ASSERT_EQ(g.check({"extra", 1}, 5, kNow, kNow + 1000), ReplayVerdict::fresh);
  EXPECT_EQ(g.check({"n0", 1}, 5, kNow, kNow + 1001), ReplayVerdict::fresh);
  // n2 was kept (n1 made room for n0).
  EXPECT_EQ(g.check({"n2", 1}, 5, kNow, kNow + 1002), ReplayVerdict::replayed);
  g.forget({"n2", 1});
  EXPECT_EQ(g.check({"n2", 1}, 5, kNow, kNow + 1003), ReplayVerdict::fresh);
}

}  // namespace
}  // namespace presence::cluster
