// AdminFeed against a real tracker on a shared region: random shopper churn,
// broadcast ticks, and admins that read at random paces (one not at all until
// the end). Whatever happened on the way, including an admin held back past
// its bound and out of the change log, every admin ends on exactly the
// server's presence and its latest stats.
#include "presence/admin_feed.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "presence/presence_json.hpp"
#include "tracker_test_support.hpp"

namespace presence {
namespace {

using nlohmann::json;
using View = std::map<std::string, std::map<std::string, json>>;  // key -> phx_ref -> meta

constexpr std::int64_t kNow = 1764277500123;

void apply_state(View& view, const json& state) {
  view.clear();
  for (const auto& [key, entry] : state.items()) {
    for (const json& meta : entry["metas"]) view[key][meta["phx_ref"]] = meta;
  }
}

// Joins first, then leaves, as the stock client's syncDiff does.
void apply_diff(View& view, const json& diff) {
  for (const auto& [key, entry] : diff["joins"].items()) {
    for (const json& meta : entry["metas"]) view[key][meta["phx_ref"]] = meta;
  }
  for (const auto& [key, entry] : diff["leaves"].items()) {
    auto it = view.find(key);
    if (it == view.end()) continue;
    for (const json& meta : entry["metas"]) it->second.erase(meta["phx_ref"].get<std::string>());
    if (it->second.empty()) view.erase(it);
  }
}

std::string dump(const View& view) {
  json out = json::object();
  for (const auto& [key, metas] : view) {
    for (const auto& [ref, meta] : metas) out[key][ref] = meta;
  }
  return out.dump();
}

// One admin socket: its session, queue and place in the feed, and the
// client at the other end that reads the frames and keeps a view.
struct AdminSocket {
  explicit AdminSocket(std::size_t bound)
      : session(SocketRole::admin, "ops", Owner{100, ++next_conn}, 4),
        queue(bound, true),
        feed(session, queue, this) {}

  // As the module does: the replies, then the first stats from the feed.
  void join(Tracker& tracker, std::string_view topic) {
    std::vector<std::string> replies;
    session.on_text(json::array({"1", "1", topic, "phx_join", json::object()}).dump(), tracker,
                    kNow, replies);
    for (const std::string& r : replies) queue.push_text(r);
    AdminFeed::welcome(feed, tracker, kNow);
  }

  void read(std::size_t budget) {
    while (budget > 0) {
      std::span<char> chunk = queue.next_chunk();
      if (chunk.empty()) return;
      const std::size_t n = std::min(chunk.size(), budget);
      const auto* data = reinterpret_cast<const std::uint8_t*>(chunk.data());
      std::size_t left = n;
      while (left > 0) {
        std::size_t used = 0;
        ws::FrameEvent ev = parser.feed(data, left, &used);
        data += used;
        left -= used;
        if (ev.kind == ws::FrameEvent::Kind::message) on_message(json::parse(ev.payload));
      }
      queue.advance(n);
      budget -= n;
    }
  }

  void on_message(const json& msg) {
    const std::string event = msg[3];
    if (event == "presence_state") {
      ++states;
      apply_state(view, msg[4]);
    } else if (event == "presence_diff") {
      apply_diff(view, msg[4]);
    } else if (event == "stats") {
      stats = msg[4];
    }
  }

  static inline std::uint64_t next_conn = 0;
  ChannelSession session;
  SendQueue queue;
  AdminFeed::Admin feed;
  ws::FrameParser parser{ws::Role::client, 1 << 30};
  View view;
  json stats;
  int states = 0;  // presence_state messages received
};

class Store {
 public:
  explicit Store(std::size_t log_bytes)
      : region_(8 * 1024 * 1024), tracker(open(region_, log_bytes)) {}

