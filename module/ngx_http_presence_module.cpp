// The module definition and its directive table: every directive of the
// presence module is declared and validated here; handlers live in their own
// files (socket, zone, token endpoint, metrics).
#include "ngx_presence_catalog.hpp"
#include "ngx_presence_cluster.hpp"
#include "ngx_presence_conf.hpp"
#include "ngx_presence_endpoint.hpp"
#include "ngx_presence_keys.hpp"
#include "ngx_presence_log.hpp"
#include "ngx_presence_origins.hpp"
#include "ngx_presence_worker.hpp"
#include "ngx_presence_zone.hpp"
#include "presence/history.hpp"
#include "presence/tracker_types.hpp"

#include <algorithm>
#include <cstring>

namespace presence::ngx {
namespace {

constexpr size_t kMinZoneSize = 1024 * 1024;
constexpr size_t kMaxNodeName = 64;
constexpr ngx_uint_t kMaxChannelsLimit = 1024;
constexpr size_t kMinMaxMessage = 1024;
constexpr size_t kMinSendBuffer = 4 * 1024;
constexpr size_t kSmallZoneSize = 2 * 1024 * 1024;
constexpr time_t kSmallZoneHistorySeconds = 600;

bool is_node_name(ngx_str_t s) {
  if (s.len == 0 || s.len > kMaxNodeName) return false;
  for (size_t i = 0; i < s.len; i++) {
    u_char c = s.data[i];
    if (!(isalnum(c) || c == '.' || c == '_' || c == '-')) return false;
  }
  return true;
}

bool starts_with(ngx_str_t s, const char* prefix, ngx_str_t* rest) {
  size_t n = std::strlen(prefix);
  if (s.len < n || ngx_strncmp(s.data, prefix, n) != 0) return false;
  rest->data = s.data + n;
  rest->len = s.len - n;
  return true;
}

// presence_zone NAME:SIZE [node=NAME] [change_log=SIZE] [tombstones=N];
char* set_zone(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* pmcf = static_cast<MainConf*>(conf);
  if (pmcf->zone != nullptr) return const_cast<char*>("is duplicate");

  ngx_str_t* args = static_cast<ngx_str_t*>(cf->args->elts);
  ngx_str_t spec = args[1];
  u_char* colon = static_cast<u_char*>(ngx_strlchr(spec.data, spec.data + spec.len, ':'));
  if (colon == nullptr || colon == spec.data) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\" directive invalid zone \"%V\": expected NAME:SIZE", &cmd->name,
                       &spec);
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  ngx_str_t name{static_cast<size_t>(colon - spec.data), spec.data};
  ngx_str_t size_str{static_cast<size_t>(spec.data + spec.len - colon - 1), colon + 1};
  ssize_t size = ngx_parse_size(&size_str);
  if (size == NGX_ERROR) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive invalid zone size \"%V\"",
                       &cmd->name, &size_str);
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  if (static_cast<size_t>(size) < kMinZoneSize) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\" directive zone \"%V\" is too small: %z bytes, at least %uz",
                       &cmd->name, &name, size, kMinZoneSize);
    return static_cast<char*>(NGX_CONF_ERROR);
  }

  for (ngx_uint_t i = 2; i < cf->args->nelts; i++) {
    ngx_str_t value;
    if (starts_with(args[i], "node=", &value)) {
      if (!is_node_name(value)) {
        ngx_conf_log_error(
            NGX_LOG_EMERG, cf, 0,
            "\"%V\" directive invalid node name \"%V\": 1 to %uz bytes of [A-Za-z0-9._-]",
            &cmd->name, &value, kMaxNodeName);
        return static_cast<char*>(NGX_CONF_ERROR);
      }
      pmcf->node_name = value;
    } else if (starts_with(args[i], "change_log=", &value)) {
      ssize_t n = ngx_parse_size(&value);
      if (n == NGX_ERROR || n < 64 * 1024 || n > size / 2) {
        ngx_conf_log_error(
            NGX_LOG_EMERG, cf, 0,
            "\"%V\" directive invalid change_log \"%V\": from 64k to half the zone size",
            &cmd->name, &value);
        return static_cast<char*>(NGX_CONF_ERROR);
      }
      pmcf->change_log_bytes = static_cast<size_t>(n);
    } else if (starts_with(args[i], "tombstones=", &value)) {
      const ngx_int_t n = ngx_atoi(value.data, value.len);
      if (n == NGX_ERROR || static_cast<size_t>(n) < presence::kMinTombstoneLogEntries ||
          static_cast<size_t>(n) > kMaxTombstones) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" directive invalid tombstones \"%V\": a count from %uz to %uz",
                           &cmd->name, &value, presence::kMinTombstoneLogEntries, kMaxTombstones);
        return static_cast<char*>(NGX_CONF_ERROR);
      }
      pmcf->tombstones = static_cast<size_t>(n);
    } else {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive invalid parameter \"%V\"",
                         &cmd->name, &args[i]);
      return static_cast<char*>(NGX_CONF_ERROR);
    }
  }

  if (pmcf->change_log_bytes == NGX_CONF_UNSET_SIZE) {
    // A small zone keeps three quarters of itself for presences.
    pmcf->change_log_bytes = std::min(
        std::clamp(static_cast<size_t>(size) / 16, kMinDefaultChangeLog, kMaxDefaultChangeLog),
        static_cast<size_t>(size) / 4);
  }

  pmcf->zone =
      ngx_shared_memory_add(cf, &name, static_cast<size_t>(size), &ngx_http_presence_module);
  if (pmcf->zone == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
  if (pmcf->zone->data != nullptr) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive zone \"%V\" is already used",
                       &cmd->name, &name);
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  return zone_configure(cf, pmcf);
}

