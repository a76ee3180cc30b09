// The cluster section of /metrics: every family once with HELP and TYPE, the
// values of the status and the replicas, escaped node names, bounded output.
#include "presence/cluster_metrics.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cluster_metrics_sample.hpp"

namespace presence::cluster {
namespace {

using test::kSampleNowMs;
using test::sample_replicas;
using test::sample_status;

std::string render(const Status& status, const std::vector<ReplicaInfo>& replicas) {
  std::string out;
  render_metrics(out, status, replicas, kSampleNowMs);
  return out;
}

// Sample lines by their text up to the value: {"name{labels}": "value"}.
std::map<std::string, std::string> samples(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    EXPECT_TRUE(out.emplace(line.substr(0, space), line.substr(space + 1)).second)
        << "duplicate series " << line;
  }
  return out;
}

TEST(ClusterMetrics, EveryFamilyHasOneHelpAndTypeAndCountersEndInTotal) {
  const std::string text = render(sample_status(), sample_replicas());
  std::set<std::string> helps, series_families;
  std::map<std::string, std::string> types;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    ASSERT_FALSE(line.empty());
    std::istringstream words(line);
    std::string hash, kind, name, type;
    if (line.rfind("# HELP ", 0) == 0) {
      words >> hash >> kind >> name;
      EXPECT_TRUE(helps.insert(name).second) << name;
    } else if (line.rfind("# TYPE ", 0) == 0) {
      words >> hash >> kind >> name >> type;
      EXPECT_TRUE(types.emplace(name, type).second) << name;
      // A family's samples follow its TYPE line.
      EXPECT_EQ(series_families.count(name), 0u) << name;
    } else {
      name = line.substr(0, line.find_first_of("{ "));
      EXPECT_EQ(types.count(name), 1u) << "sample before its TYPE: " << line;
      series_families.insert(name);
    }
  }
  EXPECT_EQ(helps.size(), types.size());
  for (const auto& [name, type] : types) {
    EXPECT_EQ(name.rfind("presence_cluster_", 0), 0u) << name;
    const bool total = name.size() > 6 && name.substr(name.size() - 6) == "_total";
    EXPECT_EQ(type == "counter", total) << name;
    EXPECT_EQ(series_families.count(name), 1u) << "family without samples: " << name;
  }
}

TEST(ClusterMetrics, ShowTheStatusCounters) {
  const auto s = samples(render(sample_status(), sample_replicas()));
  EXPECT_EQ(s.at("presence_cluster_link_up"), "1");
  EXPECT_EQ(s.at(R"(presence_cluster_messages_total{direction="in"})"), "2000");
  EXPECT_EQ(s.at(R"(presence_cluster_messages_total{direction="out"})"), "1000");
  EXPECT_EQ(s.at(R"(presence_cluster_bytes_total{direction="out"})"), "64000");
  EXPECT_EQ(s.at(R"(presence_cluster_deltas_total{direction="in"})"), "1800");
  EXPECT_EQ(s.at("presence_cluster_updates_sent_total"), "30000");
  EXPECT_EQ(s.at(R"(presence_cluster_transfer_requests_total{direction="out"})"), "3");
  // transfers_out counts every transfer, those through keys included.
  EXPECT_EQ(s.at(R"(presence_cluster_transfers_total{direction="out",path="inline"})"), "1");
  EXPECT_EQ(s.at(R"(presence_cluster_transfers_total{direction="out",path="keys"})"), "1");
  EXPECT_EQ(s.at(R"(presence_cluster_transfers_total{direction="in",path="inline"})"), "2");
  EXPECT_EQ(s.at(R"(presence_cluster_transfers_total{direction="in",path="keys"})"), "1");
  EXPECT_EQ(s.at(R"(presence_cluster_messages_dropped_total{reason="malformed"})"), "1");
  EXPECT_EQ(s.at(R"(presence_cluster_messages_dropped_total{reason="bad_mac"})"), "2");
  EXPECT_EQ(s.at(R"(presence_cluster_messages_dropped_total{reason="unknown_kind"})"), "7");
  EXPECT_EQ(s.at("presence_cluster_merge_lock_seconds_total"), "1.5");
  EXPECT_EQ(s.at("presence_cluster_merge_lock_max_seconds"), "0.00425");
  EXPECT_EQ(s.at("presence_cluster_extract_slices_total"), "34");
  EXPECT_EQ(s.at("presence_cluster_extract_lock_max_seconds"), "0.00058");
  EXPECT_EQ(s.at(R"(presence_cluster_replica_transitions_total{to="down"})"), "1");
  EXPECT_EQ(s.at("presence_cluster_redis_errors_total"), "1");
  EXPECT_EQ(s.at("presence_cluster_takeovers_total"), "1");
}

TEST(ClusterMetrics, EveryDropReasonHasItsSeries) {
  const auto s = samples(render(Status{}, {}));
  for (std::size_t i = 0; i < kDropReasons; ++i) {
    const std::string reason(drop_reason_name(static_cast<Drop>(i)));
    EXPECT_NE(reason, "unknown");
    EXPECT_EQ(s.at("presence_cluster_messages_dropped_total{reason=\"" + reason + "\"}"), "0");
  }
  EXPECT_EQ(s.at("presence_cluster_link_up"), "0");
}

