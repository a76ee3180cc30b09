#include "presence/result.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace presence {
namespace {

TEST(Status, DefaultIsSuccessWithoutReason) {
  const Status s;
  EXPECT_TRUE(s);
  EXPECT_EQ(s.code(), Errc::ok);
  EXPECT_EQ(s.reason(), "");
  EXPECT_TRUE(Status::ok());
}

TEST(Status, AFailureKeepsItsCodeAndReason) {
  const Status s{Errc::too_large, "page too long"};
  EXPECT_FALSE(s);
  EXPECT_EQ(s.code(), Errc::too_large);
  EXPECT_EQ(s.reason(), "page too long");
}

TEST(Result, HoldsAValue) {
  Result<std::string> r = std::string("cart-1");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "cart-1");
  EXPECT_EQ(r->size(), 6u);
  EXPECT_EQ(r.code(), Errc::ok);
  EXPECT_EQ(r.reason(), "");
  EXPECT_TRUE(r.status());
  r.value() += "!";
  EXPECT_EQ(r.value(), "cart-1!");
}

TEST(Result, HoldsAFailureInsteadOfAValue) {
  const Result<int> r = Status{Errc::malformed, "not JSON"};
  EXPECT_FALSE(r);
  EXPECT_EQ(r.code(), Errc::malformed);
  EXPECT_EQ(r.reason(), "not JSON");
  EXPECT_EQ(r.status().code(), Errc::malformed);
  EXPECT_EQ(r.status().reason(), "not JSON");
}

TEST(Result, AValueMovesOutWithoutACopy) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r);
  std::unique_ptr<int> taken = std::move(r).value();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 7);
}

}  // namespace
}  // namespace presence
