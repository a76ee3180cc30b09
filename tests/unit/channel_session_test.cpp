// ChannelSession: the server side of Phoenix channels for one socket, on a
// real tracker in a shared region.
#include "presence/channel_session.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tracker_test_support.hpp"

namespace presence {
namespace {

using nlohmann::json;

constexpr std::int64_t kNow = 1764277500123;

class ChannelSessionTest : public ::testing::Test {
 protected:
  ChannelSessionTest() : region_(4 * 1024 * 1024), tracker_(*region_.open(test::config(), true)) {}

  ChannelSession shopper(const std::string& sub, std::uint64_t conn = 1, std::size_t max = 4) {
    return ChannelSession(SocketRole::shopper, sub, Owner{100, conn}, max);
  }
  ChannelSession admin(std::size_t max = 4) {
    return ChannelSession(SocketRole::admin, "ops", Owner{100, 99}, max);
  }

  // Sends one message and returns every frame the session answered, parsed.
  std::vector<json> send(ChannelSession& s, const json& msg) { return send_text(s, msg.dump()); }
  std::vector<json> send_text(ChannelSession& s, std::string_view text) {
    std::vector<std::string> out;
    s.on_text(text, tracker_, kNow, out);
    std::vector<json> frames;
    for (const std::string& t : out) frames.push_back(json::parse(t));
    return frames;
  }

  static std::string status(const json& frame) { return frame[4]["status"]; }
  static std::string reason(const json& frame) { return frame[4]["response"]["reason"]; }

  StatsSnapshot stats() { return tracker_.stats(kCartTrackerTopic); }

  test::SharedRegion region_;
  Tracker tracker_;
};

TEST_F(ChannelSessionTest, HeartbeatGetsOkReplyWithItsRef) {
  ChannelSession s = shopper("c1");
  auto frames = send(s, json::array({nullptr, "5", "phoenix", "heartbeat", json::object()}));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], json::array({nullptr,
                                    "5",
                                    "phoenix",
                                    "phx_reply",
                                    {{"status", "ok"}, {"response", json::object()}}}));
}

TEST_F(ChannelSessionTest, ShopperJoinsOwnCartAndIsTracked) {
  ChannelSession s = shopper("c1");
  auto frames = send(
      s, json::array({"1",
                      "1",
                      "cart:c1",
                      "phx_join",
                      {{"page", "/p/air"}, {"items", {{{"product", "air"}, {"size", "10"}}}}}}));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(status(frames[0]), "ok");
  EXPECT_EQ(frames[0][0], "1");
  EXPECT_EQ(frames[0][2], "cart:c1");
  StatsSnapshot st = stats();
  EXPECT_EQ(st.shoppers, 1u);
  EXPECT_EQ(st.connections, 1u);
  ASSERT_EQ(st.carts.size(), 1u);
  EXPECT_EQ(std::get<2>(st.carts[0]), 1u);
}

TEST_F(ChannelSessionTest, JoiningAnotherCartIsUnauthorized) {
  ChannelSession s = shopper("c1");
  auto frames = send(s, json::array({"1", "1", "cart:c2", "phx_join", json::object()}));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(status(frames[0]), "error");
  EXPECT_EQ(reason(frames[0]), "unauthorized");
  EXPECT_EQ(stats().connections, 0u);
}

TEST_F(ChannelSessionTest, ShopperCannotJoinAdminTopics) {
  ChannelSession s = shopper("c1");
  for (const char* topic : {"admin:stats", "admin:cart_tracker", "admin:anything"}) {
    auto frames = send(s, json::array({"1", "1", topic, "phx_join", json::object()}));
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(reason(frames[0]), "unauthorized") << topic;
  }
}

TEST_F(ChannelSessionTest, AdminCannotJoinACart) {
  ChannelSession s = admin();
  auto frames = send(s, json::array({"1", "1", "cart:ops", "phx_join", json::object()}));
  EXPECT_EQ(reason(frames[0]), "unauthorized");
}

TEST_F(ChannelSessionTest, UnknownTopicIsUnmatched) {
  ChannelSession s = shopper("c1");
  auto frames = send(s, json::array({"1", "1", "room:lobby", "phx_join", json::object()}));
  EXPECT_EQ(reason(frames[0]), "unmatched topic");
  frames = send(s, json::array({"1", "2", "room:lobby", "update", json::object()}));
  EXPECT_EQ(reason(frames[0]), "unmatched topic");
}

TEST_F(ChannelSessionTest, InvalidJoinPayloadIsRefusedWithReasonAndNothingTracked) {
  ChannelSession s = shopper("c1");
  auto frames = send(
      s, json::array(
             {"1", "1", "cart:c1", "phx_join", {{"page", std::string(kMaxPageBytes + 1, 'p')}}}));
  EXPECT_EQ(status(frames[0]), "error");
  EXPECT_FALSE(reason(frames[0]).empty());
  EXPECT_EQ(stats().connections, 0u);
  EXPECT_EQ(s.channel_count(), 0u);
}

TEST_F(ChannelSessionTest, UpdateChangesThePresenceAndKeepsAbsentFields) {
  ChannelSession s = shopper("c1");
  send(s, json::array({"1",
                       "1",
                       "cart:c1",
                       "phx_join",
                       {{"page", "/a"}, {"items", {{{"product", "air"}, {"size", "10"}}}}}}));
  auto frames = send(s, json::array({"1", "2", "cart:c1", "update", {{"page", "/b"}}}));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(status(frames[0]), "ok");
  StatsSnapshot st = stats();
  ASSERT_EQ(st.pages.size(), 1u);
  EXPECT_EQ(st.pages[0].first, "/b");
  ASSERT_EQ(st.carts.size(), 1u);  // items kept
  std::vector<PresenceEntry> entries = tracker_.get_by_key(kCartTrackerTopic, "c1");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_FALSE(entries[0].meta.phx_ref_prev.empty());
}

