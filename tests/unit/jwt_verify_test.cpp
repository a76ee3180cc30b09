#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "jwt_test_support.hpp"
#include "presence/base64url.hpp"
#include "presence/cart_meta.hpp"
#include "presence/jwt.hpp"

namespace presence {
namespace {

using namespace presence::jwt;

using test::claims_json;
using test::forge;
using test::kNow;
using test::options;

static_assert(noexcept(verify(std::string_view(), std::declval<const KeyRing&>(),
                              std::declval<const VerifyOptions&>())));

class Verify : public ::testing::Test {
 protected:
  Verify() {
    EXPECT_TRUE(test::succeeded(ring_.add(hs_)));
    EXPECT_TRUE(test::succeeded(
        ring_.load_file("", Alg::eddsa, test::kBothRoles, test::data_path("ed25519_public.pem"))));
  }

  VerifyError error_of(std::string_view token, const VerifyOptions& opts = options()) const {
    return verify(token, ring_, opts).error;
  }

  std::string hs_token(std::string_view claims) const {
    return forge(R"({"alg":"HS256","typ":"JWT"})", claims, hs_);
  }

  const Key hs_ = test::load_test_key("", Alg::hs256, "hs256.key");
  const Key ed_ = test::load_test_key("", Alg::eddsa, "ed25519_private.pem");
  KeyRing ring_;
};

TEST_F(Verify, AcceptsHs256AndReturnsTheClaims) {
  const Claims claims{"cart-42", "shopper", kNow + 60, kNow - 5, kNow - 5};
  const std::optional<std::string> token = sign(hs_, claims);
  ASSERT_TRUE(token);
  const VerifyResult result = verify(*token, ring_, options());
  EXPECT_EQ(result.error, VerifyError::none) << result.reason;
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.reason, "");
  EXPECT_EQ(result.claims, claims);
}

TEST_F(Verify, AcceptsEdDsa) {
  const Claims claims{"alice", "admin", kNow + 60, std::nullopt, std::nullopt};
  const std::optional<std::string> token = sign(ed_, claims);
  ASSERT_TRUE(token);
  const VerifyResult result = verify(*token, ring_, options("admin"));
  EXPECT_EQ(result.error, VerifyError::none) << result.reason;
  EXPECT_EQ(result.claims, claims);
}

TEST_F(Verify, RefusesExpiredNotYetValidAndFutureIssuedTokens) {
  EXPECT_EQ(error_of(hs_token(claims_json(kNow - 1))), VerifyError::expired);
  EXPECT_EQ(error_of(hs_token(claims_json(kNow))), VerifyError::expired);
  EXPECT_EQ(error_of(hs_token(claims_json(kNow + 1))), VerifyError::none);
  EXPECT_EQ(error_of(hs_token(R"({"sub":"c","role":"shopper","exp":1764277600,"nbf":1764277501})")),
            VerifyError::not_yet_valid);
  EXPECT_EQ(error_of(hs_token(R"({"sub":"c","role":"shopper","exp":1764277600,"iat":1764277501})")),
            VerifyError::issued_in_future);
  EXPECT_EQ(error_of(hs_token(R"({"sub":"c","role":"shopper","exp":1764277600,"nbf":1764277500,)"
                              R"("iat":1764277500})")),
            VerifyError::none);
}

TEST_F(Verify, LeewayHoldsToTheSecondOnEveryTime) {
  constexpr std::int64_t kLeeway = 30;
  const VerifyOptions opts = options("shopper", kLeeway);
  auto with = [&](std::string_view name, std::int64_t at) {
    return hs_token(R"({"sub":"c","role":"shopper","exp":)" + std::to_string(kNow + 600) + ",\"" +
                    std::string(name) + "\":" + std::to_string(at) + "}");
  };
  // exp: valid while now < exp + leeway.
  EXPECT_EQ(error_of(hs_token(claims_json(kNow - kLeeway + 1)), opts), VerifyError::none);
  EXPECT_EQ(error_of(hs_token(claims_json(kNow - kLeeway)), opts), VerifyError::expired);
  // nbf and iat: valid while they are at most now + leeway.
  EXPECT_EQ(error_of(with("nbf", kNow + kLeeway), opts), VerifyError::none);
  EXPECT_EQ(error_of(with("nbf", kNow + kLeeway + 1), opts), VerifyError::not_yet_valid);
  EXPECT_EQ(error_of(with("iat", kNow + kLeeway), opts), VerifyError::none);
  EXPECT_EQ(error_of(with("iat", kNow + kLeeway + 1), opts), VerifyError::issued_in_future);
}

TEST_F(Verify, NegativeLeewayCountsAsNone) {
  EXPECT_EQ(error_of(hs_token(claims_json(kNow + 1)), options("shopper", -100)), VerifyError::none);
}

TEST_F(Verify, RoundsFractionalTimesTowardsRefusal) {
  EXPECT_EQ(error_of(hs_token(R"({"sub":"c","role":"shopper","exp":1764277500.9})")),
            VerifyError::expired);
  EXPECT_EQ(error_of(hs_token(R"({"sub":"c","role":"shopper","exp":1764277501.5})")),
            VerifyError::none);
  EXPECT_EQ(
      error_of(hs_token(R"({"sub":"c","role":"shopper","exp":1764277600,"nbf":1764277500.1})")),
      VerifyError::not_yet_valid);
  EXPECT_EQ(
      error_of(hs_token(R"({"sub":"c","role":"shopper","exp":1764277600,"iat":1764277500.1})")),
      VerifyError::issued_in_future);
}

TEST_F(Verify, TimesAtTheEdgesOfTheRangeNeitherOverflowNorPass) {
  const VerifyOptions opts = options("shopper", 60);
  EXPECT_EQ(error_of(hs_token(claims_json(std::numeric_limits<std::int64_t>::max())), opts),
            VerifyError::none);
  EXPECT_EQ(error_of(hs_token(claims_json(std::numeric_limits<std::int64_t>::min())), opts),
            VerifyError::expired);
  EXPECT_EQ(error_of(hs_token(R"({"sub":"c","role":"shopper","exp":9223372036854775808})")),
            VerifyError::bad_claims);
  EXPECT_EQ(error_of(hs_token(R"({"sub":"c","role":"shopper","exp":1e300})")),
            VerifyError::bad_claims);
  // Beyond a double, nlohmann's parser calls the number itself invalid JSON.
  EXPECT_EQ(error_of(hs_token(R"({"sub":"c","role":"shopper","exp":1e999})")),
            VerifyError::malformed);
}

TEST_F(Verify, RefusesAlgNone) {
  const std::string unsigned_token = base64url::encode(R"({"alg":"none","typ":"JWT"})") + "." +
                                     base64url::encode(claims_json(kNow + 60)) + ".";
  EXPECT_EQ(error_of(unsigned_token), VerifyError::malformed);
  const VerifyResult result = verify(unsigned_token + "AAAA", ring_, options());
  EXPECT_EQ(result.error, VerifyError::unsupported_alg);
  EXPECT_EQ(result.reason, "alg \"none\" is not accepted");
}

TEST_F(Verify, RefusesEveryOtherAlg) {
  for (const char* header :
       {R"({"alg":"HS384"})", R"({"alg":"HS512"})", R"({"alg":"RS256"})", R"({"alg":"ES256"})",
        R"({"alg":"PS256"})", R"({"alg":"Ed25519"})", R"({"alg":"hs256"})", R"({"alg":"HS256 "})",
        R"({"alg":""})", R"({"typ":"JWT"})", R"({"alg":null})", R"({"alg":256})",
        R"({"alg":["HS256"]})"}) {
    EXPECT_EQ(error_of(forge(header, claims_json(kNow + 60), hs_)), VerifyError::unsupported_alg)
        << header;
  }
}

TEST_F(Verify, NeverChecksAnHs256TokenWithAPublicKey) {
  // The attack: sign HS256 with the verifier's public key, published, as the secret.
  const std::string pem = [] {
    std::FILE* f = std::fopen(test::data_path("ed25519_public.pem").c_str(), "rb");
    std::string text(512, '\0');
    text.resize(std::fread(text.data(), 1, text.size(), f));
    std::fclose(f);
    return text;
  }();
  const Key ed_public = test::load_test_key("ed", Alg::eddsa, "ed25519_public.pem");
  const std::string raw(reinterpret_cast<const char*>(ed_public.public_key.data()),
                        ed_public.public_key.size());
  KeyRing public_only;
  ASSERT_TRUE(test::succeeded(public_only.add(ed_public)));
  for (const std::string& secret : {pem, raw + raw}) {
    Key attacker;
    attacker.secret = SecretBytes(secret);
    for (const char* header : {R"({"alg":"HS256"})", R"({"alg":"HS256","kid":"ed"})"}) {
      const std::string token = forge(header, claims_json(kNow + 60), attacker);
      EXPECT_EQ(verify(token, public_only, options()).error, VerifyError::unknown_kid);
      EXPECT_NE(error_of(token), VerifyError::none);
    }
  }
  // And the other way round: an EdDSA header cannot borrow the HMAC key.
  KeyRing hmac_only;
  ASSERT_TRUE(test::succeeded(hmac_only.add(hs_)));
  EXPECT_EQ(
      verify(forge(R"({"alg":"EdDSA"})", claims_json(kNow + 60), ed_), hmac_only, options()).error,
      VerifyError::unknown_kid);
}

// Flips every bit of the decoded segment `index`; no flip may pass.
std::vector<VerifyError> errors_after_bit_flips(const std::string& token, std::size_t index,
                                                const KeyRing& ring, const VerifyOptions& opts) {
  std::vector<std::string> segments(3);
  std::size_t at = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    const std::size_t dot = token.find('.', at);
    segments[i] = token.substr(at, dot == std::string::npos ? dot : dot - at);
    at = dot + 1;
  }
  const std::string bytes = *base64url::decode(segments[index]);
  std::vector<VerifyError> errors;
  for (std::size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    std::string flipped = bytes;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    std::vector<std::string> copy = segments;
    copy[index] = base64url::encode(flipped);
    errors.push_back(verify(copy[0] + "." + copy[1] + "." + copy[2], ring, opts).error);
  }
  return errors;
}

