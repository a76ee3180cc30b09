#include "presence/cart_cookie.hpp"

#include <sodium.h>

#include "hs256.hpp"
#include "presence/base64url.hpp"
#include "presence/cart_meta.hpp"
#include "presence/sodium_ready.hpp"

namespace presence::jwt {
namespace {

// A JWT signing input is base64url text and a dot: it never holds a space or a newline.
constexpr std::string_view kDomain = "presence cart cookie v1\n";

std::optional<detail::Hs256Mac> cart_mac(const Key& key, std::string_view cart_id) {
  if (!key.can_sign() || !presence::sodium_ready()) return std::nullopt;
  const SecretBytes mac_key =
      key.alg == Alg::hs256
          ? key.secret
          : SecretBytes(std::string_view(reinterpret_cast<const char*>(key.signing_key.data()),
                                         kEd25519SeedBytes));
  std::string message(kDomain);
  message += cart_id;
  return detail::hs256(mac_key, message);
}

}  // namespace

std::optional<std::string> seal_cart_id(const Key& key, std::string_view cart_id) {
  if (!is_valid_subject(std::string(cart_id))) return std::nullopt;
  const std::optional<detail::Hs256Mac> mac = cart_mac(key, cart_id);
  if (!mac) return std::nullopt;
  return std::string(cart_id) + "." +
         base64url::encode(
             std::string_view(reinterpret_cast<const char*>(mac->data()), mac->size()));
}

std::optional<std::string> open_cart_cookie(const Key& key, std::string_view cookie) {
  const std::size_t dot = cookie.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string_view cart_id = cookie.substr(0, dot);
  if (!is_valid_subject(std::string(cart_id))) return std::nullopt;
  const std::optional<std::string> sent = base64url::decode(cookie.substr(dot + 1));
  const std::optional<detail::Hs256Mac> mac = cart_mac(key, cart_id);
  if (!sent || !mac || sent->size() != mac->size() ||
      crypto_verify_32(reinterpret_cast<const unsigned char*>(sent->data()), mac->data()) != 0) {
    return std::nullopt;
  }
  return std::string(cart_id);
}

}  // namespace presence::jwt
