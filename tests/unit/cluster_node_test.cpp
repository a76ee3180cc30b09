#include "presence/cluster_node.hpp"

#include <gtest/gtest.h>

#include "cluster_test_support.hpp"
#include "presence/delta_codec.hpp"

namespace presence {
namespace {

using cluster::Drop;
using test::cart_presences;
using test::ClusterBus;
using test::ClusterReplica;
using test::drops;
using test::track_cart;

constexpr std::int64_t kStart = 1'700'000'000'000;
constexpr std::size_t kRegionBytes = 4 * 1024 * 1024;

class ClusterNode : public ::testing::Test {
 protected:
  ClusterNode() {
    for (const char* name : {"store-a", "store-b", "store-c"}) {
      replicas.push_back(std::make_unique<ClusterReplica>(name, 1, kRegionBytes, 1024));
    }
    for (auto& r : replicas) {
      r->start(settings, now);
      bus.join(*r);
    }
  }
  ClusterReplica& a() { return *replicas[0]; }
  ClusterReplica& b() { return *replicas[1]; }
  ClusterReplica& c() { return *replicas[2]; }

  // Advances the fake clock, ticking and delivering every 50 ms.
  void run_for(std::int64_t ms) {
    bus.run(now + 50, now + ms);
    now += ms;
  }
  void expect_converged() {
    const auto want = cart_presences(a().tracker);
    for (auto& r : replicas) {
      EXPECT_EQ(cart_presences(r->tracker), want) << r->name();
      std::string why;
      EXPECT_TRUE(r->tracker.check_invariants(&why)) << why;
    }
  }
  const cluster::PeerStatus* peer(ClusterReplica& at, std::string_view node) {
    for (const auto& p : at.status.peers) {
      if (p.used != 0 && std::string_view(p.name.data(), p.name_len) == node) return &p;
    }
    return nullptr;
  }
  ReplicaState state_of(ClusterReplica& at, std::string_view node) {
    const auto* p = peer(at, node);
    return p == nullptr ? ReplicaState{} : static_cast<ReplicaState>(p->state);
  }