TEST_F(Verify, ABitFlippedAnywhereBreaksTheToken) {
  for (const Key* key : {&hs_, &ed_}) {
    const std::string token = *sign(*key, {"cart-42", "shopper", kNow + 60, {}, {}});
    ASSERT_EQ(error_of(token), VerifyError::none);
    for (std::size_t segment = 0; segment < 3; ++segment) {
      for (VerifyError error : errors_after_bit_flips(token, segment, ring_, options())) {
        // The header may stop parsing; claims and signature are only ever a signature mismatch.
        if (segment == 0) {
          EXPECT_NE(error, VerifyError::none);
        } else {
          EXPECT_EQ(error, VerifyError::bad_signature) << "segment " << segment;
        }
      }
    }
  }
}

TEST_F(Verify, RefusesTheWrongRole) {
  const std::string shopper = *sign(hs_, {"cart-42", "shopper", kNow + 60, {}, {}});
  const VerifyResult result = verify(shopper, ring_, options("admin"));
  EXPECT_EQ(result.error, VerifyError::wrong_role);
  EXPECT_EQ(result.reason, "role \"shopper\" where \"admin\" is required");
  EXPECT_EQ(result.claims.sub, "cart-42");
  EXPECT_EQ(error_of(*sign(hs_, {"alice", "admin", kNow + 60, {}, {}})), VerifyError::wrong_role);
  EXPECT_EQ(error_of(shopper, options("")), VerifyError::wrong_role);
}

