// Mints the simulator's own tokens with the core's signer, from the same kind of key file the
// nginx configuration names, so a run needs no token service.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "options.hpp"
#include "presence/keyring.hpp"

namespace presence::sim {

class TokenMinter {
 public:
  // "" on success, else what is wrong with the key (unreadable, malformed, verify-only).
  std::string load(const KeySpec& spec);
  // A token for `sub` with `role`, valid until exp_s (unix seconds); nullopt if unsignable.
  std::optional<std::string> mint(const std::string& sub, std::string_view role,
                                  std::int64_t exp_s) const;

 private:
  jwt::Key key_;
};

}  // namespace presence::sim