// presence_socket shopper|admin;   presence_admin_token;   presence_metrics; ...
// presence_history PER_SECOND_WINDOW PER_MINUTE_WINDOW; e.g. 1h 24h
char* set_history(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* pmcf = static_cast<MainConf*>(conf);
  if (pmcf->history_seconds != NGX_CONF_UNSET) return const_cast<char*>("is duplicate");
  ngx_str_t* args = static_cast<ngx_str_t*>(cf->args->elts);
  const time_t seconds = ngx_parse_time(&args[1], 1);
  const time_t minutes = ngx_parse_time(&args[2], 1);
  if (seconds == NGX_ERROR || seconds < static_cast<time_t>(presence::kMinHistorySeconds) ||
      seconds > static_cast<time_t>(presence::kMaxHistorySeconds)) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\" directive invalid per-second window \"%V\": from 1m to 6h",
                       &cmd->name, &args[1]);
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  if (minutes == NGX_ERROR || minutes % 60 != 0 ||
      minutes / 60 < static_cast<time_t>(presence::kMinHistoryMinutes) ||
      minutes / 60 > static_cast<time_t>(presence::kMaxHistoryMinutes)) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\" directive invalid per-minute window \"%V\": whole minutes "
                       "from 1h to 7d",
                       &cmd->name, &args[2]);
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  pmcf->history_seconds = seconds;
  pmcf->history_minutes = minutes;
  return NGX_CONF_OK;
}

char* set_endpoint(ngx_conf_t* cf, ngx_command_t* cmd, void* conf, Endpoint endpoint) noexcept {
  auto* plcf = static_cast<LocConf*>(conf);
  if (plcf->endpoint != Endpoint::none) return const_cast<char*>("is duplicate");
  plcf->endpoint = endpoint;
  auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(
      ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
  clcf->handler = endpoint_handler;
  return NGX_CONF_OK;
}

char* set_socket(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  ngx_str_t* args = static_cast<ngx_str_t*>(cf->args->elts);
  std::string_view role = ngx_view(args[1]);
  if (role == "shopper") return set_endpoint(cf, cmd, conf, Endpoint::shopper);
  if (role == "admin") return set_endpoint(cf, cmd, conf, Endpoint::admin);
  ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                     "\"%V\" directive invalid value \"%V\": expected shopper or admin", &cmd->name,
                     &args[1]);
  return static_cast<char*>(NGX_CONF_ERROR);
}

char* set_admin_token(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  return set_endpoint(cf, cmd, conf, Endpoint::admin_token);
}

