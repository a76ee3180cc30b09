// Base64url without padding (RFC 4648 section 5), as JWT segments use it, and
// base64 (section 4, padded) as PEM bodies use it. Both wrap libsodium's decoder,
// which refuses bytes outside the alphabet and non-zero trailing bits, so every
// byte string has exactly one accepted encoding.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace presence::base64url {

std::string encode(std::string_view bytes);

// nullopt on padding, a byte outside [A-Za-z0-9_-], an impossible length
// (4n+1) or non-canonical trailing bits.
std::optional<std::string> decode(std::string_view text) noexcept;

}  // namespace presence::base64url

namespace presence::base64 {

// Standard alphabet with '=' padding, as PEM bodies use it.
std::string encode(std::string_view bytes);

// Standard alphabet with '=' padding; ASCII whitespace (PEM line breaks) is skipped.
std::optional<std::string> decode(std::string_view text) noexcept;

}  // namespace presence::base64
