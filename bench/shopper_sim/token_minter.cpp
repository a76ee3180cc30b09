#include "token_minter.hpp"

#include <ctime>

#include "presence/jwt.hpp"

namespace presence::sim {

std::string TokenMinter::load(const KeySpec& spec) {
  if (const Status loaded = jwt::load_key_file(spec.kid, spec.alg, spec.path, key_); !loaded) {
    return loaded.reason();
  }
  if (!key_.can_sign()) return spec.path + ": a public key cannot sign tokens";
  return "";
}

std::optional<std::string> TokenMinter::mint(const std::string& sub, std::string_view role,
                                             std::int64_t exp_s) const {
  jwt::Claims claims;
  claims.sub = sub;
  claims.role = std::string(role);
  claims.exp = exp_s;
  claims.iat = static_cast<std::int64_t>(std::time(nullptr));
  return jwt::sign(key_, claims);
}

}  // namespace presence::sim
