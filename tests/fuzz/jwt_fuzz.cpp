// Token verification and key-file parsing on hostile input. The first byte picks
// what the rest is:
//   0: a token, verified as it comes (structure, base64url, header JSON);
//   1: "<header JSON>\n<claims JSON>", signed here with the HS256 test key, so the
//      checks behind the signature (claims JSON, types, times, role) are reached;
//   2 / 3: the contents of an HS256 / EdDSA key file.
// Whatever verifies must satisfy docs/PROTOCOL.md section 3; nothing may crash or leak.
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "presence/base64url.hpp"
#include "presence/cart_meta.hpp"
#include "presence/jwt.hpp"

namespace {

using namespace presence::jwt;

constexpr std::int64_t kNow = 1764277500;
constexpr std::int64_t kLeeway = 30;
constexpr std::string_view kSecret = "fuzzing-secret-of-at-least-32-bytes!";

void require(bool ok) {
  if (!ok) std::abort();
}

struct Fixture {
  Key hs;
  Key ed;
  KeyRing ring;

  Fixture() {
    require(static_cast<bool>(parse_key("", Alg::hs256, kSecret, hs)));
    ed.alg = Alg::eddsa;
    ed.kid = "ed";
    unsigned char seed[kEd25519SeedBytes] = {7};
    unsigned char signing[kEd25519SigningKeyBytes];
    crypto_sign_seed_keypair(ed.public_key.data(), signing, seed);
    ed.signing_key =
        SecretBytes(std::string_view(reinterpret_cast<char*>(signing), sizeof signing));
    // The HS256 key signs the inputs: it must be configured for the role they are checked for.
    hs.roles = Role::shopper;
    ed.roles = RoleSet(Role::shopper).with(Role::admin);
    require(static_cast<bool>(ring.add(hs)));
    require(static_cast<bool>(ring.add(ed)));
  }
};

void check(const VerifyResult& result) {
  require(result.ok() == result.reason.empty());
  if (!result.ok()) return;
  require(presence::is_valid_subject(result.claims.sub));
  require(result.claims.role == "shopper");
  require(result.claims.exp > kNow - kLeeway);  // now < exp + leeway
  require(!result.claims.nbf || *result.claims.nbf <= kNow + kLeeway);
  require(!result.claims.iat || *result.claims.iat <= kNow + kLeeway);
}

std::string hs256_token(std::string_view header, std::string_view claims, const Key& key) {
  std::string input =
      presence::base64url::encode(header) + "." + presence::base64url::encode(claims);
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key.secret.data(), key.secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(input.data()),
                                input.size());
  crypto_auth_hmacsha256_final(&state, mac);
  return input + "." +
         presence::base64url::encode(std::string_view(reinterpret_cast<char*>(mac), sizeof mac));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Fixture fixture;
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  VerifyOptions opts;
  opts.now_s = kNow;
  opts.leeway_s = kLeeway;
  opts.required_role = "shopper";
  switch (data[0] % 4) {
    case 0:
      check(verify(rest, fixture.ring, opts));
      break;
    case 1: {
      const std::size_t newline = rest.find('\n');
      if (newline == std::string_view::npos) return 0;
      const std::string token =
          hs256_token(rest.substr(0, newline), rest.substr(newline + 1), fixture.hs);
      const VerifyResult result = verify(token, fixture.ring, opts);
      check(result);
      // What verifies re-signs to a token that verifies with the same claims.
      if (result.ok()) {
        const std::optional<std::string> again = sign(fixture.hs, result.claims);
        require(again && verify(*again, fixture.ring, opts).claims == result.claims);
      }
      break;
    }
    default: {
      Key key;
      const Alg alg = data[0] % 4 == 2 ? Alg::hs256 : Alg::eddsa;
      if (parse_key("", alg, rest, key)) {
        require(alg == Alg::hs256 ? key.secret.size() >= kMinHs256SecretBytes
                                  : crypto_core_ed25519_is_valid_point(key.public_key.data()) == 1);
      }
      break;
    }
  }
  return 0;
}
