// Internal: HMAC-SHA-256 with a key of any length (libsodium's one-shot
// crypto_auth_hmacsha256 takes only 32-byte keys; the streaming API hashes
// longer keys as RFC 2104 requires).
#pragma once

#include <sodium.h>

#include <array>
#include <string_view>

#include "presence/keyring.hpp"

namespace presence::jwt::detail {

using Hs256Mac = std::array<unsigned char, crypto_auth_hmacsha256_BYTES>;

inline Hs256Mac hs256(const SecretBytes& secret, std::string_view signing_input) noexcept {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, secret.data(), secret.size());
  crypto_auth_hmacsha256_update(
      &state, reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size());
  Hs256Mac mac;
  crypto_auth_hmacsha256_final(&state, mac.data());
  sodium_memzero(&state, sizeof state);
  return mac;
}

}  // namespace presence::jwt::detail
