// The demo store's cart cookie: the cart id the server made, with a MAC, so
// that a client can keep its cart across page loads but never pick another
// one (someone else's cart, to join it or take its tab slots).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "presence/keyring.hpp"

namespace presence::jwt {

// "<cart id>.<base64url HMAC-SHA-256>", keyed with the signing key's secret
// (an HS256 secret, or an Ed25519 seed) over a message no JWT signing input
// can equal. nullopt when the key cannot sign or the id is no valid subject.
std::optional<std::string> seal_cart_id(const Key& key, std::string_view cart_id);

// The cart id of a cookie sealed with `key`; nullopt when it was not (any
// change, another key, a bare id a client made up).
std::optional<std::string> open_cart_cookie(const Key& key, std::string_view cookie);

}  // namespace presence::jwt
