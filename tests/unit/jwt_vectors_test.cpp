// Tokens minted once by python3-jwt (data/jwt/make_vectors.py): proof that a
// standard library's tokens get the answer docs/PROTOCOL.md gives from our verifier.
#include <fstream>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "jwt_test_support.hpp"
#include "presence/jwt.hpp"

namespace presence {
namespace {

using namespace presence::jwt;

TEST(PyJwtVectors, VerifyAsMinted) {
  KeyRing ring;
  ASSERT_TRUE(test::succeeded(
      ring.load_file("", Alg::hs256, test::kBothRoles, test::data_path("hs256.key"))));
  ASSERT_TRUE(test::succeeded(
      ring.load_file("hs-next", Alg::hs256, test::kBothRoles, test::data_path("hs256_next.key"))));
  ASSERT_TRUE(test::succeeded(
      ring.load_file("", Alg::eddsa, test::kBothRoles, test::data_path("ed25519_public.pem"))));
  ASSERT_TRUE(test::succeeded(ring.load_file("ed-next", Alg::eddsa, test::kBothRoles,
                                             test::data_path("ed25519_next_public.pem"))));
  std::ifstream in(test::data_path("vectors.json"));
  const nlohmann::json vectors = nlohmann::json::parse(in);
  ASSERT_GE(vectors.size(), 10u);
  std::size_t accepted = 0;
  for (const nlohmann::json& vector : vectors) {
    VerifyOptions opts;
    opts.now_s = vector.at("now").get<std::int64_t>();
    const std::string role = vector.at("role").get<std::string>();
    opts.required_role = role;
    const VerifyResult result = verify(vector.at("token").get<std::string>(), ring, opts);
    EXPECT_EQ(to_string(result.error), vector.at("expect").get<std::string>())
        << vector.at("name") << ": " << result.reason;
    if (result.ok()) ++accepted;
  }
  EXPECT_GE(accepted, 6u);
}

}  // namespace
}  // namespace presence