TEST_F(Verify, TakesOnlyRolesTheVerifyingKeyIsConfiguredFor) {
  // A shopper backend's key signing role "admin": the signature is good, the key may not say so.
  const Key shop = test::load_test_key("shop-1", Alg::hs256, "hs256.key", Role::shopper);
  const Key admin = test::load_test_key("admin-1", Alg::eddsa, "ed25519_private.pem", Role::admin);
  KeyRing ring;
  ASSERT_TRUE(test::succeeded(ring.add(shop)));
  ASSERT_TRUE(test::succeeded(ring.add(admin)));
  const VerifyResult forged =
      verify(*sign(shop, {"mallory", "admin", kNow + 60, {}, {}}), ring, options("admin"));
  EXPECT_EQ(forged.error, VerifyError::key_not_for_role);
  EXPECT_EQ(forged.reason, "key \"shop-1\" is configured for roles=shopper, not \"admin\"");
  EXPECT_EQ(verify(*sign(admin, {"cart-1", "shopper", kNow + 60, {}, {}}), ring, options()).error,
            VerifyError::key_not_for_role);
  const VerifyResult shopper =
      verify(*sign(shop, {"cart-1", "shopper", kNow + 60, {}, {}}), ring, options());
  EXPECT_EQ(shopper.error, VerifyError::none);
  EXPECT_EQ(shopper.kid, "shop-1");
  const VerifyResult ops =
      verify(*sign(admin, {"ops", "admin", kNow + 60, {}, {}}), ring, options("admin"));
  EXPECT_EQ(ops.error, VerifyError::none);
  EXPECT_EQ(ops.kid, "admin-1");
}

