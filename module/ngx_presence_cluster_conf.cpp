// presence_cluster NAME secret=FILE;
// presence_redis IPV4:PORT | [IPV6]:PORT | unix:/PATH [auth=FILE];
// presence_cluster_batch / _heartbeat / _down / _permdown TIME;
// Files are read once, by the master, at configuration time: a missing,
// unreadable, short or malformed one fails `nginx -t` naming the directive
// and the file, never quoting what it holds.
#include <sodium.h>

#include <new>
#include <string>
#include <utility>

#include "ngx_presence_cluster.hpp"
#include "ngx_presence_guard.hpp"

namespace presence::ngx {
namespace {

void destroy_cluster_conf(void* data) noexcept {
  static_cast<ClusterConf*>(data)->~ClusterConf();
}

ClusterConf* cluster_conf_of(ngx_conf_t* cf, MainConf* pmcf) noexcept {
  if (pmcf->cluster != nullptr) return pmcf->cluster;
  ngx_pool_cleanup_t* cleanup = ngx_pool_cleanup_add(cf->pool, sizeof(ClusterConf));
  if (cleanup == nullptr) return nullptr;
  pmcf->cluster = new (cleanup->data) ClusterConf{};
  cleanup->handler = destroy_cluster_conf;
  return pmcf->cluster;
}

char* conf_error() {
  return static_cast<char*>(NGX_CONF_ERROR);
}

// The file's full name (relative to the configuration's folder, like
// ssl_certificate), or null after logging.
bool full_name(ngx_conf_t* cf, ngx_str_t* path) {
  return ngx_conf_full_name(cf->cycle, path, 1) == NGX_OK;
}

void wipe(std::string& s) noexcept {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
}

}  // namespace

ClusterConf::~ClusterConf() {
  sodium_memzero(key.bytes.data(), key.bytes.size());
  if (auth) {
    wipe(auth->user);
    wipe(auth->password);
  }
}

char* set_cluster(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* pmcf = static_cast<MainConf*>(conf);
  ngx_str_t* args = static_cast<ngx_str_t*>(cf->args->elts);
  if (pmcf->cluster != nullptr && !pmcf->cluster->name.empty())
    return const_cast<char*>("is duplicate");
  const std::string_view name = ngx_view(args[1]);
  if (!presence::cluster::valid_cluster_name(name)) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\" directive invalid cluster name \"%V\": 1 to %uz bytes of "
                       "[A-Za-z0-9._-]",
                       &cmd->name, &args[1], presence::cluster::kMaxClusterNameBytes);
    return conf_error();
  }
  const std::string_view secret_arg = ngx_view(args[2]);
  if (!secret_arg.starts_with("secret=") || secret_arg.size() == 7) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\" directive invalid parameter \"%V\": expected secret=FILE",
                       &cmd->name, &args[2]);
    return conf_error();
  }
  ngx_str_t path{args[2].len - 7, args[2].data + 7};
  if (!full_name(cf, &path)) return conf_error();
  ClusterConf* cluster = cluster_conf_of(cf, pmcf);
  if (cluster == nullptr) return conf_error();

  return guarded(cf->log, NGX_LOG_EMERG, "presence_cluster", conf_error(), [&]() -> char* {
    presence::Result<std::string> contents = presence::cluster::read_config_file(
        std::string(ngx_view(path)), presence::cluster::kMaxSecretFileBytes);
    if (!contents) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive secret file \"%V\" %s", &cmd->name,
                         &path, contents.reason().c_str());
      return conf_error();
    }
    presence::Result<presence::cluster::SecretKey> key = presence::cluster::derive_key(*contents);
    wipe(*contents);
    if (!key) {
      // The reason is ours to write: nothing of the file may reach a log.
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                         "\"%V\" directive secret file \"%V\" must hold at least %uz bytes "
                         "(surrounding whitespace excluded)",
                         &cmd->name, &path, presence::cluster::kMinSecretBytes);
      return conf_error();
    }
    cluster->name = std::string(name);
    cluster->key = *key;
    sodium_memzero(key->bytes.data(), key->bytes.size());
    return NGX_CONF_OK;
  });
}

