#include "nginx_usage.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace presence::sim {
namespace {

TEST(PrometheusValue, SumsEverySampleOfTheMetricAndNothingElse) {
  const std::string page =
      "# HELP presence_zone_used_bytes Bytes of the region in use.\n"
      "# TYPE presence_zone_used_bytes gauge\n"
      "presence_zone_used_bytes{zone=\"presence\"} 1048576\n"
      "presence_zone_used_bytes_total 7\n"
      "presence_zone_used_bytes 24\n"
      "presence_zone_size_bytes 67108864\n";
  EXPECT_EQ(prometheus_value(page, kZoneUsedMetric), 1048600u);
  EXPECT_FALSE(prometheus_value("presence_shoppers 3\n", kZoneUsedMetric));
  EXPECT_EQ(prometheus_value("presence_zone_used_bytes 1.5e3", kZoneUsedMetric), 1500u);
}

TEST(SampleNginx, ReadsThisProcessAndRefusesAMissingOne) {
  const NginxSample self = sample_nginx(getpid(), std::nullopt);
  ASSERT_FALSE(self.processes.empty()) << self.error;
  EXPECT_EQ(self.processes.front().pid, getpid());
  EXPECT_GT(self.vm_rss_kb(), 0u);
  EXPECT_GE(self.vm_rss_kb(), self.rss_anon_kb());
  EXPECT_GT(self.pss_kb(), 0u);
  // pid_max is at most 2^22, so this pid never exists.
  const NginxSample gone = sample_nginx((1 << 22) + 1, std::nullopt);
  EXPECT_TRUE(gone.processes.empty());
  EXPECT_NE(gone.error.find("not running"), std::string::npos);
}

TEST(NginxReport, GrowthPerConnectionCountsTheZoneOnce) {
  NginxSample before;
  before.processes.push_back({1, 10'000, 4'000, 6'000, 9'000, 0});
  before.zone_used_bytes = 1'000'000;
  NginxSample peak = before;
  peak.processes[0] = {1, 20'000, 6'000, 14'000, 12'000, 100};
  peak.zone_used_bytes = 2'000'000;
  peak.connections = 1000;
  const nlohmann::json r = nginx_report(1, before, peak, peak, 10);
  const auto& per = r["per_connection"];
  EXPECT_EQ(per["connections"], 1000);
  EXPECT_EQ(per["vm_rss_growth_bytes"], 10'000 * 1024 / 1000);
  EXPECT_EQ(per["private_rss_growth_bytes"], 2'000 * 1024 / 1000);
  EXPECT_EQ(per["zone_growth_bytes"], 1000);
  EXPECT_EQ(per["pss_growth_bytes"], 3'000 * 1024 / 1000);
  EXPECT_EQ(per["private_plus_zone_bytes"], 2'000 * 1024 / 1000 + 1000);
}

}  // namespace
}  // namespace presence::sim