  void churn(int roll, int who) {
    const std::string key = "cart-" + std::to_string(who % 12);
    if (roll < 40 || live_.empty()) {
      const TrackResult t =
          tracker.track(kCartTrackerTopic, key, page(who), Owner{200, ++conn_}, kNow);
      if (t.error == TrackError::none) live_.push_back(t.handle);
    } else if (roll < 75) {
      MetaHandle& h = live_[static_cast<std::size_t>(who) % live_.size()];
      const TrackResult t = tracker.update(h, page(who + roll), kNow);
      if (t.error == TrackError::none) h = t.handle;
    } else {
      const std::size_t i = static_cast<std::size_t>(who) % live_.size();
      tracker.untrack(live_[i]);
      live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }

  View server_view() {
    std::vector<PresenceEntry> entries;
    tracker.snapshot(kCartTrackerTopic, entries);
    View view;
    apply_state(view, json::parse(encode_presence_state(entries)));
    return view;
  }

 private:
  static Tracker open(test::SharedRegion& region, std::size_t log_bytes) {
    std::optional<Tracker> t = region.open(test::config("store-a", 1, log_bytes), true);
    if (!t) throw std::runtime_error("tracker did not open");
    return std::move(*t);
  }
  static CartMeta page(int n) {
    // Items make diffs of a few hundred bytes, so small bounds are crossed.
    return test::cart("/p/" + std::to_string(n), {{"shoe-" + std::to_string(n % 7), "10", 1}});
  }

  test::SharedRegion region_;

 public:
  Tracker tracker;

 private:
  std::vector<MetaHandle> live_;
  std::uint64_t conn_ = 0;
};

// Reads everything and ticks until the feed has nothing more to say.
void settle(AdminFeed& feed, Store& store, std::vector<std::unique_ptr<AdminSocket>>& admins) {
  for (int round = 0; round < 100; ++round) {
    for (auto& a : admins) a->read(static_cast<std::size_t>(-1));
    std::vector<AdminFeed::Admin*> touched;
    feed.tick(store.tracker, kNow, touched);
    bool quiet = touched.empty();
    for (auto& a : admins) quiet = quiet && a->queue.empty();
    if (quiet) return;
  }
  FAIL() << "the feed never settled";
}

RC_GTEST_PROP(AdminFeedProperty, EveryAdminEndsOnTheServersState, ()) {
  Store store(*rc::gen::arbitrary<bool>() ? kMinChangeLogBytes : 4 * kMinChangeLogBytes);
  AdminFeed feed;
  std::vector<std::unique_ptr<AdminSocket>> admins;
  const std::size_t count = *rc::gen::inRange<std::size_t>(1, 4);
  for (std::size_t i = 0; i < count; ++i) {
    // Admin 0, which reads only at the end, has a bound its feed soon passes.
    const std::size_t bound = i == 0 ? *rc::gen::inRange<std::size_t>(512, 4096)
                                     : *rc::gen::inRange<std::size_t>(512, 64 * 1024);
    admins.push_back(std::make_unique<AdminSocket>(bound));
    admins.back()->join(store.tracker, kAdminPresenceTopic);
    if (*rc::gen::arbitrary<bool>()) admins.back()->join(store.tracker, kAdminStatsTopic);
    RC_ASSERT(feed.add(admins.back()->feed));
  }
  bool went_over = false;
  const int steps = *rc::gen::inRange(1, 1500);
  for (int step = 0; step < steps; ++step) {
    const int kind = *rc::gen::inRange(0, 10);
    if (kind < 6) {
      store.churn(*rc::gen::inRange(0, 100), *rc::gen::inRange(0, 1000));
    } else if (kind < 8) {
      std::vector<AdminFeed::Admin*> touched;
      const AdminFeed::TickReport report = feed.tick(store.tracker, kNow, touched);
      RC_ASSERT(report.messages <= 2 * admins.size());
      for (AdminFeed::Admin* a : touched) RC_ASSERT(!a->out_of_memory);
    } else {
      // Admin 0 does not read until the end.
      const std::size_t i = *rc::gen::inRange<std::size_t>(0, admins.size());
      if (i > 0) admins[i]->read(*rc::gen::inRange<std::size_t>(0, 100000));
    }
    // A queue holds at most its bound plus one message and one stats frame.
    went_over = went_over || !admins[0]->queue.within_bound();
  }
  settle(feed, store, admins);
  const View expected = store.server_view();
  const StatsSnapshot stats = store.tracker.stats(kCartTrackerTopic);
  for (auto& a : admins) {
    RC_ASSERT(dump(a->view) == dump(expected));
    RC_ASSERT(!a->feed.stale);
    if (a->session.wants_stats()) {
      if (a->stats.value("connections", std::uint64_t{0}) != stats.connections) {
        RC_FAIL("stats " + a->stats.dump() + " seen v" +
                std::to_string(a->session.stats_version()) + " now v" +
                std::to_string(store.tracker.stats_version()) + " waiting " +
                std::to_string(a->queue.stats_waiting()));
      }
      RC_ASSERT(a->stats.value("connections", std::uint64_t{0}) == stats.connections);
      RC_ASSERT(a->stats.value("shoppers", std::uint64_t{0}) == stats.shoppers);
    }
  }
  RC_TAG(went_over);
}

TEST(AdminFeed, AnAdminHeldBackPastTheChangeLogIsResyncedAndEndsExact) {
  Store store(kMinChangeLogBytes);
  AdminFeed feed;
  std::vector<std::unique_ptr<AdminSocket>> admins;
  admins.push_back(std::make_unique<AdminSocket>(2048));
  admins.back()->join(store.tracker, kAdminPresenceTopic);
  ASSERT_TRUE(feed.add(admins.back()->feed));
  std::uint64_t resyncs = 0;
  for (int step = 0; step < 3000; ++step) {
    store.churn(step * 37 % 100, step);
    if (step % 50 == 0) {
      std::vector<AdminFeed::Admin*> touched;
      resyncs += feed.tick(store.tracker, kNow, touched).resyncs;
    }
  }
  EXPECT_TRUE(admins[0]->queue.congested());  // held back: its queue is past half its bound
  settle(feed, store, admins);
  std::vector<AdminFeed::Admin*> touched;
  EXPECT_GT(resyncs + feed.tick(store.tracker, kNow, touched).resyncs + admins[0]->states, 1u);
  EXPECT_GE(admins[0]->states, 2);  // the join's state and at least one resync
  EXPECT_EQ(dump(admins[0]->view), dump(store.server_view()));
}

TEST(AdminFeed, TheFirstStatsFollowTheJoinReply) {
  Store store(kMinChangeLogBytes);
  store.churn(0, 1);
  AdminSocket a(1 << 20);
  std::vector<std::string> replies;
  a.session.on_text(R"(["3","3","admin:stats","phx_join",{}])", store.tracker, kNow, replies);
  ASSERT_EQ(replies.size(), 1u);
  a.queue.push_text(replies[0]);
  EXPECT_TRUE(AdminFeed::welcome(a.feed, store.tracker, kNow));
  EXPECT_FALSE(AdminFeed::welcome(a.feed, store.tracker, kNow));  // once
  EXPECT_EQ(a.session.stats_version(), store.tracker.stats_version());
  a.read(static_cast<std::size_t>(-1));
  EXPECT_EQ(a.stats["connections"].get<int>(), 1);
}

TEST(AdminFeed, AdminsThatShareAViewShareTheFrame) {
  Store store(256 * 1024);
  AdminFeed feed;
  AdminSocket a(1 << 20), b(1 << 20);
  a.join(store.tracker, kAdminPresenceTopic);
  b.join(store.tracker, kAdminPresenceTopic);
  a.read(static_cast<std::size_t>(-1));
  b.read(static_cast<std::size_t>(-1));
  ASSERT_TRUE(feed.add(a.feed));
  ASSERT_TRUE(feed.add(b.feed));
  ASSERT_TRUE(feed.add(a.feed));  // listed once
  store.churn(0, 1);
  std::vector<AdminFeed::Admin*> touched;
  const AdminFeed::TickReport report = feed.tick(store.tracker, kNow, touched);
  EXPECT_EQ(report.messages, 2u);
  EXPECT_EQ(touched.size(), 2u);
  const std::span<char> ca = a.queue.next_chunk(), cb = b.queue.next_chunk();
  EXPECT_EQ(std::string_view(ca.data(), ca.size()), std::string_view(cb.data(), cb.size()));
  feed.remove(a.feed);
  feed.remove(a.feed);
  feed.remove(b.feed);
  EXPECT_TRUE(feed.empty());
}

}  // namespace
}  // namespace presence
