#include "presence/keyring.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "jwt_test_support.hpp"
#include "presence/base64url.hpp"

namespace presence {
namespace {

using namespace presence::jwt;

using test::data_path;
using ::testing::HasSubstr;

std::string read_data(std::string_view name) {
  std::ifstream in(data_path(name), std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A key file written for one test, removed with it.
class TempKeyFile {
 public:
  explicit TempKeyFile(std::string_view contents)
      : path_(::testing::TempDir() + "presence_key_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name()) {
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempKeyFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string load_error(Alg alg, std::string_view contents) {
  Key key;
  return parse_key("", alg, contents, key).reason();
}

std::string bytes_of(const SecretBytes& secret) {
  return std::string(reinterpret_cast<const char*>(secret.data()), secret.size());
}

// The DER inside the committed Ed25519 private key, for building variants of it.
std::string private_der() {
  const std::string pem = read_data("ed25519_private.pem");
  const std::size_t body = pem.find('\n') + 1;
  return *base64::decode(pem.substr(body, pem.find("-----END") - body));
}

std::string pem(std::string_view label, std::string_view der) {
  std::string body;
  for (char c : base64url::encode(der)) body += c == '-' ? '+' : c == '_' ? '/' : c;
  while (body.size() % 4 != 0) body += '=';
  return "-----BEGIN " + std::string(label) + "-----\n" + body + "\n-----END " +
         std::string(label) + "-----\n";
}

TEST(KeyFile, ReadsAnHs256SecretWithoutItsTrailingNewline) {
  Key key;
  ASSERT_TRUE(test::succeeded(load_key_file("k1", Alg::hs256, data_path("hs256.key"), key)));
  EXPECT_EQ(key.kid, "k1");
  EXPECT_EQ(bytes_of(key.secret), "presence-unit-test-secret-not-for-production-use");
  EXPECT_TRUE(key.can_sign());
}

TEST(KeyFile, Hs256SecretNeeds32BytesAfterStripping) {
  const std::string thirty_two(kMinHs256SecretBytes, 's');
  EXPECT_EQ(load_error(Alg::hs256, thirty_two), "");
  EXPECT_EQ(load_error(Alg::hs256, thirty_two + "\r\n"), "");
  EXPECT_THAT(load_error(Alg::hs256, thirty_two.substr(1) + "\n"),
              HasSubstr("HS256 secret shorter than 32 bytes (got 31)"));
  EXPECT_THAT(load_error(Alg::hs256, ""), HasSubstr("shorter than 32 bytes (got 0)"));
}

TEST(KeyFile, StripsOnlyOneNewline) {
  Key key;
  ASSERT_TRUE(test::succeeded(
      parse_key("", Alg::hs256, std::string(kMinHs256SecretBytes, 's') + "\n\n", key)));
  EXPECT_EQ(key.secret.size(), kMinHs256SecretBytes + 1);
}

TEST(KeyFile, TakesBinarySecretsAsBase64) {
  std::string binary(kMinHs256SecretBytes, '\n');
  binary[0] = '\0';
  std::string text = pem("X", binary);  // reuse the standard-alphabet encoder
  text = text.substr(text.find('\n') + 1);
  text = text.substr(0, text.find('\n'));
  Key key;
  ASSERT_TRUE(test::succeeded(parse_key("", Alg::hs256, "base64:" + text + "\n", key)));
  EXPECT_EQ(bytes_of(key.secret), binary);
  EXPECT_THAT(load_error(Alg::hs256, "base64:not*base64\n"), HasSubstr("not valid base64"));
  EXPECT_THAT(load_error(Alg::hs256, "base64:c2hvcnQ=\n"), HasSubstr("shorter than 32 bytes"));
}

TEST(KeyFile, RefusesAPemKeyAsHs256Secret) {
  EXPECT_THAT(load_error(Alg::hs256, read_data("ed25519_public.pem")),
              HasSubstr("HS256 key file holds a PEM block"));
}

TEST(KeyFile, NamesAMissingFileAndItsCause) {
  Key key;
  const std::string path = data_path("no-such-key.pem");
  EXPECT_EQ(load_key_file("", Alg::eddsa, path, key).reason(),
            "cannot open " + path + ": No such file or directory");
}

TEST(KeyFile, RefusesDirectoriesAndHugeFiles) {
  Key key;
  EXPECT_THAT(load_key_file("", Alg::hs256, data_path(""), key).reason(),
              HasSubstr("not a regular file"));
  TempKeyFile largest(std::string(kMaxKeyFileBytes, 's'));
  EXPECT_TRUE(test::succeeded(load_key_file("", Alg::hs256, largest.path(), key)));
  TempKeyFile one_past(std::string(kMaxKeyFileBytes + 1, 's'));
  EXPECT_THAT(load_key_file("", Alg::hs256, one_past.path(), key).reason(),
              HasSubstr("larger than 65536 bytes"));
}

TEST(KeyFile, CodesTellUnreadableFilesFromBadKeys) {
  Key key;
  EXPECT_EQ(load_key_file("", Alg::hs256, data_path("no-such-key.pem"), key).code(), Errc::io);
  TempKeyFile one_past(std::string(kMaxKeyFileBytes + 1, 's'));
  EXPECT_EQ(load_key_file("", Alg::hs256, one_past.path(), key).code(), Errc::too_large);
  TempKeyFile short_secret("short\n");
  EXPECT_EQ(load_key_file("", Alg::hs256, short_secret.path(), key).code(), Errc::invalid);
}

TEST(KeyFile, ErrorsFromTheContentsNameThePath) {
  TempKeyFile file("short\n");
  Key key;
  EXPECT_EQ(load_key_file("", Alg::hs256, file.path(), key).reason(),
            file.path() + ": HS256 secret shorter than 32 bytes (got 5)");
}

TEST(KeyFile, ReadsAnEd25519PublicKeyForVerificationOnly) {
  const Key key = test::load_test_key("", Alg::eddsa, "ed25519_public.pem");
  EXPECT_FALSE(key.can_sign());
  EXPECT_NE(key.public_key, decltype(key.public_key){});
}

TEST(KeyFile, DerivesThePublicKeyFromAnEd25519PrivateKey) {
  const Key pub = test::load_test_key("", Alg::eddsa, "ed25519_public.pem");
  const Key priv = test::load_test_key("", Alg::eddsa, "ed25519_private.pem");
  EXPECT_TRUE(priv.can_sign());
  EXPECT_EQ(priv.signing_key.size(), kEd25519SigningKeyBytes);
  EXPECT_EQ(priv.public_key, pub.public_key);
}

TEST(KeyFile, ReadsPkcs8Version2WithAMatchingPublicKey) {
  const Key pub = test::load_test_key("", Alg::eddsa, "ed25519_public.pem");
  const Key other = test::load_test_key("", Alg::eddsa, "ed25519_next_public.pem");
  auto v2 = [](std::string der, const Key& with) {
    der[1] = 0x51;  // outer length grows by the appended [1] public key
    der[4] = 0x01;  // version 1 (OneAsymmetricKey)
    return der + std::string("\x81\x21\x00", 3) +
           std::string(reinterpret_cast<const char*>(with.public_key.data()),
                       kEd25519PublicKeyBytes);
  };
  Key key;
  ASSERT_TRUE(
      test::succeeded(parse_key("", Alg::eddsa, pem("PRIVATE KEY", v2(private_der(), pub)), key)));
  EXPECT_EQ(key.public_key, pub.public_key);
  EXPECT_THAT(load_error(Alg::eddsa, pem("PRIVATE KEY", v2(private_der(), other))),
              HasSubstr("does not belong to it"));
}

TEST(KeyFile, RefusesKeysOfOtherAlgorithms) {
  EXPECT_THAT(load_error(Alg::eddsa, read_data("rsa_public.pem")),
              HasSubstr("not an Ed25519 key: the PUBLIC KEY is not an Ed25519"));
  EXPECT_THAT(load_error(Alg::eddsa, read_data("ec_private.pem")),
              HasSubstr("not an Ed25519 key: the PRIVATE KEY is not an Ed25519 PKCS#8"));
  EXPECT_THAT(load_error(Alg::eddsa,
                         "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n"
                         "-----END RSA PRIVATE KEY-----\n"),
              HasSubstr("found a \"RSA PRIVATE KEY\" PEM block"));
  EXPECT_THAT(load_error(Alg::eddsa,
                         "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n"
                         "-----END ENCRYPTED PRIVATE KEY-----\n"),
              HasSubstr("encrypted private keys are not supported"));
}

TEST(KeyFile, RefusesBadPem) {
  const std::string good = read_data("ed25519_public.pem");
  EXPECT_THAT(load_error(Alg::eddsa, std::string(48, 's')), HasSubstr("no PEM block"));
  EXPECT_THAT(load_error(Alg::eddsa, good.substr(0, good.find("-----END"))),
              HasSubstr("no \"-----END PUBLIC KEY-----\" line"));
  EXPECT_THAT(load_error(Alg::eddsa,
                         "-----BEGIN PUBLIC KEY-----\nMCow*QYDK2VwAyEA\n"
                         "-----END PUBLIC KEY-----\n"),
              HasSubstr("not base64"));
  EXPECT_THAT(load_error(Alg::eddsa, good + good), HasSubstr("more than one PEM block"));
  // One byte short of an Ed25519 SubjectPublicKeyInfo.
  const std::string der = *base64::decode(
      good.substr(good.find('\n') + 1, good.find("-----END") - good.find('\n') - 1));
  EXPECT_THAT(load_error(Alg::eddsa, pem("PUBLIC KEY", der.substr(0, der.size() - 1))),
              HasSubstr("not an Ed25519 SubjectPublicKeyInfo"));
}

TEST(KeyFile, AcceptsTextAroundTheBlock) {
  EXPECT_EQ(load_error(Alg::eddsa, "comment\n" + read_data("ed25519_public.pem") + "tail\n"), "");
}

TEST(KeyFile, RefusesAPublicKeyOffTheCurve) {
  const std::string spki_prefix("\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00", 12);
  // The identity point (y = 1): small order, so it would verify forged signatures.
  std::string identity(kEd25519PublicKeyBytes, '\0');
  identity[0] = 1;
  EXPECT_THAT(load_error(Alg::eddsa, pem("PUBLIC KEY", spki_prefix + identity)),
              HasSubstr("not a valid curve point"));
}

TEST(KeyFile, WritesEd25519PemThatReadsBackAndMatchesOpenssl) {
  const Key priv = test::load_test_key("", Alg::eddsa, "ed25519_private.pem");
  EXPECT_EQ(ed25519_private_pem(priv), read_data("ed25519_private.pem"));
  EXPECT_EQ(ed25519_public_pem(priv), read_data("ed25519_public.pem"));
  const Key pub = test::load_test_key("", Alg::eddsa, "ed25519_public.pem");
  EXPECT_EQ(ed25519_private_pem(pub), "");
  Key back;
  ASSERT_TRUE(test::succeeded(parse_key("", Alg::eddsa, ed25519_private_pem(priv), back)));
  EXPECT_EQ(bytes_of(back.signing_key), bytes_of(priv.signing_key));
}

TEST(KeyRing, LoadsFilesAndReportsTheirErrors) {
  KeyRing ring;
  EXPECT_TRUE(
      test::succeeded(ring.load_file("", Alg::hs256, test::kBothRoles, data_path("hs256.key"))));
  EXPECT_TRUE(test::succeeded(
      ring.load_file("", Alg::eddsa, test::kBothRoles, data_path("ed25519_public.pem"))));
  EXPECT_THAT(
      ring.load_file("", Alg::eddsa, test::kBothRoles, data_path("rsa_public.pem")).reason(),
      HasSubstr("rsa_public.pem: not an Ed25519 key"));
  EXPECT_EQ(ring.size(), 2u);
}

TEST(KeyRing, RefusesDuplicateKidsAndASecondKeyWithoutKid) {
  KeyRing ring;
  ASSERT_TRUE(test::succeeded(
      ring.load_file("2025", Alg::hs256, test::kBothRoles, data_path("hs256.key"))));
  EXPECT_THAT(ring.load_file("2025", Alg::eddsa, test::kBothRoles, data_path("ed25519_public.pem"))
                  .reason(),
              HasSubstr("duplicate kid \"2025\""));
  ASSERT_TRUE(test::succeeded(
      ring.load_file("", Alg::eddsa, test::kBothRoles, data_path("ed25519_public.pem"))));
  EXPECT_THAT(ring.load_file("", Alg::eddsa, test::kBothRoles, data_path("ed25519_next_public.pem"))
                  .reason(),
              HasSubstr("second EdDSA key without kid"));
  EXPECT_EQ(ring.size(), 2u);
}

TEST(KeyRing, AddAppliesTheKeyFileChecks) {
  KeyRing ring;
  Key key;
  key.roles = Role::shopper;
  key.secret = SecretBytes(std::string(kMinHs256SecretBytes - 1, 's'));
  EXPECT_THAT(ring.add(key).reason(), HasSubstr("shorter than 32 bytes"));
  key.secret = SecretBytes(std::string(kMinHs256SecretBytes, 's'));
  key.kid = std::string(kMaxKidBytes + 1, 'k');
  EXPECT_THAT(ring.add(key).reason(), HasSubstr("kid longer than 256 bytes"));
  key.kid.pop_back();
  EXPECT_TRUE(test::succeeded(ring.add(key)));
}

TEST(KeyRing, RefusesAKeyWithoutRoles) {
  KeyRing ring;
  Key key = test::load_test_key("k", Alg::hs256, "hs256.key", RoleSet());
  EXPECT_EQ(ring.add(key).reason(), "key authorizes no role: give it roles");
  key.roles = Role::shopper;
  EXPECT_TRUE(test::succeeded(ring.add(key)));
}

TEST(KeyRing, RefusesOneKeyUnderTwoRoleSets) {
  // The shopper secret configured again, under another kid, for admins.
  KeyRing ring;
  ASSERT_TRUE(
      test::succeeded(ring.load_file("shop-1", Alg::hs256, Role::shopper, data_path("hs256.key"))));
  EXPECT_THAT(ring.load_file("admin-2", Alg::hs256, Role::admin, data_path("hs256.key")).reason(),
              HasSubstr("the same key as kid \"shop-1\" (roles=shopper) under roles=admin"));
  ASSERT_TRUE(test::succeeded(
      ring.load_file("admin-1", Alg::eddsa, Role::admin, data_path("ed25519_public.pem"))));
  // A private key and its public key are the same key.
  EXPECT_THAT(
      ring.load_file("shop-2", Alg::eddsa, Role::shopper, data_path("ed25519_private.pem"))
          .reason(),
      HasSubstr("one key serving both roles must be configured once, with roles=shopper,admin"));
  // The same roles again (a key listed under a second kid) is no widening.
  EXPECT_TRUE(test::succeeded(
      ring.load_file("shop-1b", Alg::hs256, Role::shopper, data_path("hs256.key"))));
  EXPECT_EQ(ring.size(), 3u);
}

TEST(Role, ParsesRoleSets) {
  EXPECT_EQ(RoleSet::parse("shopper"), RoleSet(Role::shopper));
  EXPECT_EQ(RoleSet::parse("admin"), RoleSet(Role::admin));
  EXPECT_EQ(RoleSet::parse("shopper,admin"), test::kBothRoles);
  EXPECT_EQ(RoleSet::parse("admin,shopper"), test::kBothRoles);
  for (const char* bad : {"", "Shopper", "shopper,", ",admin", "admin,admin", "shopper admin",
                          "shopper,admin,shopper", "root"}) {
    EXPECT_EQ(RoleSet::parse(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(test::kBothRoles.name(), "shopper,admin");
  EXPECT_EQ(RoleSet(Role::admin).name(), "admin");
  EXPECT_EQ(role_from_name("admin"), Role::admin);
  EXPECT_EQ(role_from_name("superuser"), std::nullopt);
}

TEST(KeyRing, FindsByKidAndAlg) {
  KeyRing ring;
  ASSERT_TRUE(
      test::succeeded(ring.load_file("a", Alg::hs256, test::kBothRoles, data_path("hs256.key"))));
  ASSERT_TRUE(test::succeeded(
      ring.load_file("b", Alg::hs256, test::kBothRoles, data_path("hs256_next.key"))));
  ASSERT_TRUE(test::succeeded(
      ring.load_file("e", Alg::eddsa, test::kBothRoles, data_path("ed25519_public.pem"))));
  ASSERT_NE(ring.find("b", Alg::hs256), nullptr);
  EXPECT_EQ(ring.find("b", Alg::hs256)->kid, "b");
  EXPECT_EQ(ring.find("e", Alg::hs256), nullptr);  // a kid never crosses algorithms
  EXPECT_EQ(ring.find("c", Alg::hs256), nullptr);
  EXPECT_EQ(ring.find("", Alg::hs256), nullptr);  // two HS256 keys: a token must name one
  ASSERT_NE(ring.find("", Alg::eddsa), nullptr);  // the only EdDSA key
  EXPECT_EQ(ring.find("", Alg::eddsa)->kid, "e");
}

TEST(KeyRing, PrefersTheKeyWithoutKidForTokensWithoutKid) {
  KeyRing ring;
  ASSERT_TRUE(test::succeeded(
      ring.load_file("new", Alg::hs256, test::kBothRoles, data_path("hs256_next.key"))));
  ASSERT_TRUE(
      test::succeeded(ring.load_file("", Alg::hs256, test::kBothRoles, data_path("hs256.key"))));
  ASSERT_NE(ring.find("", Alg::hs256), nullptr);
  EXPECT_EQ(ring.find("", Alg::hs256)->kid, "");
}

TEST(Alg, ParsesTheConfigurationSpelling) {
  EXPECT_EQ(alg_from_config("hs256"), Alg::hs256);
  EXPECT_EQ(alg_from_config("HS256"), Alg::hs256);
  EXPECT_EQ(alg_from_config("EdDSA"), Alg::eddsa);
  EXPECT_EQ(alg_from_config("ed25519"), std::nullopt);
  EXPECT_EQ(alg_from_config("hs2566"), std::nullopt);
  EXPECT_EQ(alg_from_config(""), std::nullopt);
  EXPECT_EQ(alg_name(Alg::hs256), "HS256");
  EXPECT_EQ(alg_name(Alg::eddsa), "EdDSA");
}

TEST(SecretBytes, CopiesAndMovesKeepTheBytes) {
  SecretBytes a(std::string_view("0123456789abcdef"));
  SecretBytes b(a);
  SecretBytes c;
  c = a;
  SecretBytes d(std::move(a));
  EXPECT_EQ(bytes_of(b), "0123456789abcdef");
  EXPECT_EQ(bytes_of(c), "0123456789abcdef");
  EXPECT_EQ(bytes_of(d), "0123456789abcdef");
  c = SecretBytes(std::string_view("x"));
  EXPECT_EQ(bytes_of(c), "x");
}

}  // namespace
}  // namespace presence