char* set_demo_token(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  return set_endpoint(cf, cmd, conf, Endpoint::demo_token);
}

char* set_metrics(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  return set_endpoint(cf, cmd, conf, Endpoint::metrics);
}

// Bounds that ngx_conf_set_*_slot cannot express, checked in one place.
char* check_max_channels(ngx_conf_t* cf, void* post, void* data) noexcept {
  auto* n = static_cast<ngx_uint_t*>(data);
  if (*n < 1 || *n > kMaxChannelsLimit) return const_cast<char*>("must be from 1 to 1024");
  return NGX_CONF_OK;
}
ngx_conf_post_t max_channels_post = {check_max_channels};

char* check_max_message(ngx_conf_t* cf, void* post, void* data) noexcept {
  auto* n = static_cast<size_t*>(data);
  if (*n < kMinMaxMessage || *n > 16 * 1024 * 1024)
    return const_cast<char*>("must be from 1k to 16m");
  return NGX_CONF_OK;
}
ngx_conf_post_t max_message_post = {check_max_message};

char* check_send_buffer(ngx_conf_t* cf, void* post, void* data) noexcept {
  auto* n = static_cast<size_t*>(data);
  if (*n < kMinSendBuffer || *n > 64 * 1024 * 1024)
    return const_cast<char*>("must be from 4k to 64m");
  return NGX_CONF_OK;
}
ngx_conf_post_t send_buffer_post = {check_send_buffer};

char* check_positive_msec(ngx_conf_t* cf, void* post, void* data) noexcept {
  auto* n = static_cast<ngx_msec_t*>(data);
  if (*n == 0) return const_cast<char*>("must be positive");
  return NGX_CONF_OK;
}
ngx_conf_post_t positive_msec_post = {check_positive_msec};

char* check_positive_sec(ngx_conf_t* cf, void* post, void* data) noexcept {
  auto* n = static_cast<time_t*>(data);
  if (*n <= 0) return const_cast<char*>("must be positive");
  return NGX_CONF_OK;
}
ngx_conf_post_t positive_sec_post = {check_positive_sec};

char* check_stats_top(ngx_conf_t* cf, void* post, void* data) noexcept {
  auto* n = static_cast<ngx_uint_t*>(data);
  if (*n < 1 || *n > presence::kMaxStatsTop) return const_cast<char*>("must be from 1 to 1000");
  return NGX_CONF_OK;
}
ngx_conf_post_t stats_top_post = {check_stats_top};

char* check_max_strings(ngx_conf_t* cf, void* post, void* data) noexcept {
  auto* n = static_cast<ngx_uint_t*>(data);
  if (*n < 1 || *n > presence::kMaxStringsLimit) {
    return const_cast<char*>("must be from 1 to 16777216");
  }
  return NGX_CONF_OK;
}
ngx_conf_post_t max_strings_post = {check_max_strings};

constexpr ngx_uint_t kLoc = NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF;

