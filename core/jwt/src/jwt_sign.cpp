#include <sodium.h>

#include <nlohmann/json.hpp>

#include "hs256.hpp"
#include "presence/base64url.hpp"
#include "presence/cart_meta.hpp"
#include "presence/jwt.hpp"
#include "presence/sodium_ready.hpp"

namespace presence::jwt {

std::optional<std::string> sign(const Key& key, const Claims& claims) noexcept {
  if (!key.can_sign() || !is_valid_subject(claims.sub) || claims.role.empty() ||
      !presence::sodium_ready()) {
    return std::nullopt;
  }
  try {
    nlohmann::json header = {{"alg", alg_name(key.alg)}, {"typ", "JWT"}};
    if (!key.kid.empty()) header["kid"] = key.kid;
    nlohmann::json payload = {{"sub", claims.sub}, {"role", claims.role}, {"exp", claims.exp}};
    if (claims.nbf) payload["nbf"] = *claims.nbf;
    if (claims.iat) payload["iat"] = *claims.iat;
    // dump() throws on invalid UTF-8 in kid or role: such a token could not be read back.
    std::string token = base64url::encode(header.dump()) + "." + base64url::encode(payload.dump());
    std::string signature;
    if (key.alg == Alg::hs256) {
      const detail::Hs256Mac mac = detail::hs256(key.secret, token);
      signature.assign(reinterpret_cast<const char*>(mac.data()), mac.size());
    } else {
      signature.resize(crypto_sign_BYTES);
      crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr,
                           reinterpret_cast<const unsigned char*>(token.data()), token.size(),
                           key.signing_key.data());
    }
    token += '.';
    token += base64url::encode(signature);
    return token;
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace presence::jwt