char* set_redis(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* pmcf = static_cast<MainConf*>(conf);
  ngx_str_t* args = static_cast<ngx_str_t*>(cf->args->elts);
  if (pmcf->cluster != nullptr && pmcf->cluster->has_redis)
    return const_cast<char*>("is duplicate");
  ClusterConf* cluster = cluster_conf_of(cf, pmcf);
  if (cluster == nullptr) return conf_error();

  return guarded(cf->log, NGX_LOG_EMERG, "presence_redis", conf_error(), [&]() -> char* {
    presence::Result<presence::cluster::RedisAddress> address =
        presence::cluster::parse_redis_address(ngx_view(args[1]));
    if (!address) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive invalid address \"%V\": %s",
                         &cmd->name, &args[1], address.reason().c_str());
      return conf_error();
    }
    if (cf->args->nelts == 3) {
      const std::string_view auth_arg = ngx_view(args[2]);
      if (!auth_arg.starts_with("auth=") || auth_arg.size() == 5) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" directive invalid parameter \"%V\": expected auth=FILE",
                           &cmd->name, &args[2]);
        return conf_error();
      }
      ngx_str_t path{args[2].len - 5, args[2].data + 5};
      if (!full_name(cf, &path)) return conf_error();
      presence::Result<std::string> contents = presence::cluster::read_config_file(
          std::string(ngx_view(path)), presence::cluster::kMaxAuthFileBytes);
      if (!contents) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive auth file \"%V\" %s", &cmd->name,
                           &path, contents.reason().c_str());
        return conf_error();
      }
      presence::Result<presence::cluster::RedisAuth> auth =
          presence::cluster::parse_redis_auth(*contents);
      wipe(*contents);
      if (!auth) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive auth file \"%V\": %s",
                           &cmd->name, &path, auth.reason().c_str());
        return conf_error();
      }
      cluster->auth = std::move(*auth);
    }
    cluster->redis = std::move(*address);
    cluster->has_redis = true;
    return NGX_CONF_OK;
  });
}

char* check_cluster_conf(ngx_conf_t* cf, MainConf* pmcf) noexcept {
  ClusterConf* cluster = pmcf->cluster;
  const bool clustered = cluster != nullptr && !cluster->name.empty();
  const std::pair<const char*, ngx_msec_t> knobs[] = {
      {"presence_cluster_batch", pmcf->cluster_batch},
      {"presence_cluster_heartbeat", pmcf->cluster_heartbeat},
      {"presence_cluster_down", pmcf->cluster_down},
      {"presence_cluster_permdown", pmcf->cluster_permdown}};
  for (const auto& [directive, value] : knobs) {
    if (!clustered && value != NGX_CONF_UNSET_MSEC) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%s\" needs \"presence_cluster\"", directive);
      return conf_error();
    }
  }
  ngx_conf_init_msec_value(pmcf->cluster_batch, kDefaultClusterBatchMs);
  ngx_conf_init_msec_value(pmcf->cluster_heartbeat, kDefaultClusterHeartbeatMs);
  ngx_conf_init_msec_value(pmcf->cluster_down, kDefaultClusterDownMs);
  ngx_conf_init_msec_value(pmcf->cluster_permdown, kDefaultClusterPermdownMs);
  if (!clustered) {
    if (cluster != nullptr && cluster->has_redis) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"presence_redis\" needs \"presence_cluster\"");
      return conf_error();
    }
    return NGX_CONF_OK;
  }
  if (!cluster->has_redis) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"presence_cluster\" needs \"presence_redis\": the address of the Redis "
                       "the nodes share");
    return conf_error();
  }
  if (pmcf->zone == nullptr) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"presence_cluster\" needs \"presence_zone\": the zone it replicates");
    return conf_error();
  }
  if (pmcf->node_name.len == 0) {
    // Every node of a cluster under the default name would be one replica.
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"presence_cluster\" needs \"presence_zone ... node=NAME\": a name "
                       "of its own for each node of the cluster");
    return conf_error();
  }
  if (pmcf->cluster_batch < 1 || pmcf->cluster_batch > pmcf->cluster_heartbeat) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"presence_cluster_batch\" must be from 1ms to "
                       "\"presence_cluster_heartbeat\" (%Mms)",
                       pmcf->cluster_heartbeat);
    return conf_error();
  }
  if (pmcf->cluster_down <= 2 * pmcf->cluster_heartbeat) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"presence_cluster_down\" must be more than twice "
                       "\"presence_cluster_heartbeat\" (%Mms)",
                       pmcf->cluster_heartbeat);
    return conf_error();
  }
  if (pmcf->cluster_permdown <= pmcf->cluster_down) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"presence_cluster_permdown\" must be more than "
                       "\"presence_cluster_down\" (%Mms)",
                       pmcf->cluster_down);
    return conf_error();
  }
  return NGX_CONF_OK;
}

}  // namespace presence::ngx