ngx_command_t commands[] = {
    {ngx_string("presence_zone"), NGX_HTTP_MAIN_CONF | NGX_CONF_1MORE, set_zone,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("presence_cluster"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE2, set_cluster,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("presence_redis"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE12, set_redis,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("presence_cluster_batch"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_msec_slot, NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, cluster_batch), nullptr},
    {ngx_string("presence_cluster_heartbeat"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_msec_slot, NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, cluster_heartbeat),
     &positive_msec_post},
    {ngx_string("presence_cluster_down"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_msec_slot, NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, cluster_down),
     &positive_msec_post},
    {ngx_string("presence_cluster_permdown"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_msec_slot, NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, cluster_permdown),
     &positive_msec_post},
    {ngx_string("presence_history"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE2, set_history,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("presence_jwt_key"),
     NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE2 | NGX_CONF_TAKE3 | NGX_CONF_TAKE4, set_jwt_key,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("presence_jwt_issuer"), kLoc | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocConf, jwt_issuer), nullptr},
    {ngx_string("presence_jwt_audience"), kLoc | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocConf, jwt_audience), nullptr},
    {ngx_string("presence_allowed_origins"), kLoc | NGX_CONF_1MORE, set_allowed_origins,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("presence_jwt_leeway"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_sec_slot,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, jwt_leeway), nullptr},
    {ngx_string("presence_broadcast_interval"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_msec_slot, NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, broadcast_interval),
     &positive_msec_post},
    {ngx_string("presence_stats_top"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_num_slot,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, stats_top), &stats_top_post},
    {ngx_string("presence_max_strings"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_num_slot,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, max_strings), &max_strings_post},
    {ngx_string("presence_catalog"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, set_catalog,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("presence_socket"), NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1, set_socket,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("presence_admin_token"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, set_admin_token,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("presence_demo_token"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, set_demo_token,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("presence_metrics"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, set_metrics,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("presence_idle_timeout"), kLoc | NGX_CONF_TAKE1, ngx_conf_set_msec_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocConf, idle_timeout), &positive_msec_post},
    {ngx_string("presence_max_message"), kLoc | NGX_CONF_TAKE1, ngx_conf_set_size_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocConf, max_message), &max_message_post},
    {ngx_string("presence_max_channels"), kLoc | NGX_CONF_TAKE1, ngx_conf_set_num_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocConf, max_channels), &max_channels_post},
    {ngx_string("presence_send_buffer"), kLoc | NGX_CONF_TAKE1, ngx_conf_set_size_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocConf, send_buffer), &send_buffer_post},
    {ngx_string("presence_token_ttl"), kLoc | NGX_CONF_TAKE1, ngx_conf_set_sec_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocConf, token_ttl), &positive_sec_post},
    {ngx_string("presence_token_key"), kLoc | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocConf, token_kid), nullptr},
    ngx_null_command};

void* create_main_conf(ngx_conf_t* cf) noexcept {
  auto* pmcf = static_cast<MainConf*>(ngx_pcalloc(cf->pool, sizeof(MainConf)));
  if (pmcf == nullptr) return nullptr;
  pmcf->change_log_bytes = NGX_CONF_UNSET_SIZE;
  pmcf->tombstones = NGX_CONF_UNSET_SIZE;
  pmcf->cluster_batch = NGX_CONF_UNSET_MSEC;
  pmcf->cluster_heartbeat = NGX_CONF_UNSET_MSEC;
  pmcf->cluster_down = NGX_CONF_UNSET_MSEC;
  pmcf->cluster_permdown = NGX_CONF_UNSET_MSEC;
  pmcf->history_seconds = NGX_CONF_UNSET;
  pmcf->history_minutes = NGX_CONF_UNSET;
  pmcf->broadcast_interval = NGX_CONF_UNSET_MSEC;
  pmcf->jwt_leeway = NGX_CONF_UNSET;
  pmcf->stats_top = NGX_CONF_UNSET_UINT;
  pmcf->max_strings = NGX_CONF_UNSET_UINT;
  return pmcf;
}

char* init_main_conf(ngx_conf_t* cf, void* conf) noexcept {
  auto* pmcf = static_cast<MainConf*>(conf);
  ngx_conf_init_size_value(pmcf->change_log_bytes, kDefaultChangeLog);
  // The default hour of seconds (282 KB) would not leave a 1m zone room for
  // its presences: a zone under 2m keeps ten minutes of them.
  const bool small_zone = pmcf->zone != nullptr && pmcf->zone->shm.size < kSmallZoneSize;
  ngx_conf_init_value(pmcf->history_seconds,
                      small_zone ? kSmallZoneHistorySeconds
                                 : static_cast<time_t>(presence::kDefaultHistorySeconds));
  ngx_conf_init_value(pmcf->history_minutes,
                      static_cast<time_t>(presence::kDefaultHistoryMinutes * 60));
  ngx_conf_init_msec_value(pmcf->broadcast_interval, kDefaultBroadcastIntervalMs);
  ngx_conf_init_value(pmcf->jwt_leeway, kDefaultJwtLeeway);
  ngx_conf_init_uint_value(pmcf->stats_top, presence::kDefaultStatsTop);
  ngx_conf_init_uint_value(pmcf->max_strings, kDefaultMaxStrings);
  if (pmcf->jwt_leeway < 0 || pmcf->jwt_leeway > 3600) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"presence_jwt_leeway\" must be from 0 to 1h");
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  // Before the node name's default: a cluster's nodes must be named.
  if (check_cluster_conf(cf, pmcf) != NGX_CONF_OK) return static_cast<char*>(NGX_CONF_ERROR);
  if (pmcf->node_name.len == 0) {
    ngx_str_set(&pmcf->node_name, "local");  // a macro of two statements
  }
  // Known only now: presence_cluster may follow presence_zone.
  const bool clustered = pmcf->cluster != nullptr && !pmcf->cluster->name.empty();
  ngx_conf_init_size_value(pmcf->tombstones,
                           clustered ? kDefaultClusterTombstones : kDefaultTombstones);
  return NGX_CONF_OK;
}

