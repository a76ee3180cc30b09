// Configuration of the presence module: what the directives in
// ngx_http_presence_module.cpp fill in, shared by the rest of the glue.
#pragma once

#include <memory>

#include "ngx_presence_nginx.hpp"

namespace presence::jwt {
class KeyRing;
}
namespace presence::ws {
class OriginPolicy;
}
namespace presence {
class Catalog;
}

namespace presence::ngx {

struct ClusterConf;

// What a location answers for, set by the location-level directives.
enum class Endpoint : ngx_uint_t { none = 0, shopper, admin, admin_token, demo_token, metrics };

struct MainConf {
  ngx_shm_zone_t* zone;             // presence_zone
  ngx_str_t node_name;              // presence_zone ... node=
  size_t change_log_bytes;          // presence_zone ... change_log=
  size_t tombstones;                // presence_zone ... tombstones=
  time_t history_seconds;           // presence_history: per-second window
  time_t history_minutes;           // presence_history: per-minute window, in seconds
  ngx_msec_t broadcast_interval;    // presence_broadcast_interval
  time_t jwt_leeway;                // presence_jwt_leeway
  presence::jwt::KeyRing* keyring;  // presence_jwt_key (owned by the cycle pool)
  ngx_uint_t stats_top;             // presence_stats_top
  ngx_uint_t max_strings;           // presence_max_strings (0: the zone's string table slots)
  // presence_catalog: the handle is freed with the cycle pool, the catalogue
  // with the last tracker handle that holds it.
  std::shared_ptr<const presence::Catalog>* catalog;
  // presence_cluster, presence_redis (owned by the cycle pool); null: a single node.
  ClusterConf* cluster;
  ngx_msec_t cluster_batch;      // presence_cluster_batch
  ngx_msec_t cluster_heartbeat;  // presence_cluster_heartbeat
  ngx_msec_t cluster_down;       // presence_cluster_down
  ngx_msec_t cluster_permdown;   // presence_cluster_permdown
};

struct LocConf {
  Endpoint endpoint;
  ngx_msec_t idle_timeout;  // presence_idle_timeout
  size_t max_message;       // presence_max_message
  ngx_uint_t max_channels;  // presence_max_channels
  size_t send_buffer;       // presence_send_buffer
  time_t token_ttl;         // presence_token_ttl
  ngx_str_t token_kid;      // presence_token_key
  ngx_str_t jwt_issuer;     // presence_jwt_issuer; empty: iss not checked
  ngx_str_t jwt_audience;   // presence_jwt_audience; empty: a token with aud is refused
  const presence::ws::OriginPolicy* origins;  // presence_allowed_origins (owned by the cycle pool)
};

// Defaults, named once.
inline constexpr ngx_msec_t kDefaultBroadcastIntervalMs = 100;
inline constexpr ngx_msec_t kDefaultIdleTimeoutMs = 60000;  // Phoenix's default
inline constexpr size_t kDefaultMaxMessage = 64 * 1024;
inline constexpr ngx_uint_t kDefaultMaxChannels = 16;
inline constexpr size_t kDefaultSendBuffer = 1024 * 1024;
inline constexpr time_t kDefaultJwtLeeway = 30;
inline constexpr time_t kDefaultTokenTtl = 300;
inline constexpr ngx_uint_t kDefaultMaxStrings = 0;  // as many as the zone's string table has slots
// The change log admins' presence feeds read from: a sixteenth of the zone,
// from 4 MiB to 64 MiB (at most a quarter of a small zone). At ~250 bytes a change, 32 MiB (a 512m
// zone) holds about a second of changes at 50,000 updates/s, so an admin whose socket was busy for
// a few ticks catches up from the log instead of a full resync.
inline constexpr size_t kMinDefaultChangeLog = 4 * 1024 * 1024;
inline constexpr size_t kMaxDefaultChangeLog = 64 * 1024 * 1024;
inline constexpr size_t kDefaultChangeLog = kMinDefaultChangeLog;
// Removals remembered for delta extraction: a single node's feeds need few; a
// cluster's peers catch up from them, about 5 s of removals at 50,000/s.
inline constexpr size_t kDefaultTombstones = 16384;
inline constexpr size_t kDefaultClusterTombstones = 262144;
inline constexpr size_t kMaxTombstones = 16 * 1024 * 1024;
// Phoenix.Tracker-like timing, faster: a change is seen on every node within
// a batch period; a silent node is hidden after `down`, forgotten after `permdown`.
inline constexpr ngx_msec_t kDefaultClusterBatchMs = 50;
inline constexpr ngx_msec_t kDefaultClusterHeartbeatMs = 1000;
inline constexpr ngx_msec_t kDefaultClusterDownMs = 5000;
inline constexpr ngx_msec_t kDefaultClusterPermdownMs = 20 * 60 * 1000;

}  // namespace presence::ngx

extern "C" {
extern ngx_module_t ngx_http_presence_module;
}
