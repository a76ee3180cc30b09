// Shared by the jwt*_test.cpp files: the committed test keys and a forger that
// signs arbitrary header / claims JSON, so tests can reach the checks behind
// the signature with tokens no honest minter would produce.
#pragma once

#include <sodium.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "presence/base64url.hpp"
#include "presence/jwt.hpp"
#include "presence/result.hpp"

namespace presence::test {

inline constexpr std::int64_t kNow = 1764277500;  // the instant vectors.json was minted for

// The test keys live next to these tests, in data/jwt/. Not found through
// __FILE__: a compiler cache may make it relative to the build folder.
inline std::string data_path(std::string_view name) {
  return (std::filesystem::path(PRESENCE_TEST_DATA_DIR) / "jwt" / name).string();
}

// Test keys authorize both roles unless a test is about roles.
inline const jwt::RoleSet kBothRoles = jwt::RoleSet(jwt::Role::shopper).with(jwt::Role::admin);

// Success, or a failure that shows the reason.
inline ::testing::AssertionResult succeeded(const Status& status) {
  if (status) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status.reason();
}

inline jwt::Key load_test_key(std::string_view kid, jwt::Alg alg, std::string_view file,
                              jwt::RoleSet roles = kBothRoles) {
  jwt::Key key;
  EXPECT_TRUE(succeeded(jwt::load_key_file(kid, alg, data_path(file), key)));
  key.roles = roles;
  return key;
}

// header.claims.signature over the given JSON texts, signed with `key` as its alg says.
inline std::string forge(std::string_view header_json, std::string_view claims_json,
                         const jwt::Key& key) {
  std::string input = base64url::encode(header_json) + "." + base64url::encode(claims_json);
  std::string signature;
  if (key.alg == jwt::Alg::hs256) {
    signature.resize(crypto_auth_hmacsha256_BYTES);
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, key.secret.data(), key.secret.size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(input.data()),
                                  input.size());
    crypto_auth_hmacsha256_final(&state, reinterpret_cast<unsigned char*>(signature.data()));
  } else {
    signature.resize(crypto_sign_BYTES);
    crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr,
                         reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                         key.signing_key.data());
  }
  return input + "." + base64url::encode(signature);
}

inline std::string claims_json(std::int64_t exp, std::string_view role = "shopper") {
  return R"({"sub":"cart-42","role":")" + std::string(role) + R"(","exp":)" + std::to_string(exp) +
         "}";
}

inline jwt::VerifyOptions options(std::string_view role = "shopper", std::int64_t leeway_s = 0) {
  jwt::VerifyOptions opts;
  opts.now_s = kNow;
  opts.leeway_s = leeway_s;
  opts.required_role = role;
  return opts;
}

}  // namespace presence::test