void* create_loc_conf(ngx_conf_t* cf) noexcept {
  auto* plcf = static_cast<LocConf*>(ngx_pcalloc(cf->pool, sizeof(LocConf)));
  if (plcf == nullptr) return nullptr;
  plcf->endpoint = Endpoint::none;
  plcf->idle_timeout = NGX_CONF_UNSET_MSEC;
  plcf->max_message = NGX_CONF_UNSET_SIZE;
  plcf->max_channels = NGX_CONF_UNSET_UINT;
  plcf->send_buffer = NGX_CONF_UNSET_SIZE;
  plcf->token_ttl = NGX_CONF_UNSET;
  plcf->origins = static_cast<const presence::ws::OriginPolicy*>(NGX_CONF_UNSET_PTR);
  return plcf;
}

char* merge_loc_conf(ngx_conf_t* cf, void* parent, void* child) noexcept {
  auto* prev = static_cast<LocConf*>(parent);
  auto* conf = static_cast<LocConf*>(child);
  ngx_conf_merge_msec_value(conf->idle_timeout, prev->idle_timeout, kDefaultIdleTimeoutMs);
  ngx_conf_merge_size_value(conf->max_message, prev->max_message, kDefaultMaxMessage);
  ngx_conf_merge_uint_value(conf->max_channels, prev->max_channels, kDefaultMaxChannels);
  ngx_conf_merge_size_value(conf->send_buffer, prev->send_buffer, kDefaultSendBuffer);
  ngx_conf_merge_value(conf->token_ttl, prev->token_ttl, kDefaultTokenTtl);
  ngx_conf_merge_str_value(conf->token_kid, prev->token_kid, "");
  ngx_conf_merge_str_value(conf->jwt_issuer, prev->jwt_issuer, "");
  ngx_conf_merge_str_value(conf->jwt_audience, prev->jwt_audience, "");
  ngx_conf_merge_ptr_value(conf->origins, prev->origins, default_origins());
  if (note_location_log(cf) != NGX_OK) return static_cast<char*>(NGX_CONF_ERROR);
  if (conf->send_buffer < conf->max_message) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"presence_send_buffer\" must be at least \"presence_max_message\"");
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  return check_endpoint_conf(cf, conf);
}

ngx_http_module_t module_ctx = {
    add_log_variables,  // preconfiguration
    nullptr,            // postconfiguration
    create_main_conf,   // create main configuration
    init_main_conf,     // init main configuration
    nullptr,            // create server configuration
    nullptr,            // merge server configuration
    create_loc_conf,    // create location configuration
    merge_loc_conf      // merge location configuration
};

}  // namespace
}  // namespace presence::ngx

extern "C" {
ngx_module_t ngx_http_presence_module = {NGX_MODULE_V1,
                                         &presence::ngx::module_ctx,
                                         presence::ngx::commands,
                                         NGX_HTTP_MODULE,
                                         nullptr,                             // init master
                                         presence::ngx::init_module,          // init module
                                         presence::ngx::init_process,         // init process
                                         nullptr,                             // init thread
                                         nullptr,                             // exit thread
                                         presence::ngx::exit_process,         // exit process
                                         presence::ngx::cluster_master_exit,  // exit master
                                         NGX_MODULE_V1_PADDING};
}
