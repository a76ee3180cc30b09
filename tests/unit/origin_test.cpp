#include "presence/origin.hpp"

#include <gtest/gtest.h>

namespace presence {
namespace {

using namespace presence::ws;

OriginPolicy policy_of(std::initializer_list<std::string_view> entries) {
  OriginPolicy policy;
  for (std::string_view entry : entries) EXPECT_TRUE(policy.add(entry)) << entry;
  return policy;
}

TEST(OriginPolicy, ANativeClientWithoutOriginIsNeverRefused) {
  EXPECT_TRUE(OriginPolicy::self_only().allows(std::nullopt, "shop.example"));
  EXPECT_TRUE(policy_of({"https://shop.example"}).allows(std::nullopt, "other.example"));
}

TEST(OriginPolicy, SelfIsTheRequestsOwnHostAndPort) {
  const OriginPolicy self = OriginPolicy::self_only();
  EXPECT_TRUE(self.allows("http://127.0.0.1:8080", "127.0.0.1:8080"));
  EXPECT_TRUE(self.allows("https://Shop.Example", "shop.example"));
  EXPECT_TRUE(self.allows("https://shop.example", "shop.example:443"));
  EXPECT_TRUE(self.allows("http://shop.example", "shop.example"));
  EXPECT_TRUE(self.allows("http://[::1]:8080", "[::1]:8080"));
  EXPECT_FALSE(self.allows("https://evil.example", "shop.example"));
  EXPECT_FALSE(self.allows("http://127.0.0.1:9999", "127.0.0.1:8080"));  // another origin
  EXPECT_FALSE(self.allows("https://shop.example", "shop.example:80"));
  EXPECT_FALSE(self.allows("https://shop.example.evil.example", "shop.example"));
  EXPECT_FALSE(self.allows("null", "shop.example"));
  EXPECT_FALSE(self.allows("", "shop.example"));
  EXPECT_FALSE(self.allows("https://shop.example/path", "shop.example"));
  EXPECT_FALSE(self.allows("https://shop.example", ""));
}

TEST(OriginPolicy, StarAllowsEveryPage) {
  const OriginPolicy any = policy_of({"*"});
  EXPECT_TRUE(any.allows("https://evil.example", "shop.example"));
  EXPECT_TRUE(any.allows("null", "shop.example"));
}

TEST(OriginPolicy, ListedOriginsMatchSchemeHostAndPortAsPhoenixDoes) {
  const OriginPolicy listed =
      policy_of({"https://shop.example", "//cdn.example", "https://*.brand.example:8443"});
  EXPECT_TRUE(listed.allows("https://shop.example", "presence.internal"));
  EXPECT_TRUE(listed.allows("https://shop.example:443", "presence.internal"));
  EXPECT_FALSE(listed.allows("http://shop.example", "presence.internal"));
  EXPECT_FALSE(listed.allows("https://shop.example:8443", "presence.internal"));
  EXPECT_TRUE(listed.allows("http://cdn.example:3000", "presence.internal"));
  EXPECT_TRUE(listed.allows("https://eu.brand.example:8443", "presence.internal"));
  EXPECT_FALSE(listed.allows("https://brand.example:8443", "presence.internal"));
  EXPECT_FALSE(listed.allows("https://evilbrand.example:8443", "presence.internal"));
  EXPECT_FALSE(listed.allows("https://eu.brand.example", "presence.internal"));
  // A listed policy without self does not take the request's own host.
  EXPECT_FALSE(listed.allows("http://presence.internal", "presence.internal"));
}

TEST(OriginPolicy, RefusesEntriesThatAreNoOrigin) {
  OriginPolicy policy;
  for (std::string_view bad :
       {"", "shop.example", "https:/shop.example", "https://", "https://shop.example/",
        "https://shop.example:0", "https://shop.example:65536", "https://sh*p.example", "//*.",
        "ftp://shop.example"}) {
    EXPECT_FALSE(policy.add(bad)) << bad;
  }
  EXPECT_TRUE(policy.empty());
  EXPECT_TRUE(policy.add("ftp://shop.example:21"));
}

TEST(OriginPolicy, BoundsTheNumberOfEntries) {
  OriginPolicy policy;
  for (std::size_t i = 0; i < kMaxAllowedOrigins; ++i) {
    ASSERT_TRUE(policy.add("https://s" + std::to_string(i) + ".example"));
  }
  const Status past = policy.add("https://one-too-many.example");
  EXPECT_EQ(past.code(), Errc::too_large);
}

}  // namespace
}  // namespace presence
