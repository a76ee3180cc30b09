#include "presence/cart_meta.hpp"

#include <gtest/gtest.h>

namespace presence {
namespace {

TEST(Subject, AcceptsTheContractAlphabet) {
  EXPECT_TRUE(is_valid_subject("cart-01H9Z.abc_def:42"));
  EXPECT_TRUE(is_valid_subject(std::string(kMaxSubBytes, 'a')));
}

TEST(Subject, RefusesEmptyTooLongAndForeignBytes) {
  EXPECT_FALSE(is_valid_subject(""));
  EXPECT_FALSE(is_valid_subject(std::string(kMaxSubBytes + 1, 'a')));
  EXPECT_FALSE(is_valid_subject("cart/1"));
  EXPECT_FALSE(is_valid_subject("cart 1"));
  EXPECT_FALSE(is_valid_subject("caf\xc3\xa9"));
}

}  // namespace
}  // namespace presence