TEST_F(Verify, ChecksTheIssuerWhenOneIsRequired) {
  VerifyOptions opts = options();
  opts.issuer = "https://store.example";
  const std::string base = R"({"sub":"c","role":"shopper","exp":1764277600)";
  EXPECT_EQ(error_of(hs_token(base + R"(,"iss":"https://store.example"})"), opts),
            VerifyError::none);
  const VerifyResult missing = verify(hs_token(base + "}"), ring_, opts);
  EXPECT_EQ(missing.error, VerifyError::wrong_issuer);
  EXPECT_EQ(missing.reason, "iss missing where \"https://store.example\" is required");
  for (const char* iss :
       {R"("https://store.example/")", R"("")", R"(["https://store.example"])", "42", "null"}) {
    EXPECT_EQ(error_of(hs_token(base + R"(,"iss":)" + iss + "}"), opts), VerifyError::wrong_issuer)
        << iss;
  }
  // Without a required issuer, iss is one of the claims this verifier does not use.
  EXPECT_EQ(error_of(hs_token(base + R"(,"iss":"anyone"})")), VerifyError::none);
}

TEST_F(Verify, ChecksTheAudienceAsAStringOrAnArray) {
  VerifyOptions opts = options();
  opts.audience = "presence";
  const std::string base = R"({"sub":"c","role":"shopper","exp":1764277600)";
  for (const char* aud : {R"("presence")", R"(["presence"])", R"(["store","presence"])"}) {
    EXPECT_EQ(error_of(hs_token(base + R"(,"aud":)" + aud + "}"), opts), VerifyError::none) << aud;
  }
  for (const char* aud : {R"("store")", "[]", R"(["store"])", R"(["presence",1])",
                          R"([["presence"]])", R"({"presence":1})", "null", R"("Presence")"}) {
    EXPECT_EQ(error_of(hs_token(base + R"(,"aud":)" + aud + "}"), opts),
              VerifyError::wrong_audience)
        << aud;
  }
  const VerifyResult missing = verify(hs_token(base + "}"), ring_, opts);
  EXPECT_EQ(missing.error, VerifyError::wrong_audience);
  EXPECT_EQ(missing.reason, "aud missing where \"presence\" is required");
  // An endpoint without an audience cannot be the one a token names (RFC 7519 4.1.3).
  EXPECT_EQ(error_of(hs_token(base + R"(,"aud":"store"})")), VerifyError::wrong_audience);
  EXPECT_EQ(error_of(hs_token(base + R"(,"aud":["presence"]})")), VerifyError::wrong_audience);
}

TEST_F(Verify, RefusesAnUnknownKid) {
  const std::string token =
      forge(R"({"alg":"HS256","kid":"retired"})", claims_json(kNow + 60), hs_);
  const VerifyResult result = verify(token, ring_, options());
  EXPECT_EQ(result.error, VerifyError::unknown_kid);
  EXPECT_EQ(result.reason, "no HS256 key with kid \"retired\"");
}

TEST_F(Verify, RotatesKeysByKid) {
  Key old_key = test::load_test_key("2025", Alg::hs256, "hs256.key");
  Key new_key = test::load_test_key("2026", Alg::hs256, "hs256_next.key");
  KeyRing both;
  ASSERT_TRUE(test::succeeded(both.add(old_key)));
  ASSERT_TRUE(test::succeeded(both.add(new_key)));
  const Claims claims{"cart-42", "shopper", kNow + 60, {}, {}};
  EXPECT_EQ(verify(*sign(old_key, claims), both, options()).error, VerifyError::none);
  EXPECT_EQ(verify(*sign(new_key, claims), both, options()).error, VerifyError::none);
  // A kid naming the other key: its signature does not match.
  Key mislabelled = new_key;
  mislabelled.kid = "2025";
  EXPECT_EQ(verify(*sign(mislabelled, claims), both, options()).error, VerifyError::bad_signature);
  KeyRing rotated;
  ASSERT_TRUE(test::succeeded(rotated.add(new_key)));
  EXPECT_EQ(verify(*sign(old_key, claims), rotated, options()).error, VerifyError::unknown_kid);
}

TEST_F(Verify, RefusesEveryTruncation) {
  const std::string token = *sign(ed_, {"cart-42", "shopper", kNow + 60, {}, {}});
  for (std::size_t size = 0; size < token.size(); ++size) {
    EXPECT_NE(error_of(token.substr(0, size)), VerifyError::none) << size;
  }
}

TEST_F(Verify, RefusesBadStructure) {
  const std::string token = *sign(hs_, {"cart-42", "shopper", kNow + 60, {}, {}});
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = token.find('.', dot1 + 1);
  const std::string header = token.substr(0, dot1);
  const std::string claims = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string signature = token.substr(dot2 + 1);
  for (const std::string& bad :
       {std::string(), std::string("."), std::string(".."), std::string("..."),
        "." + claims + "." + signature, header + ".." + signature, header + "." + claims + ".",
        header + "." + claims, header + "." + claims + "." + signature + "." + signature,
        header + "." + claims + "." + signature + ".", token + "=",
        header + "=." + claims + "." + signature, header + "." + claims + "==." + signature,
        " " + token, token + "\n",
        header + "." + claims + "." + signature.substr(0, 10) + "+" + signature.substr(11),
        header.substr(0, 5) + "/" + header.substr(6) + "." + claims + "." + signature,
        header + "." + claims.substr(0, 5) + std::string(1, '\0') + claims.substr(6) + "." +
            signature,
        header + "." + claims.substr(0, 5) + "\xff" + claims.substr(6) + "." + signature}) {
    const VerifyResult result = verify(bad, ring_, options());
    EXPECT_EQ(result.error, VerifyError::malformed) << bad;
    EXPECT_NE(result.reason, "");
  }
}

TEST_F(Verify, BoundsTheTokenSize) {
  // Grow a filler claim until the token reaches the limit and one past it; with
  // this header both sizes are reachable (unpadded base64 never has length 4n+1).
  std::string at_limit;
  std::string one_past;
  for (std::size_t filler = 0; filler <= kDefaultMaxTokenBytes && one_past.empty(); ++filler) {
    const std::string token = hs_token(R"({"sub":"c","role":"shopper","exp":1764277600,"pad":")" +
                                       std::string(filler, 'x') + "\"}");
    if (token.size() == kDefaultMaxTokenBytes) at_limit = token;
    if (token.size() == kDefaultMaxTokenBytes + 1) one_past = token;
  }
  ASSERT_EQ(at_limit.size(), kDefaultMaxTokenBytes);
  ASSERT_EQ(one_past.size(), kDefaultMaxTokenBytes + 1);
  EXPECT_EQ(error_of(at_limit), VerifyError::none);
  EXPECT_EQ(error_of(one_past), VerifyError::malformed);

  const std::string small = hs_token(claims_json(kNow + 60));
  VerifyOptions tighter = options();
  tighter.max_token_bytes = small.size();
  EXPECT_EQ(error_of(small, tighter), VerifyError::none);
  tighter.max_token_bytes = small.size() - 1;
  const VerifyResult result = verify(small, ring_, tighter);
  EXPECT_EQ(result.error, VerifyError::malformed);
  EXPECT_EQ(result.reason, "token longer than " + std::to_string(small.size() - 1) + " bytes");
}

TEST_F(Verify, RefusesHeadersThatAreNotPlainObjects) {
  for (const char* header :
       {"[]", R"("HS256")", "1", "null", "", R"({"alg":"HS256")", R"({"alg":"HS256"} {})",
        R"({"alg":"HS256","alg":"HS256"})", R"({"alg":"HS256","kid":7})",
        R"({"alg":"HS256","typ":["JWT"]})", R"({"alg":"HS256","crit":["exp"]})",
        "{\"alg\":\"HS256\",\"x\":\"\xff\"}"}) {
    EXPECT_EQ(error_of(forge(header, claims_json(kNow + 60), hs_)), VerifyError::malformed)
        << header;
  }
}

TEST_F(Verify, RefusesClaimsThatAreNotPlainObjects) {
  for (const char* claims : {"[]", R"("cart-42")", "42", "null", "{", "{\"sub\":\"\xc3\x28\"}",
                             R"({"sub":"c","role":"shopper","exp":1764277600,"exp":1})"}) {
    EXPECT_EQ(error_of(hs_token(claims)), VerifyError::malformed) << claims;
  }
}

TEST_F(Verify, RefusesMissingOrMistypedClaims) {
  for (const char* claims :
       {R"({"sub":"c","role":"shopper"})", R"({"sub":"c","role":"shopper","exp":"1764277600"})",
        R"({"sub":"c","role":"shopper","exp":true})", R"({"sub":"c","role":"shopper","exp":null})",
        R"({"sub":"c","role":"shopper","exp":[1764277600]})",
        R"({"sub":"c","role":"shopper","exp":1764277600,"nbf":"0"})",
        R"({"sub":"c","role":"shopper","exp":1764277600,"iat":{}})",
        R"({"role":"shopper","exp":1764277600})", R"({"sub":42,"role":"shopper","exp":1764277600})",
        R"({"sub":"","role":"shopper","exp":1764277600})",
        R"({"sub":"cart/42","role":"shopper","exp":1764277600})", R"({"sub":"c","exp":1764277600})",
        R"({"sub":"c","role":"","exp":1764277600})",
        R"({"sub":"c","role":["shopper"],"exp":1764277600})"}) {
    EXPECT_EQ(error_of(hs_token(claims)), VerifyError::bad_claims) << claims;
  }
  EXPECT_EQ(error_of(hs_token(R"({"sub":")" + std::string(kMaxSubBytes + 1, 'a') +
                              R"(","role":"shopper","exp":1764277600})")),
            VerifyError::bad_claims);
  EXPECT_EQ(error_of(hs_token(R"({"sub":")" + std::string(kMaxSubBytes, 'a') +
                              R"(","role":"shopper","exp":1764277600})")),
            VerifyError::none);
}

