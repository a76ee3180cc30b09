#include "presence/keyring.hpp"

#include <sodium.h>

#include <algorithm>
#include <utility>

#include "sodium_ready.hpp"

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

std::string KeyRing::load_file(std::string_view kid, Alg alg, const std::string& path) {
  Key key;
  if (std::string error = load_key_file(kid, alg, path, key); !error.empty()) return error;
  if (std::string error = add(std::move(key)); !error.empty()) return path + ": " + error;
  return {};
}

std::string KeyRing::add(Key key) {
  if (!detail::sodium_ready()) return "libsodium failed to initialise";
  if (key.kid.size() > kMaxKidBytes) {
    return "kid longer than " + std::to_string(kMaxKidBytes) + " bytes";
  }
  if (key.alg == Alg::hs256 && key.secret.size() < kMinHs256SecretBytes) {
    return "HS256 secret shorter than " + std::to_string(kMinHs256SecretBytes) + " bytes";
  }
  if (key.alg == Alg::eddsa && !key.signing_key.empty() &&
      key.signing_key.size() != kEd25519SigningKeyBytes) {
    return "Ed25519 signing key is not " + std::to_string(kEd25519SigningKeyBytes) + " bytes";
  }
  for (const Key& held : keys_) {
    if (!key.kid.empty() && held.kid == key.kid) return "duplicate kid \"" + key.kid + "\"";
    if (key.kid.empty() && held.kid.empty() && held.alg == key.alg) {
      return std::string("a second ") + std::string(alg_name(key.alg)) +
             " key without kid: give each key a kid";
    }
  }
  keys_.push_back(std::move(key));
  return {};
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
