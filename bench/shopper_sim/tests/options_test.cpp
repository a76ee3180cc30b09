#include "options.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace presence::sim {
namespace {

OptionsResult parse(std::vector<std::string> args) {
  std::vector<std::string> all = {"shopper-sim", "--url", "ws://127.0.0.1:8080/socket/websocket",
                                  "--key", "k.key"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const std::string& a : all) argv.push_back(a.c_str());
  return parse_options(static_cast<int>(argv.size()), argv.data());
}

TEST(Options, DefaultsAreBoundedAndLoopback) {
  const OptionsResult r = parse({});
  ASSERT_TRUE(r.options) << r.error;
  EXPECT_EQ(r.options->url.port, 8080);
  EXPECT_EQ(r.options->url.path, "/socket/websocket");
  ASSERT_EQ(r.options->source_addresses.size(), 1u);
  EXPECT_EQ(to_string(r.options->source_addresses[0]), "127.0.0.1");
  EXPECT_DOUBLE_EQ(r.options->total_update_rate(), 100 / kDefaultThinkTimeS);
  EXPECT_FALSE(r.options->admin_key);
}

TEST(Options, RepeatedUrlsSpreadShoppersAndTheFirstIsTheProbes) {
  const OptionsResult one = parse({});
  ASSERT_TRUE(one.options) << one.error;
  EXPECT_EQ(one.options->urls.size(), 1u);
  std::vector<std::string> args;
  for (int port = 8081; port < 8081 + static_cast<int>(kMaxUrls) - 1; ++port) {
    args.push_back("--url");
    args.push_back("ws://127.0.0.1:" + std::to_string(port) + "/socket/websocket");
  }
  const OptionsResult many = parse(args);
  ASSERT_TRUE(many.options) << many.error;
  ASSERT_EQ(many.options->urls.size(), kMaxUrls);
  EXPECT_EQ(many.options->url.port, 8080);
  EXPECT_EQ(many.options->urls.back().port, 8080 + kMaxUrls - 1);
  args.push_back("--url");
  args.push_back("ws://127.0.0.1:9999/socket/websocket");
  EXPECT_EQ(parse(args).error, "--url: more than 16 endpoints");
}

TEST(Options, EveryBoundAcceptsItsLimitAndRefusesOnePast) {
  struct Case {
    std::string name, at_limit, past_limit;
  };
  const std::vector<Case> cases = {
      {"--shoppers", std::to_string(kMaxShoppers), std::to_string(kMaxShoppers + 1)},
      {"--shoppers", "1", "0"},
      {"--processes", std::to_string(kMaxProcesses), std::to_string(kMaxProcesses + 1)},
      {"--ramp", "200000/s", "200001/s"},
      {"--duration", "86400", "86401"},
      {"--drain", "60", "60.5"},
      {"--update-rate", "1000000", "1000001"},
      {"--tabs-fraction", "1", "1.01"},
      {"--churn", "1", "1.01"},
      {"--away", "3600", "3601"},
      {"--heartbeat", "300", "301"},
      {"--heartbeat", "1", "0.5"},
      {"--timeout", "120", "121"},
      {"--probe-interval", "0.01", "0.005"},
      {"--max-pending", std::to_string(kMaxPendingPerProcess),
       std::to_string(kMaxPendingPerProcess + 1)},
  };
  for (const Case& c : cases) {
    const OptionsResult ok = parse({c.name, c.at_limit});
    EXPECT_TRUE(ok.options) << c.name << " " << c.at_limit << ": " << ok.error;
    const OptionsResult past = parse({c.name, c.past_limit});
    EXPECT_FALSE(past.options) << c.name << " " << c.past_limit;
    EXPECT_NE(past.error.find(c.name), std::string::npos) << past.error;
  }
}

TEST(Options, NonLoopbackTargetsAreRefused) {
  EXPECT_NE(parse({"--url", "ws://192.168.1.1:80/socket/websocket"}).error.find("non-loopback"),
            std::string::npos);
  EXPECT_FALSE(parse({"--url", "ws://example.com:80/socket/websocket"}).options);
  EXPECT_FALSE(parse({"--url", "wss://127.0.0.1:80/socket/websocket"}).options);
  EXPECT_FALSE(parse({"--metrics-url", "http://10.0.0.1:80/metrics"}).options);
  EXPECT_FALSE(parse({"--source-ips", "127.0.0.2-128.0.0.1"}).options);
  EXPECT_TRUE(parse({"--url", "ws://localhost:80/socket/websocket"}).options);
}

TEST(Options, SourceRangesExpandAndAreBounded) {
  const OptionsResult r = parse({"--source-ips", "127.0.0.2-127.0.0.9,127.0.1.1"});
  ASSERT_TRUE(r.options) << r.error;
  ASSERT_EQ(r.options->source_addresses.size(), 9u);
  EXPECT_EQ(to_string(r.options->source_addresses[7]), "127.0.0.9");
  EXPECT_EQ(to_string(r.options->source_addresses[8]), "127.0.1.1");
  EXPECT_TRUE(parse({"--source-ips", "127.0.0.0-127.0.0.255"}).options);  // 256: the limit
  EXPECT_FALSE(parse({"--source-ips", "127.0.0.0-127.0.1.0"}).options);   // 257
  EXPECT_FALSE(parse({"--source-ips", "127.0.0.9-127.0.0.2"}).options);
}

TEST(Options, AdminUrlFollowsTheShopperHost) {
  const OptionsResult r = parse({"--admin-key", "a.pem", "--admin-kid", "admin-1"});
  ASSERT_TRUE(r.options) << r.error;
  ASSERT_TRUE(r.options->admin_url);
  EXPECT_EQ(r.options->admin_url->path, "/admin_socket/websocket");
  EXPECT_EQ(r.options->admin_url->port, 8080);
  EXPECT_EQ(r.options->admin_key->alg, jwt::Alg::eddsa);
  EXPECT_FALSE(parse({"--admin-kid", "admin-1"}).options);  // a kid without a key
}

TEST(Options, GentleSetsDemoDefaultsThatExplicitOptionsOverride) {
  const OptionsResult r = parse({"--shoppers", "500", "--gentle"});
  ASSERT_TRUE(r.options) << r.error;
  EXPECT_TRUE(r.options->gentle);
  EXPECT_EQ(r.options->shoppers, 500u);
  EXPECT_DOUBLE_EQ(r.options->total_update_rate(), 50);  // one update per shopper per 10 s
  EXPECT_LE(r.options->duration_s, kMaxDurationS);
  EXPECT_GT(r.options->churn_per_min, 0);
  EXPECT_TRUE(r.options->reconnect);
  EXPECT_FALSE(parse({}).options->reconnect);
  EXPECT_TRUE(parse({"--reconnect"}).options->reconnect);
}

TEST(Options, MalformedInputIsRefusedWithTheOptionName) {
  EXPECT_NE(parse({"--shoppers", "12x"}).error.find("--shoppers"), std::string::npos);
  EXPECT_NE(parse({"--bogus", "1"}).error.find("--bogus"), std::string::npos);
  EXPECT_FALSE(parse({"--alg", "rs256"}).options);
  EXPECT_FALSE(parse({"--shoppers"}).options);
  const char* no_key[] = {"shopper-sim", "--url", "ws://127.0.0.1:1/socket/websocket"};
  EXPECT_NE(parse_options(3, no_key).error.find("--key"), std::string::npos);
}

}  // namespace
}  // namespace presence::sim
