#include "presence/keyring.hpp"

#include <sodium.h>

#include <algorithm>
#include <utility>

#include "presence/sodium_ready.hpp"

namespace presence::jwt {

static_assert(kEd25519PublicKeyBytes == crypto_sign_PUBLICKEYBYTES);
static_assert(kEd25519SeedBytes == crypto_sign_SEEDBYTES);
static_assert(kEd25519SigningKeyBytes == crypto_sign_SECRETKEYBYTES);

std::string_view alg_name(Alg alg) noexcept {
  return alg == Alg::hs256 ? "HS256" : "EdDSA";
}

std::optional<Alg> alg_from_config(std::string_view text) noexcept {
  auto equals_lower = [text](std::string_view lower) {
    return std::equal(text.begin(), text.end(), lower.begin(), lower.end(), [](char a, char b) {
      return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
    });
  };
  if (equals_lower("hs256")) return Alg::hs256;
  if (equals_lower("eddsa")) return Alg::eddsa;
  return std::nullopt;
}

std::optional<Role> role_from_name(std::string_view name) noexcept {
  if (name == "shopper") return Role::shopper;
  if (name == "admin") return Role::admin;
  return std::nullopt;
}

std::string_view role_name(Role role) noexcept {
  return role == Role::admin ? "admin" : "shopper";
}

std::optional<RoleSet> RoleSet::parse(std::string_view text) noexcept {
  RoleSet out;
  while (true) {
    const std::size_t comma = text.find(',');
    const std::optional<Role> role = role_from_name(text.substr(0, comma));
    if (!role || out.contains(*role)) return std::nullopt;
    out = out.with(*role);
    if (comma == std::string_view::npos) return out;
    text.remove_prefix(comma + 1);
  }
}

std::string_view RoleSet::name() const noexcept {
  if (contains(Role::shopper) && contains(Role::admin)) return "shopper,admin";
  if (contains(Role::admin)) return "admin";
  return contains(Role::shopper) ? "shopper" : "";
}

namespace {

bool same_bytes(const SecretBytes& a, const SecretBytes& b) {
  return a.size() == b.size() && (a.empty() || sodium_memcmp(a.data(), b.data(), a.size()) == 0);
}

// Whether two keys verify the same signatures.
bool same_material(const Key& a, const Key& b) {
  if (a.alg != b.alg) return false;
  if (a.alg == Alg::hs256) return same_bytes(a.secret, b.secret);
  return sodium_memcmp(a.public_key.data(), b.public_key.data(), a.public_key.size()) == 0;
}

}  // namespace

SecretBytes::SecretBytes(std::string_view bytes) : bytes_(bytes.begin(), bytes.end()) {}

SecretBytes::SecretBytes(const SecretBytes& other) : bytes_(other.bytes_) {}

SecretBytes& SecretBytes::operator=(const SecretBytes& other) {
  if (this != &other) {
    wipe();
    bytes_ = other.bytes_;
  }
  return *this;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    wipe();
    bytes_ = std::move(other.bytes_);
  }
  return *this;
}

SecretBytes::~SecretBytes() {
  wipe();
}

void SecretBytes::wipe() noexcept {
  if (!bytes_.empty()) sodium_memzero(bytes_.data(), bytes_.size());
  bytes_.clear();
}

Status KeyRing::load_file(std::string_view kid, Alg alg, RoleSet roles, const std::string& path) {
  Key key;
  if (Status loaded = load_key_file(kid, alg, path, key); !loaded) return loaded;
  key.roles = roles;
  if (Status added = add(std::move(key)); !added) {
    return {added.code(), path + ": " + added.reason()};
  }
  return Status::ok();
}

Status KeyRing::add(Key key) {
  if (!presence::sodium_ready()) return {Errc::exhausted, "libsodium failed to initialise"};
  if (key.roles.empty()) return {Errc::invalid, "key authorizes no role: give it roles"};
  if (key.kid.size() > kMaxKidBytes) {
    return {Errc::too_large, "kid longer than " + std::to_string(kMaxKidBytes) + " bytes"};
  }
  if (key.alg == Alg::hs256 && key.secret.size() < kMinHs256SecretBytes) {
    return {Errc::invalid,
            "HS256 secret shorter than " + std::to_string(kMinHs256SecretBytes) + " bytes"};
  }
  if (key.alg == Alg::eddsa && !key.signing_key.empty() &&
      key.signing_key.size() != kEd25519SigningKeyBytes) {
    return {Errc::invalid,
            "Ed25519 signing key is not " + std::to_string(kEd25519SigningKeyBytes) + " bytes"};
  }
  for (const Key& held : keys_) {
    if (!key.kid.empty() && held.kid == key.kid) {
      return {Errc::invalid, "duplicate kid \"" + key.kid + "\""};
    }
    if (key.kid.empty() && held.kid.empty() && held.alg == key.alg) {
      return {Errc::invalid, std::string("a second ") + std::string(alg_name(key.alg)) +
                                 " key without kid: give each key a kid"};
    }
    if (held.roles != key.roles && same_material(held, key)) {
      return {Errc::unauthorized,
              "the same key as kid \"" + held.kid + "\" (roles=" + std::string(held.roles.name()) +
                  ") under roles=" + std::string(key.roles.name()) +
                  ": one key serving both roles must be configured once, with roles=shopper,admin"};
    }
  }
  keys_.push_back(std::move(key));
  return Status::ok();
}

const Key* KeyRing::find(std::string_view kid, Alg alg) const noexcept {
  const Key* only_of_alg = nullptr;
  std::size_t of_alg = 0;
  for (const Key& key : keys_) {
    if (key.alg != alg) continue;
    if (key.kid == kid) return &key;
    ++of_alg;
    only_of_alg = &key;
  }
  // A token without kid may use the sole key of its alg even if that key has a kid.
  return kid.empty() && of_alg == 1 ? only_of_alg : nullptr;
}

}  // namespace presence::jwt
