// JSON Web Tokens (RFC 7519, compact serialization) as docs/PROTOCOL.md
// section 3 defines them: HS256 and EdDSA (Ed25519) on libsodium, claims sub / role /
// exp / nbf / iat. Key files and their formats: keyring.hpp.
//
// libsodium is initialised once, by the first KeyRing::add / parse_key / sign
// (sodium_init is thread-safe and idempotent); every key reaching verify()
// went through one of them, so verify() itself never initialises or locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "presence/keyring.hpp"

namespace presence::jwt {

// Large enough for any token this product mints or a store would send in a
// query string; bounds the work a hostile handshake can cause.
inline constexpr std::size_t kDefaultMaxTokenBytes = 4096;

struct Claims {
  std::string sub;
  std::string role;
  std::int64_t exp = 0;
  std::optional<std::int64_t> nbf;
  std::optional<std::int64_t> iat;

  bool operator==(const Claims&) const = default;
};

enum class VerifyError {
  none,
  malformed,        // size, structure, base64url, JSON, duplicate or crit header members
  unsupported_alg,  // alg missing, "none" or anything but HS256 / EdDSA
  unknown_kid,      // no configured key for the token's kid and alg
  bad_signature,
  expired,
  not_yet_valid,     // nbf in the future
  issued_in_future,  // iat in the future
  bad_claims,        // exp / sub / role missing or mistyped, sub invalid
  wrong_role,        // the role claim is not the one the endpoint takes
  key_not_for_role,  // the verifying key is not configured for the token's role
  wrong_issuer,      // iss missing or not the endpoint's issuer
  wrong_audience,    // aud missing or not naming the endpoint's audience, or set where none is
};

// "malformed", "bad_signature", ...: for logs and the token tool.
std::string_view to_string(VerifyError error) noexcept;

struct VerifyResult {
  VerifyError error = VerifyError::malformed;
  Claims claims;       // filled as far as the token got (complete when error == none)
  std::string kid;     // the kid of the key that verified the signature
  std::string reason;  // one line for the log; empty on success

  bool ok() const noexcept { return error == VerifyError::none; }
};

struct VerifyOptions {
  std::int64_t now_s = 0;  // unix seconds
  // Clock skew allowed on exp, nbf and iat (RFC 7519 4.1.4); negative counts as 0.
  std::int64_t leeway_s = 0;
  std::string_view required_role;  // the token's role must equal it exactly
  // When set, the iss claim must equal it (RFC 7519 4.1.1).
  std::string_view issuer;
  // When set, aud (a string or an array of strings) must name it; when not, a
  // token with an aud is refused (RFC 7519 4.1.3: this server cannot claim to
  // be the audience it names).
  std::string_view audience;
  std::size_t max_token_bytes = kDefaultMaxTokenBytes;
};

// Time rules (as python-jwt applies them): expired when now >= exp + leeway,
// not yet valid when nbf > now + leeway, issued in the future when iat > now +
// leeway. Non-integral NumericDates are rounded towards refusal.
// The header's alg picks the key together with kid, so a token can only be
// checked with a key of its own algorithm (no HS256 over a public key), and
// the role claim must be one that key is configured for.
// Takes no lock and touches no shared memory.
VerifyResult verify(std::string_view token, const KeyRing& keys,
                    const VerifyOptions& opts) noexcept;

// Mints a token: header {"alg", "typ":"JWT", "kid" when the key has one},
// claims sub, role, exp, and nbf / iat when set. nullopt when the key cannot
// sign (an EdDSA public key) or the claims could never verify (invalid sub,
// empty role).
std::optional<std::string> sign(const Key& key, const Claims& claims) noexcept;

}  // namespace presence::jwt
