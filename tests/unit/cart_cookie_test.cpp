#include "presence/cart_cookie.hpp"

#include <gtest/gtest.h>

#include "jwt_test_support.hpp"

namespace presence {
namespace {

using namespace presence::jwt;

TEST(CartCookie, OpensWhatItSealed) {
  for (const char* file : {"hs256.key", "ed25519_private.pem"}) {
    const Key key = test::load_test_key(
        "demo-1", std::string_view(file).ends_with(".pem") ? Alg::eddsa : Alg::hs256, file,
        Role::shopper);
    const std::optional<std::string> cookie = seal_cart_id(key, "cart-0123abcd");
    ASSERT_TRUE(cookie) << file;
    EXPECT_TRUE(cookie->starts_with("cart-0123abcd.")) << *cookie;
    EXPECT_EQ(open_cart_cookie(key, *cookie), "cart-0123abcd") << file;
  }
}

TEST(CartCookie, RefusesWhatAClientMadeUp) {
  const Key key = test::load_test_key("demo-1", Alg::hs256, "hs256.key", Role::shopper);
  const Key other = test::load_test_key("demo-2", Alg::hs256, "hs256_next.key", Role::shopper);
  const std::string cookie = *seal_cart_id(key, "cart-victim");
  EXPECT_EQ(open_cart_cookie(key, "cart-victim"), std::nullopt);  // a bare id, as before
  EXPECT_EQ(open_cart_cookie(other, cookie), std::nullopt);
  const std::string mac = cookie.substr(cookie.find('.'));
  EXPECT_EQ(open_cart_cookie(key, "cart-victin" + mac), std::nullopt);
  std::string flipped = cookie;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(open_cart_cookie(key, flipped), std::nullopt);
  EXPECT_EQ(open_cart_cookie(key, cookie.substr(0, cookie.size() - 1)), std::nullopt);
  EXPECT_EQ(open_cart_cookie(key, cookie + "A"), std::nullopt);
  EXPECT_EQ(open_cart_cookie(key, ""), std::nullopt);
  EXPECT_EQ(open_cart_cookie(key, "." + mac), std::nullopt);
  EXPECT_EQ(seal_cart_id(key, "cart/1"), std::nullopt);
}

TEST(CartCookie, NeedsAKeyThatCanSign) {
  const Key pub = test::load_test_key("", Alg::eddsa, "ed25519_public.pem", Role::shopper);
  EXPECT_EQ(seal_cart_id(pub, "cart-1"), std::nullopt);
}

}  // namespace
}  // namespace presence