TEST_F(ChannelSessionTest, InvalidUpdateLeavesStateUnchanged) {
  ChannelSession s = shopper("c1");
  send(s, json::array({"1", "1", "cart:c1", "phx_join", {{"page", "/a"}}}));
  auto frames = send(
      s, json::array({"1",
                      "2",
                      "cart:c1",
                      "update",
                      {{"items", {{{"product", "air"}, {"size", "10"}, {"qty", kMaxQty + 1}}}}}}));
  EXPECT_EQ(status(frames[0]), "error");
  StatsSnapshot st = stats();
  EXPECT_EQ(st.pages[0].first, "/a");
  EXPECT_TRUE(st.carts.empty());
}

TEST_F(ChannelSessionTest, UnknownEventIsAnErrorAndTheChannelLivesOn) {
  ChannelSession s = shopper("c1");
  send(s, json::array({"1", "1", "cart:c1", "phx_join", json::object()}));
  auto frames = send(s, json::array({"1", "2", "cart:c1", "checkout", json::object()}));
  EXPECT_EQ(reason(frames[0]), "unknown event");
  EXPECT_EQ(s.channel_count(), 1u);
  EXPECT_EQ(stats().connections, 1u);
}

TEST_F(ChannelSessionTest, MalformedTextGetsErrorReplyWithReadableRefs) {
  ChannelSession s = shopper("c1");
  auto frames = send_text(s, "not json");
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0][2], "phoenix");
  EXPECT_EQ(status(frames[0]), "error");
  frames = send_text(s, R"([null,"7","phoenix","heartbeat"])");
  EXPECT_EQ(frames[0][1], "7");
  EXPECT_EQ(status(frames[0]), "error");
}

TEST_F(ChannelSessionTest, SecondJoinReplacesTheFirstWithPhxClose) {
  ChannelSession s = shopper("c1");
  send(s, json::array({"1", "1", "cart:c1", "phx_join", {{"page", "/a"}}}));
  auto frames = send(s, json::array({"2", "2", "cart:c1", "phx_join", {{"page", "/b"}}}));
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0], json::array({"1", nullptr, "cart:c1", "phx_close", json::object()}));
  EXPECT_EQ(status(frames[1]), "ok");
  EXPECT_EQ(frames[1][0], "2");
  StatsSnapshot st = stats();
  EXPECT_EQ(st.connections, 1u);
  EXPECT_EQ(st.pages[0].first, "/b");
  // Messages under the old join_ref no longer reach the channel.
  frames = send(s, json::array({"1", "3", "cart:c1", "update", {{"page", "/c"}}}));
  EXPECT_EQ(reason(frames[0]), "unmatched topic");
}

TEST_F(ChannelSessionTest, ChannelLimitAndOnePast) {
  ChannelSession s = admin(/*max=*/1);
  auto frames = send(s, json::array({"1", "1", "admin:stats", "phx_join", json::object()}));
  EXPECT_EQ(status(frames[0]), "ok");
  frames = send(s, json::array({"2", "2", "admin:cart_tracker", "phx_join", json::object()}));
  EXPECT_EQ(reason(frames[0]), "too many channels");
  EXPECT_EQ(s.channel_count(), 1u);
}

TEST_F(ChannelSessionTest, LeaveUntracksAndCloseUntracksEverything) {
  ChannelSession a = shopper("c1", 1);
  ChannelSession b = shopper("c1", 2);
  send(a, json::array({"1", "1", "cart:c1", "phx_join", json::object()}));
  send(b, json::array({"1", "1", "cart:c1", "phx_join", json::object()}));
  EXPECT_EQ(stats().connections, 2u);
  EXPECT_EQ(stats().shoppers, 1u);
  auto frames = send(a, json::array({"1", "2", "cart:c1", "phx_leave", json::object()}));
  EXPECT_EQ(status(frames[0]), "ok");
  EXPECT_EQ(stats().connections, 1u);
  b.close(tracker_);
  EXPECT_EQ(stats().connections, 0u);
  EXPECT_EQ(stats().shoppers, 0u);
}

TEST_F(ChannelSessionTest, AdminStatsJoinRepliesAndLeavesTheStatsToTheFeed) {
  ChannelSession s = admin();
  auto frames = send(s, json::array({"3", "3", "admin:stats", "phx_join", json::object()}));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(status(frames[0]), "ok");
  EXPECT_TRUE(s.wants_stats());
  EXPECT_EQ(s.stats_version(), ChannelSession::kStatsUnseen);
}

TEST_F(ChannelSessionTest, AdminPresenceJoinPushesStateAtTheCurrentSequence) {
  ChannelSession c = shopper("c1");
  send(c, json::array({"1", "1", "cart:c1", "phx_join", {{"page", "/"}}}));
  ChannelSession s = admin();
  auto frames = send(s, json::array({"4", "4", "admin:cart_tracker", "phx_join", json::object()}));
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1][3], "presence_state");
  EXPECT_EQ(frames[1][0], "4");
  ASSERT_TRUE(frames[1][4].contains("c1"));
  EXPECT_EQ(frames[1][4]["c1"]["metas"].size(), 1u);
  EXPECT_TRUE(s.wants_presence());
  EXPECT_EQ(s.presence_seq(), tracker_.head_seq());
}

}  // namespace
}  // namespace presence
