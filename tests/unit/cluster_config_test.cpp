#include "presence/cluster_config.hpp"

#include <string>

#include <gtest/gtest.h>

#include "presence/cluster_message.hpp"

namespace presence::cluster {
namespace {

TEST(ClusterConfig, ClusterNamesAreShortAndPlain) {
  EXPECT_TRUE(valid_cluster_name("sneakers"));
  EXPECT_TRUE(valid_cluster_name("eu-west_1.shop"));
  EXPECT_TRUE(valid_cluster_name(std::string(kMaxClusterNameBytes, 'a')));
  EXPECT_FALSE(valid_cluster_name(std::string(kMaxClusterNameBytes + 1, 'a')));
  EXPECT_FALSE(valid_cluster_name(""));
  // A colon would let one cluster's channels be another's.
  EXPECT_FALSE(valid_cluster_name("shop:all"));
  EXPECT_FALSE(valid_cluster_name("shop all"));
  EXPECT_FALSE(valid_cluster_name("caf\xc3\xa9"));
}

TEST(ClusterConfig, NumericRedisAddresses) {
  auto v4 = parse_redis_address("127.0.0.1:6379");
  ASSERT_TRUE(v4) << v4.reason();
  EXPECT_EQ(v4->kind, RedisAddress::Kind::tcp);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 6379);
  EXPECT_EQ(describe(*v4), "127.0.0.1:6379");

  auto v6 = parse_redis_address("[::1]:65535");
  ASSERT_TRUE(v6) << v6.reason();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 65535);
  EXPECT_EQ(describe(*v6), "[::1]:65535");

  auto unix_socket = parse_redis_address("unix:/run/redis/redis.sock");
  ASSERT_TRUE(unix_socket) << unix_socket.reason();
  EXPECT_EQ(unix_socket->kind, RedisAddress::Kind::unix_socket);
  EXPECT_EQ(unix_socket->path, "/run/redis/redis.sock");
  EXPECT_EQ(describe(*unix_socket), "unix:/run/redis/redis.sock");
}

TEST(ClusterConfig, NamesAndBadPortsAreRefused) {
  // hiredis 0.14 would resolve a name with a blocking getaddrinfo in a worker.
  EXPECT_EQ(parse_redis_address("localhost:6379").code(), Errc::invalid);
  EXPECT_EQ(parse_redis_address("redis.internal:6379").code(), Errc::invalid);
  EXPECT_FALSE(parse_redis_address("127.0.0.1"));
  EXPECT_FALSE(parse_redis_address("127.0.0.1:"));
  EXPECT_FALSE(parse_redis_address("127.0.0.1:0"));
  EXPECT_EQ(parse_redis_address("127.0.0.1:65536").code(), Errc::invalid);
  EXPECT_FALSE(parse_redis_address("127.0.0.1:6379x"));
  EXPECT_FALSE(parse_redis_address("127.0.0.1:-1"));
  EXPECT_FALSE(parse_redis_address("::1:6379"));
  EXPECT_FALSE(parse_redis_address("[::1]6379"));
  EXPECT_FALSE(parse_redis_address("[127.0.0.1]:6379"));
  EXPECT_FALSE(parse_redis_address("unix:"));
  EXPECT_FALSE(parse_redis_address("unix:relative.sock"));
  EXPECT_TRUE(parse_redis_address("unix:/" + std::string(kMaxUnixPathBytes - 1, 's')));
  EXPECT_EQ(parse_redis_address("unix:/" + std::string(kMaxUnixPathBytes, 's')).code(),
            Errc::too_large);
}

TEST(ClusterConfig, AuthFileHoldsAPasswordOrAUserAndPassword) {
  auto password = parse_redis_auth("s3cret-pass\n");
  ASSERT_TRUE(password) << password.reason();
  EXPECT_EQ(password->user, "");
  EXPECT_EQ(password->password, "s3cret-pass");

  auto acl = parse_redis_auth("  presence   s3cret-pass \r\n");
  ASSERT_TRUE(acl) << acl.reason();
  EXPECT_EQ(acl->user, "presence");
  EXPECT_EQ(acl->password, "s3cret-pass");

  EXPECT_FALSE(parse_redis_auth(""));
  EXPECT_FALSE(parse_redis_auth(" \n"));
  EXPECT_FALSE(parse_redis_auth("user pass extra"));
  EXPECT_FALSE(parse_redis_auth("user\npass"));
  EXPECT_FALSE(parse_redis_auth(std::string("pa\0ss", 5)));
  EXPECT_TRUE(parse_redis_auth(std::string(kMaxAuthFileBytes, 'p')));
  EXPECT_EQ(parse_redis_auth(std::string(kMaxAuthFileBytes + 1, 'p')).code(), Errc::too_large);
}

TEST(ClusterConfig, AuthErrorsNeverQuoteTheFile) {
  const std::string secret = "hunter2-hunter2";
  for (const std::string& contents :
       {secret + " " + secret + " " + secret, secret + "\n" + secret, secret + "\x01"}) {
    auto auth = parse_redis_auth(contents);
    ASSERT_FALSE(auth);
    EXPECT_EQ(auth.reason().find("hunter2"), std::string::npos) << auth.reason();
  }
}

TEST(ClusterConfig, BackoffGrowsToItsCeilingWithJitter) {
  ReconnectBackoff backoff;
  std::int64_t previous_low = 0;
  for (int i = 0; i < 12; i++) {
    const std::int64_t low = backoff.next(0.0);
    EXPECT_GE(low, kMinReconnectDelayMs);
    EXPECT_LE(low, kMaxReconnectDelayMs);
    EXPECT_GE(low, previous_low);
    previous_low = low;
  }
  // At the ceiling: from half of it to all of it.
  EXPECT_EQ(backoff.next(0.0), kMaxReconnectDelayMs / 2);
  EXPECT_EQ(backoff.next(0.999999), kMaxReconnectDelayMs - 1);
  EXPECT_LE(backoff.next(1.0), kMaxReconnectDelayMs);
  backoff.reset();
  EXPECT_EQ(backoff.next(0.0), kMinReconnectDelayMs);
  EXPECT_LE(backoff.next(0.999999), 4 * kMinReconnectDelayMs);
}

TEST(ClusterConfig, LeaseGoesToOneWorkerAndIsTakenFromTheDead) {
  const ProcessIdentity self{100, 5};
  const ProcessIdentity other{200, 7};
  const std::int64_t now = 10'000;
  EXPECT_EQ(decide_lease({{}, 0}, self, false, now), LeaseAction::take);
  EXPECT_EQ(decide_lease({self, now - 1}, self, true, now), LeaseAction::renew);
  EXPECT_EQ(decide_lease({other, now + 1}, self, true, now), LeaseAction::wait);
  // Lapsed (its owner stalled), or its owner is gone: taken at once.
  EXPECT_EQ(decide_lease({other, now}, self, true, now), LeaseAction::take_over);
  EXPECT_EQ(decide_lease({other, now + kLeaseMs}, self, false, now), LeaseAction::take_over);
  // Our pid reused from a dead owner is not us.
  EXPECT_EQ(decide_lease({{100, 4}, now + kLeaseMs}, self, false, now), LeaseAction::take_over);
}

}  // namespace
}  // namespace presence::cluster