TEST_F(Verify, IgnoresClaimsItDoesNotUse) {
  EXPECT_EQ(error_of(hs_token(R"({"sub":"c","role":"shopper","exp":1764277600,"jti":"x",)"
                              R"("iss":"store","nested":{"exp":"no","sub":[1,{"a":null}]}})")),
            VerifyError::none);
}

TEST_F(Verify, QuotesOnlyPrintableTokenTextInReasons) {
  const VerifyResult result =
      verify(forge("{\"alg\":\"x\\ny\\u0000z\"}", claims_json(kNow + 60), hs_), ring_, options());
  EXPECT_EQ(result.error, VerifyError::unsupported_alg);
  EXPECT_EQ(result.reason, "alg \"x?y?z\" is not accepted");
}

TEST(VerifyError, HasAName) {
  EXPECT_EQ(to_string(VerifyError::none), "none");
  EXPECT_EQ(to_string(VerifyError::bad_signature), "bad_signature");
  EXPECT_EQ(to_string(VerifyError::wrong_role), "wrong_role");
}

RC_GTEST_PROP(VerifyProperty, ArbitraryTextNeverVerifies, (const std::string& text)) {
  KeyRing ring;
  RC_ASSERT(static_cast<bool>(
      ring.load_file("", Alg::hs256, test::kBothRoles, test::data_path("hs256.key"))));
  const VerifyResult result = verify(text, ring, options());
  RC_ASSERT(result.error != VerifyError::none);
  RC_ASSERT(!result.reason.empty());
}

}  // namespace
}  // namespace presence