TEST(ClusterMetrics, ShowReplicasUpAndDownButNotPermdown) {
  const auto s = samples(render(sample_status(), sample_replicas()));
  EXPECT_EQ(s.at(R"(presence_cluster_replica_up{node="store-a",generation="5",local="true"})"),
            "1");
  EXPECT_EQ(s.at(R"(presence_cluster_replica_up{node="store-b",generation="2",local="false"})"),
            "1");
  EXPECT_EQ(s.at(R"(presence_cluster_replica_up{node="store-c",generation="1",local="false"})"),
            "0");
  EXPECT_EQ(s.count(R"(presence_cluster_replica_up{node="store-b",generation="1",local="false"})"),
            0u);
  EXPECT_EQ(
      s.at(R"(presence_cluster_replica_connections{node="store-c",generation="1",local="false"})"),
      "500");
  EXPECT_EQ(s.at(R"(presence_cluster_replica_clock{node="store-a",generation="5",local="true"})"),
            "90000");
  EXPECT_EQ(s.at(R"(presence_cluster_replicas{state="up"})"), "2");
  EXPECT_EQ(s.at(R"(presence_cluster_replicas{state="down"})"), "1");
  EXPECT_EQ(s.at(R"(presence_cluster_replicas{state="permdown"})"), "1");
}

TEST(ClusterMetrics, ShowEachPeersLagAndSilenceInSeconds) {
  const auto s = samples(render(sample_status(), sample_replicas()));
  EXPECT_EQ(s.at(R"(presence_cluster_replication_lag_seconds{node="store-b",generation="2"})"),
            "0.12");
  EXPECT_EQ(s.at(R"(presence_cluster_peer_silence_seconds{node="store-c",generation="1"})"), "9");
  EXPECT_EQ(s.at(R"(presence_cluster_peer_silence_seconds{node="store-b",generation="2"})"), "0.3");
}

TEST(ClusterMetrics, ADownPeerShowsItsSilenceButNoLag) {
  const auto s = samples(render(sample_status(), sample_replicas()));
  EXPECT_EQ(s.count(R"(presence_cluster_replication_lag_seconds{node="store-c",generation="1"})"),
            0u);
  Status status = sample_status();
  status.peers[1].state = static_cast<std::uint8_t>(ReplicaState::permdown);
  const auto gone = samples(render(status, {}));
  EXPECT_EQ(gone.count(R"(presence_cluster_peer_silence_seconds{node="store-c",generation="1"})"),
            0u);
}

// A slot caught while rewritten may repeat another's name: one series each.
TEST(ClusterMetrics, APeerListedTwiceShowsOnce) {
  Status status{};
  test::set_peer(status.peers[0], "store-b", 2, 10, 0);
  test::set_peer(status.peers[5], "store-b", 2, 20, 0);
  const auto s = samples(render(status, {}));
  EXPECT_EQ(s.at(R"(presence_cluster_replication_lag_seconds{node="store-b",generation="2"})"),
            "0.01");
}

TEST(ClusterMetrics, EscapeNodeNamesInLabels) {
  std::string escaped;
  append_label_value(escaped, "a\\b\"c\nd");
  EXPECT_EQ(escaped, R"(a\\b\"c\nd)");

  Status status{};
  test::set_peer(status.peers[0], "x\"y", 1, 5, 0);
  const auto s = samples(render(status, {{{"x\"y", 1}, ReplicaState::up, 1, 1, false}}));
  EXPECT_EQ(s.at(R"(presence_cluster_replica_up{node="x\"y",generation="1",local="false"})"), "1");
  EXPECT_EQ(s.at(R"(presence_cluster_replication_lag_seconds{node="x\"y",generation="1"})"),
            "0.005");
}

TEST(ClusterMetrics, APeerNameLengthPastItsArrayIsCut) {
  Status status{};
  test::set_peer(status.peers[0], std::string(kMaxNodeNameBytes, 'n'), 1, 0, 0);
  status.peers[0].name_len = kMaxNodeNameBytes + 1;
  const auto s = samples(render(status, {}));
  const std::string name(kMaxNodeNameBytes, 'n');
  EXPECT_EQ(
      s.count("presence_cluster_replication_lag_seconds{node=\"" + name + "\",generation=\"1\"}"),
      1u);
}

// One series per replica slot and per peer slot, whatever else happens.
TEST(ClusterMetrics, OutputIsBoundedByTheSlots) {
  Status status{};
  std::vector<ReplicaInfo> replicas;
  for (std::size_t i = 0; i < kMaxReplicas; ++i) {
    const std::string name(kMaxNodeNameBytes - 2, 'a');
    test::set_peer(status.peers[i], name + std::to_string(i % 100), i, 1, 1);
    replicas.push_back({{name + std::to_string(i % 100), i}, ReplicaState::up, i, i, i == 0});
  }
  const std::string text = render(status, replicas);
  const std::string empty = render(Status{}, {});
  const std::size_t per_slot_lines = 3 + 2;  // three replica families, two peer families
  EXPECT_EQ(samples(text).size(), samples(empty).size() + per_slot_lines * kMaxReplicas);
  EXPECT_LT(text.size(), 64u * 1024);
}

}  // namespace
}  // namespace presence::cluster
