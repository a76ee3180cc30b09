#include "presence_feed_count.hpp"

#include <gtest/gtest.h>

namespace presence::sim {
namespace {

TEST(FeedCount, StateCountsEveryMetaOfEveryKeyAndNothingNested) {
  const FeedCount c = count_feed_metas(
      R"(["2",null,"admin:cart_tracker","presence_state",)"
      R"({"cart-1":{"metas":[{"phx_ref":"a","page":"/","items":[{"product":"x","size":"9","qty":1}]},)"
      R"({"phx_ref":"b","page":"/cart","items":[]}]},"cart-2":{"metas":[{"phx_ref":"c","items":[]}]}}])");
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.event, "presence_state");
  EXPECT_TRUE(c.is_state);
  EXPECT_EQ(c.metas, 3);
}

TEST(FeedCount, DiffCountsJoinsMinusLeaves) {
  const FeedCount c = count_feed_metas(
      R"(["2",null,"admin:cart_tracker","presence_diff",{"joins":{"cart-1":{"metas":[)"
      R"({"phx_ref":"b","phx_ref_prev":"a","items":[{"product":"x","size":"9","qty":2}]}]},)"
      R"("cart-3":{"metas":[{"phx_ref":"d"}]}},"leaves":{"cart-1":{"metas":[{"phx_ref":"a"}]}}}])");
  ASSERT_TRUE(c.ok);
  EXPECT_FALSE(c.is_state);
  EXPECT_EQ(c.metas, 1);
  const FeedCount empty = count_feed_metas(
      R"(["2",null,"admin:cart_tracker","presence_diff",{"joins":{},"leaves":{}}])");
  ASSERT_TRUE(empty.ok);
  EXPECT_EQ(empty.metas, 0);
}

TEST(FeedCount, OtherMessagesAreNamedAndBrokenOnesRefused) {
  const FeedCount reply = count_feed_metas(
      R"(["2","2","admin:cart_tracker","phx_reply",{"status":"ok","response":{}}])");
  ASSERT_TRUE(reply.ok);
  EXPECT_EQ(reply.event, "phx_reply");
  EXPECT_EQ(reply.metas, 0);
  EXPECT_FALSE(count_feed_metas(R"(["2",null,"admin:cart_tracker","presence_state",{)").ok);
  EXPECT_FALSE(count_feed_metas(R"(["2",null,"admin:cart_tracker","presence_state"])").ok);
  EXPECT_FALSE(count_feed_metas(R"({"event":"presence_state"})").ok);
  EXPECT_FALSE(count_feed_metas("").ok);
}

}  // namespace
}  // namespace presence::sim
