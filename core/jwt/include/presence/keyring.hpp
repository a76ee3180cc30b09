// The keys tokens are verified (and minted) with, loaded from the files an
// operator names in the configuration.
//
// Key file formats:
// - HS256: the file holds the shared secret itself. Its bytes are the secret,
//   minus one trailing "\n" or "\r\n" (as `echo` and editors leave them), so a
//   file written by `openssl rand -base64 48 > key` means the same secret to
//   every JWT library that reads it as text. A binary secret that must keep a
//   trailing newline byte can be written as `base64:<standard base64>` instead.
//   At least 32 bytes (after decoding); a PEM block is refused, because a
//   public key used as an HMAC secret is the classic algorithm-confusion hole.
// - EdDSA: a PEM file. "PUBLIC KEY" is an Ed25519 SubjectPublicKeyInfo (what
//   `openssl pkey -pubout` and python-cryptography write): verification only.
//   "PRIVATE KEY" is an unencrypted Ed25519 PKCS#8 key (`openssl genpkey
//   -algorithm ed25519`, v1 or v2 with the public key attached): signing too,
//   the public key is derived from it. Exactly one PEM block per file; any
//   other algorithm, an encrypted key or a foreign DER layout is an error.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "presence/result.hpp"

namespace presence::jwt {

enum class Alg { hs256, eddsa };

// "HS256" / "EdDSA": the JOSE names used in token headers.
std::string_view alg_name(Alg alg) noexcept;
// Configuration spelling, case-insensitive: "hs256" or "eddsa".
std::optional<Alg> alg_from_config(std::string_view text) noexcept;

// What a token may authorize: the value of its "role" claim.
enum class Role : unsigned char { shopper = 1, admin = 2 };

// "shopper" / "admin"; nullopt for any other role claim.
std::optional<Role> role_from_name(std::string_view name) noexcept;
std::string_view role_name(Role role) noexcept;

// The roles one key may authorize. A key signed by a store backend
// authorizes shoppers only, so its holders can never mint an admin token.
class RoleSet {
 public:
  constexpr RoleSet() = default;
  constexpr RoleSet(Role role) : bits_(static_cast<unsigned char>(role)) {}  // NOLINT: implicit

  // "shopper", "admin" or "shopper,admin" (either order); nullopt otherwise.
  static std::optional<RoleSet> parse(std::string_view text) noexcept;

  constexpr RoleSet with(Role role) const {
    RoleSet out = *this;
    out.bits_ |= static_cast<unsigned char>(role);
    return out;
  }
  constexpr bool contains(Role role) const {
    return (bits_ & static_cast<unsigned char>(role)) != 0;
  }
  constexpr bool empty() const { return bits_ == 0; }
  // The configuration spelling: "shopper", "admin" or "shopper,admin".
  std::string_view name() const noexcept;
  bool operator==(const RoleSet&) const = default;

 private:
  unsigned char bits_ = 0;
};

inline constexpr std::size_t kMinHs256SecretBytes = 32;
inline constexpr std::size_t kEd25519PublicKeyBytes = 32;
inline constexpr std::size_t kEd25519SeedBytes = 32;
// libsodium's Ed25519 secret key: the seed followed by the public key.
inline constexpr std::size_t kEd25519SigningKeyBytes = 64;
// Key files are a few hundred bytes; anything far larger is not a key.
inline constexpr std::size_t kMaxKeyFileBytes = 64 * 1024;
// A kid is an operator-chosen label; bounded so a header cannot carry a huge one.
inline constexpr std::size_t kMaxKidBytes = 256;

// Secret key material: wiped from memory when released.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::string_view bytes);
  SecretBytes(const SecretBytes& other);
  SecretBytes& operator=(const SecretBytes& other);
  SecretBytes(SecretBytes&& other) noexcept = default;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  ~SecretBytes();

  const unsigned char* data() const noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return bytes_.size(); }
  bool empty() const noexcept { return bytes_.empty(); }

 private:
  void wipe() noexcept;
  std::vector<unsigned char> bytes_;
};

struct Key {
  std::string kid;  // empty: the key for tokens without a kid
  Alg alg = Alg::hs256;
  RoleSet roles;       // what tokens verified by this key may authorize
  SecretBytes secret;  // HS256 shared secret, >= kMinHs256SecretBytes
  std::array<unsigned char, kEd25519PublicKeyBytes> public_key{};  // EdDSA
  SecretBytes
      signing_key;  // EdDSA, kEd25519SigningKeyBytes; empty when only the public key is known

  bool can_sign() const noexcept {
    return alg == Alg::hs256 ? !secret.empty() : !signing_key.empty();
  }
};

// Builds a key from the contents of a key file (formats above); on failure
// the reason says what is wrong with it and `out` is left alone.
Status parse_key(std::string_view kid, Alg alg, std::string_view contents, Key& out);
// The same from a file; reasons name the path.
Status load_key_file(std::string_view kid, Alg alg, const std::string& path, Key& out);

// An EdDSA key as the PEM texts above ("PUBLIC KEY"; PKCS#8 v1 "PRIVATE KEY",
// empty when the key cannot sign), for `presence-token genkey`.
std::string ed25519_public_pem(const Key& key);
std::string ed25519_private_pem(const Key& key);

// The configured keys of one endpoint. Filled at configuration time, then only
// read: find() and jwt::verify() take no lock and allocate nothing shared.
class KeyRing {
 public:
  // On failure the reason names the file and the problem.
  Status load_file(std::string_view kid, Alg alg, RoleSet roles, const std::string& path);
  // Same checks as a key file; refuses a key without roles, a second key with
  // the same kid, a second key without kid for the same alg, and the same key
  // material under different roles (a shopper secret configured again as an
  // admin key would let every shopper backend mint admin tokens).
  Status add(Key key);

  // The key for a token: with a kid, the key of that kid and alg; without
  // one, the key configured without kid, else the only key of that alg.
  const Key* find(std::string_view kid, Alg alg) const noexcept;
  std::size_t size() const noexcept { return keys_.size(); }

 private:
  std::vector<Key> keys_;
};

}  // namespace presence::jwt