  cluster::Settings settings = test::cluster_settings();
  std::int64_t now = kStart;
  std::vector<std::unique_ptr<ClusterReplica>> replicas;
  ClusterBus bus;
};

TEST_F(ClusterNode, DeltasConvergeWithTheSameRefsAndUpdatesKeepTheirPreviousRef) {
  const TrackResult alice = track_cart(a().tracker, "alice");
  track_cart(b().tracker, "bob");
  const TrackResult carol = track_cart(c().tracker, "carol");
  run_for(200);
  ASSERT_EQ(cart_presences(a().tracker).size(), 3u);
  expect_converged();

  a().tracker.update(alice.handle, test::cart("/p/samba", {{"samba", "9", 2}}), 2000);
  c().tracker.untrack(carol.handle);
  run_for(200);
  expect_converged();
  const auto at_b = cart_presences(b().tracker);
  ASSERT_EQ(at_b.size(), 2u);
  const auto updated = std::find_if(at_b.begin(), at_b.end(),
                                    [](const PresenceEntry& e) { return e.key == "alice"; });
  ASSERT_NE(updated, at_b.end());
  EXPECT_EQ(updated->meta.phx_ref_prev, alice.phx_ref);
  EXPECT_EQ(updated->meta.meta.page, "/p/samba");
  EXPECT_EQ(b().tracker.stats(test::kCartTopic).nodes,
            (std::vector<std::string>{"store-a", "store-b", "store-c"}));
  EXPECT_GT(a().status.counters.deltas_out, 0u);
  EXPECT_GT(b().status.counters.deltas_in, 0u);
  EXPECT_EQ(a().node->cursor(), Replication(a().tracker).context().replicas[0].clock);
}

TEST_F(ClusterNode, ANodeWithNoShopperYetIsListedByTheOthersOnceItsHeartbeatArrives) {
  run_for(settings.heartbeat_ms + 100);
  for (auto& r : replicas) {
    const StatsSnapshot stats = r->tracker.stats(test::kCartTopic);
    EXPECT_EQ(stats.nodes, (std::vector<std::string>{"store-a", "store-b", "store-c"}))
        << r->name();
    EXPECT_EQ(stats.connections, 0u);
  }
}

TEST_F(ClusterNode, OwnHeartbeatEchoIsTheLinkLivenessAndOwnMessagesAreNotMerged) {
  track_cart(a().tracker, "alice");
  run_for(100);
  EXPECT_EQ(a().node->last_echo_ms(), kStart + 50);
  EXPECT_EQ(a().status.last_echo_ms, kStart + 50);
  EXPECT_GT(a().status.counters.own_echoes, 1u);
  EXPECT_EQ(a().status.counters.deltas_in, 0u);
  run_for(1000);
  EXPECT_EQ(a().node->last_echo_ms(), kStart + 1050);
}

TEST_F(ClusterNode, ALostDeltaIsFilledByATransferAfterTheNextDelta) {
  track_cart(a().tracker, "alice");
  run_for(100);
  // b misses a's next delta.
  bus.fate = [&](const ClusterBus::Message&, ClusterReplica& to) {
    return &to == &b() ? ClusterBus::Fate::lose : ClusterBus::Fate::deliver;
  };
  track_cart(a().tracker, "bob");
  run_for(50);
  bus.fate = nullptr;
  EXPECT_EQ(cart_presences(b().tracker).size(), 1u);
  track_cart(a().tracker, "carol");
  run_for(50);
  EXPECT_GE(b().status.counters.transfer_requests_out, 1u);
  EXPECT_GE(a().status.counters.transfer_requests_in, 1u);
  EXPECT_GE(b().status.counters.transfers_in, 1u);
  expect_converged();
  EXPECT_EQ(cart_presences(b().tracker).size(), 3u);
}

TEST_F(ClusterNode, AHeartbeatRevealsTheLastLostDelta) {
  track_cart(a().tracker, "alice");
  bus.fate = [&](const ClusterBus::Message&, ClusterReplica& to) {
    return &to == &c() ? ClusterBus::Fate::lose : ClusterBus::Fate::deliver;
  };
  run_for(100);
  bus.fate = nullptr;
  EXPECT_TRUE(cart_presences(c().tracker).empty());
  run_for(1000);  // the next heartbeat announces a's clock
  expect_converged();
  EXPECT_EQ(c().status.counters.transfers_in, 1u);
}

TEST_F(ClusterNode, OneTransferRequestIsOutstandingPerPeerAndRetriedAfterItsPeriod) {
  const std::string to_b = cluster::node_channel("sneakers", "store-b");
  // b misses a's first delta, and every answer addressed to it.
  bool first = true;
  bus.fate = [&](const ClusterBus::Message& m, ClusterReplica& to) {
    if (&to != &b()) return ClusterBus::Fate::deliver;
    if (m.channel == to_b) return ClusterBus::Fate::lose;
    if (first && cluster::open(m.bytes, settings.key)->kind == cluster::Kind::delta) {
      first = false;
      return ClusterBus::Fate::lose;
    }
    return ClusterBus::Fate::deliver;
  };
  track_cart(a().tracker, "alice");
  run_for(50);  // a's heartbeat right after its delta shows b the gap
  EXPECT_EQ(b().status.counters.transfer_requests_out, 1u);
  // However many deltas follow, one request is outstanding...
  for (int i = 0; i < 18; ++i) {
    track_cart(a().tracker, "shopper-" + std::to_string(i));
    run_for(50);
  }
  EXPECT_EQ(now, kStart + 950);
  EXPECT_EQ(b().status.counters.transfer_requests_out, 1u);
  // ...until the retry period has passed.
  run_for(100);
  EXPECT_EQ(b().status.counters.transfer_requests_out, 2u);
  bus.fate = nullptr;
  run_for(settings.transfer_retry_ms);
  expect_converged();
}

TEST_F(ClusterNode, AMessageForAnotherNodeIsIgnored) {
  track_cart(b().tracker, "bob");
  run_for(100);
  const std::uint64_t asked = b().status.counters.transfer_requests_in;
  std::vector<cluster::Command> out;
  const cluster::Envelope for_c{cluster::Kind::transfer_req,
                                a().tracker.local_replica(),
                                std::uint64_t(now) << 16 | 9,
                                now,
                                "store-c",
                                cluster::encode_transfer_request({b().tracker.local_replica(), 0})};
  b().node->on_message(cluster::broadcast_channel("sneakers"), cluster::seal(for_c, settings.key),
                       now, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(b().status.counters.transfer_requests_in, asked);
  cluster::Envelope for_b = for_c;
  for_b.target = "store-b";
  for_b.seq += 1;
  b().node->on_message(cluster::node_channel("sneakers", "store-b"),
                       cluster::seal(for_b, settings.key), now, out);
  EXPECT_EQ(b().status.counters.transfer_requests_in, asked + 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].target, cluster::node_channel("sneakers", "store-a"));
}

TEST_F(ClusterNode, SilentPeersGoDownThenPermdownAndComeBack) {
  track_cart(c().tracker, "carol");
  run_for(200);
  ASSERT_EQ(cart_presences(a().tracker).size(), 1u);
  c().linked = false;
  run_for(settings.down_ms + 100);
  EXPECT_EQ(state_of(a(), "store-c"), ReplicaState::down);
  EXPECT_TRUE(cart_presences(a().tracker).empty());
  // store-b holds no shopper but is up: counted; store-c is not.
  EXPECT_EQ(a().tracker.stats(test::kCartTopic).nodes,
            (std::vector<std::string>{"store-a", "store-b"}));
  EXPECT_EQ(a().status.counters.replicas_down, 1u);

  c().linked = true;
  run_for(1000);
  EXPECT_EQ(state_of(a(), "store-c"), ReplicaState::up);
  expect_converged();

  c().linked = false;
  run_for(settings.permdown_ms + 100);
  EXPECT_EQ(state_of(a(), "store-c"), ReplicaState::permdown);
  EXPECT_EQ(a().status.counters.replicas_permdown, 1u);
  EXPECT_TRUE(cart_presences(a().tracker).empty());

  // Forgotten, it speaks again: admitted anew, its full state asked.
  track_cart(c().tracker, "dave");
  c().linked = true;
  run_for(1000);
  EXPECT_EQ(state_of(a(), "store-c"), ReplicaState::up);
  EXPECT_EQ(a().status.counters.replicas_readmitted, 1u);
  EXPECT_EQ(cart_presences(a().tracker).size(), 2u);
  expect_converged();
}

TEST_F(ClusterNode, ANewGenerationPermdownsTheOldAtOnce) {
  track_cart(c().tracker, "carol");
  run_for(200);
  ASSERT_EQ(cart_presences(a().tracker).size(), 1u);
  // c restarts: a new region, a new generation, the same node name.
  bus.leave(c());
  replicas[2] = std::make_unique<ClusterReplica>("store-c", 2, kRegionBytes, 1024);
  c().start(settings, now);
  bus.join(c());
  track_cart(c().tracker, "carol-again");
  run_for(100);
  const auto at_a = cart_presences(a().tracker);
  ASSERT_EQ(at_a.size(), 1u);
  EXPECT_EQ(at_a[0].key, "carol-again");
  EXPECT_EQ(a().status.counters.replicas_permdown, 1u);
  expect_converged();
}

TEST_F(ClusterNode, APermdownMessageForgetsItsSenderAtOnce) {
  track_cart(c().tracker, "carol");
  run_for(200);
  ASSERT_EQ(cart_presences(b().tracker).size(), 1u);
  std::vector<cluster::Command> out;
  c().node->announce_permdown(now, out);
  bus.carry(c(), out);
  bus.deliver(now);
  bus.leave(c());
  EXPECT_TRUE(cart_presences(a().tracker).empty());
  EXPECT_TRUE(cart_presences(b().tracker).empty());
  EXPECT_EQ(state_of(b(), "store-c"), ReplicaState::permdown);
}

TEST_F(ClusterNode, SealPermdownWithoutANodeIsHonoured) {
  track_cart(c().tracker, "carol");
  run_for(200);
  const std::string bytes = cluster::seal_permdown(settings, c().tracker.local_replica(),
                                                   std::uint64_t(now) << 16 | 7, now);
  std::vector<cluster::Command> out;
  a().node->on_message(cluster::broadcast_channel("sneakers"), bytes, now, out);
  EXPECT_TRUE(cart_presences(a().tracker).empty());
  // A late delta of the replica that left does not bring it back.
  track_cart(c().tracker, "late");
  run_for(200);
  EXPECT_TRUE(cart_presences(a().tracker).empty());
}

TEST_F(ClusterNode, GarbageForgeriesAndReplaysAreCountedAndNeverMerged) {
  track_cart(a().tracker, "alice");
  std::vector<std::string> seen;
  bus.fate = [&](const ClusterBus::Message& m, ClusterReplica& to) {
    if (&to == &b()) seen.push_back(m.bytes);
    return ClusterBus::Fate::deliver;
  };
  run_for(100);
  bus.fate = nullptr;
  const auto before = cart_presences(b().tracker);
  const std::string channel = cluster::broadcast_channel("sneakers");
  std::vector<cluster::Command> out;
  auto& node = *b().node;
  node.on_message(channel, "random bytes", now, out);
  ASSERT_FALSE(seen.empty());
  node.on_message(channel, seen.front(), now, out);  // replayed
  std::string forged = seen.front();
  forged[forged.size() / 2] ^= 1;
  node.on_message(channel, forged, now, out);
  node.on_message(channel, seen.front().substr(0, seen.front().size() - 1), now, out);
  node.on_message(channel, std::string(cluster::kMaxInlineMessageBytes + 1, 'x'), now, out);
  // A MAC-valid delta claiming another replica's metas.
  Delta spoof = Replication(a().tracker).extract_full_state();
  spoof.origin = c().tracker.local_replica();
  node.on_message(
      channel,
      cluster::seal(cluster::Envelope{cluster::Kind::delta, a().tracker.local_replica(),
                                      std::uint64_t(now) << 20, now, "", encode_delta(spoof)},
                    settings.key),
      now, out);
  EXPECT_EQ(drops(b().status, Drop::malformed), 2u);
  EXPECT_EQ(drops(b().status, Drop::replayed), 1u);
  EXPECT_EQ(drops(b().status, Drop::bad_mac), 1u);
  EXPECT_EQ(drops(b().status, Drop::oversized), 1u);
  EXPECT_EQ(drops(b().status, Drop::spoofed), 1u);
  EXPECT_EQ(cart_presences(b().tracker), before);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace presence
