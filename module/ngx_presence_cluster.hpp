// Replication between nginx nodes through Redis: the worker that holds the
// zone's lease owns the Redis link and drives the cluster protocol node.
#pragma once

#include <optional>
#include <string>

#include "ngx_presence_conf.hpp"
#include "ngx_presence_nginx.hpp"
#include "presence/cluster_config.hpp"
#include "presence/cluster_message.hpp"
#include "presence/cluster_status.hpp"

namespace presence::ngx {

// nullptr when this configuration has no presence_cluster.
const presence::cluster::Status* cluster_status() noexcept;

// presence_cluster and presence_redis, read by the master at configuration
// time (owned by the cycle's pool, which wipes the secrets with it).
struct ClusterConf {
  std::string name;  // empty: presence_redis without presence_cluster
  presence::cluster::SecretKey key;
  bool has_redis = false;
  presence::cluster::RedisAddress redis;
  std::optional<presence::cluster::RedisAuth> auth;
  ~ClusterConf();
};

// What the zone keeps for the cluster, shared by every worker: the lease on
// the Redis link, the own clock already published, and the owner's status.
struct ClusterShared {
  ngx_atomic_t lease_pid;  // 0: nobody holds the lease
  ngx_atomic_t lease_start_time;
  ngx_atomic_t lease_until_ms;
  ngx_atomic_t cursor;
  presence::cluster::Status status;
};

// Directive handlers (ngx_presence_cluster_conf.cpp):
// presence_cluster NAME secret=FILE;   presence_redis ADDRESS [auth=FILE];
char* set_cluster(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* set_redis(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
// Once the http block is read: what needs what, and the timing knobs' order.
char* check_cluster_conf(ngx_conf_t* cf, MainConf* pmcf) noexcept;

// Worker start and exit, the master's exit (ngx_presence_cluster.cpp).
void cluster_worker_start(ngx_cycle_t* cycle) noexcept;
void cluster_worker_exit(ngx_cycle_t* cycle) noexcept;
void cluster_master_exit(ngx_cycle_t* cycle) noexcept;

}  // namespace presence::ngx
