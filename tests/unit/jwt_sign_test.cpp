#include <sodium.h>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "jwt_test_support.hpp"
#include "presence/base64url.hpp"
#include "presence/cart_meta.hpp"
#include "presence/jwt.hpp"

namespace presence {
namespace {

using namespace presence::jwt;

using test::kNow;

nlohmann::json segment_json(const std::string& token, std::size_t index) {
  std::size_t at = 0;
  for (std::size_t i = 0; i < index; ++i) at = token.find('.', at) + 1;
  return nlohmann::json::parse(*base64url::decode(token.substr(at, token.find('.', at) - at)));
}

TEST(Sign, WritesTheJoseHeaderWithTheKeysKid) {
  const Key hs = test::load_test_key("2026", Alg::hs256, "hs256.key");
  const Key ed = test::load_test_key("", Alg::eddsa, "ed25519_private.pem");
  const Claims claims{"cart-42", "shopper", kNow + 60, {}, {}};
  EXPECT_EQ(segment_json(*sign(hs, claims), 0),
            nlohmann::json({{"alg", "HS256"}, {"typ", "JWT"}, {"kid", "2026"}}));
  EXPECT_EQ(segment_json(*sign(ed, claims), 0), nlohmann::json({{"alg", "EdDSA"}, {"typ", "JWT"}}));
}

TEST(Sign, WritesOnlyTheClaimsThatAreSet) {
  const Key hs = test::load_test_key("", Alg::hs256, "hs256.key");
  EXPECT_EQ(segment_json(*sign(hs, {"cart-42", "shopper", kNow + 60, {}, {}}), 1),
            nlohmann::json({{"sub", "cart-42"}, {"role", "shopper"}, {"exp", kNow + 60}}));
  EXPECT_EQ(segment_json(*sign(hs, {"alice", "admin", kNow + 60, kNow - 1, kNow}), 1),
            nlohmann::json({{"sub", "alice"},
                            {"role", "admin"},
                            {"exp", kNow + 60},
                            {"nbf", kNow - 1},
                            {"iat", kNow}}));
}

TEST(Sign, ProducesAnEd25519SignatureLibsodiumAccepts) {
  const Key ed = test::load_test_key("", Alg::eddsa, "ed25519_private.pem");
  const std::string token = *sign(ed, {"cart-42", "shopper", kNow + 60, {}, {}});
  const std::size_t dot = token.rfind('.');
  const std::string signature = *base64url::decode(token.substr(dot + 1));
  ASSERT_EQ(signature.size(), crypto_sign_BYTES);
  EXPECT_EQ(crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature.data()),
                                        reinterpret_cast<const unsigned char*>(token.data()), dot,
                                        ed.public_key.data()),
            0);
  // Ed25519 and HMAC are deterministic: the same claims give the same token.
  EXPECT_EQ(*sign(ed, {"cart-42", "shopper", kNow + 60, {}, {}}), token);
}

TEST(Sign, RefusesWhatItCannotSignOrCouldNeverVerify) {
  const Key ed_public = test::load_test_key("", Alg::eddsa, "ed25519_public.pem");
  const Key hs = test::load_test_key("", Alg::hs256, "hs256.key");
  EXPECT_EQ(sign(ed_public, {"cart-42", "shopper", kNow + 60, {}, {}}), std::nullopt);
  EXPECT_EQ(sign(Key{}, {"cart-42", "shopper", kNow + 60, {}, {}}), std::nullopt);
  EXPECT_EQ(sign(hs, {"cart/42", "shopper", kNow + 60, {}, {}}), std::nullopt);
  EXPECT_EQ(sign(hs, {"", "shopper", kNow + 60, {}, {}}), std::nullopt);
  EXPECT_EQ(sign(hs, {"cart-42", "", kNow + 60, {}, {}}), std::nullopt);
  EXPECT_EQ(sign(hs, {"cart-42", "\xff", kNow + 60, {}, {}}), std::nullopt);
}

RC_GTEST_PROP(SignProperty, WhatIsSignedVerifiesWithTheSameClaims,
              (const std::string& sub_seed, bool admin, bool eddsa, std::int32_t ttl_seed)) {
  static const Key hs = test::load_test_key("", Alg::hs256, "hs256.key");
  static const Key ed = test::load_test_key("", Alg::eddsa, "ed25519_private.pem");
  static const KeyRing ring = [] {
    KeyRing keys;
    EXPECT_TRUE(test::succeeded(keys.add(hs)));
    EXPECT_TRUE(
        test::succeeded(keys.add(test::load_test_key("", Alg::eddsa, "ed25519_public.pem"))));
    return keys;
  }();
  std::string sub;
  for (char c : sub_seed.substr(0, kMaxSubBytes))
    sub += "abcXYZ019._:-"[static_cast<unsigned char>(c) % 13];
  if (sub.empty()) sub = "c";
  const Claims claims{sub, admin ? "admin" : "shopper", kNow + 1 + (ttl_seed & 0xffff),
                      kNow - (ttl_seed & 0xff), kNow};
  const std::optional<std::string> token = sign(eddsa ? ed : hs, claims);
  RC_ASSERT(token.has_value());
  const VerifyResult result = verify(*token, ring, test::options(claims.role));
  RC_ASSERT(result.error == VerifyError::none);
  RC_ASSERT(result.claims == claims);
}

}  // namespace
}  // namespace presence
