// What the nginx module reads from its cluster directives and decides on its
// timers, kept free of nginx so that it is unit-tested: the cluster name, the
// Redis address and credentials, the reconnect backoff, and the lease that
// picks the one worker per node owning the Redis link.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "presence/process_identity.hpp"
#include "presence/result.hpp"

namespace presence::cluster {

// [A-Za-z0-9_.-]{1,kMaxClusterNameBytes} (cluster_message.hpp has the bound).
bool valid_cluster_name(std::string_view name);

// Longest unix socket path (sockaddr_un's sun_path, with its terminating NUL).
inline constexpr std::size_t kMaxUnixPathBytes = 107;

// Only numeric addresses: hiredis 0.14 resolves a name with a blocking call.
struct RedisAddress {
  enum class Kind : std::uint8_t { tcp, unix_socket };
  Kind kind = Kind::tcp;
  std::string host;  // numeric IPv4 or IPv6, without brackets
  int port = 0;
  std::string path;  // Kind::unix_socket
};
// "192.0.2.7:6379", "[2001:db8::7]:6379" or "unix:/run/redis/redis.sock".
Result<RedisAddress> parse_redis_address(std::string_view text);
// The address as written back in logs.
std::string describe(const RedisAddress& address);

// A secret or auth file is read whole, at configuration time: Errc::io when
// it cannot be, Errc::too_large past max_bytes.
Result<std::string> read_config_file(const std::string& path, std::size_t max_bytes);
inline constexpr std::size_t kMaxSecretFileBytes = 4096;

// An auth file longer than this is refused (a password file, not a blob).
inline constexpr std::size_t kMaxAuthFileBytes = 1024;

// `password` (requirepass) or `user password` (an ACL user), one line.
struct RedisAuth {
  std::string user;  // empty: AUTH with the password alone
  std::string password;
};
Result<RedisAuth> parse_redis_auth(std::string_view file_contents);

// Reconnect delays: exponential from kMinReconnectDelayMs up to
// kMaxReconnectDelayMs, jittered so that nodes do not reconnect in step.
inline constexpr std::int64_t kMinReconnectDelayMs = 100;
inline constexpr std::int64_t kMaxReconnectDelayMs = 5000;

class ReconnectBackoff {
 public:
  // The delay before the next attempt, in [ceiling/2, ceiling]; the ceiling
  // doubles after each call. `random` is uniform in [0, 1).
  std::int64_t next(double random) noexcept;
  // After a connection that worked: the next failure waits the least again.
  void reset() noexcept { ceiling_ = 2 * kMinReconnectDelayMs; }

 private:
  std::int64_t ceiling_ = 2 * kMinReconnectDelayMs;
};

// The lease on a node's Redis link, as the zone holds it. The owner renews it
// every kLeaseRenewMs; another worker takes it when it lapsed or its owner is
// no longer running (a SIGKILLed owner is replaced within kLeaseRenewMs).
inline constexpr std::int64_t kLeaseMs = 1000;
inline constexpr std::int64_t kLeaseRenewMs = 250;

struct Lease {
  ProcessIdentity owner;  // pid 0: nobody
  std::int64_t until_ms = 0;
};

enum class LeaseAction : std::uint8_t {
  wait,       // another running worker holds it
  renew,      // we hold it
  take,       // nobody holds it (first start, or released on reload)
  take_over,  // its holder died or let it lapse
};

// `owner_running`: is_running(seen.owner), asked by the caller (it reads /proc).
LeaseAction decide_lease(const Lease& seen, const ProcessIdentity& self, bool owner_running,
                         std::int64_t now_ms);

}  // namespace presence::cluster
