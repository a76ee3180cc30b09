// Entry points the directive table and the module definition hand to nginx;
// each is defined in the file named for what it does.
#pragma once

#include "ngx_presence_conf.hpp"

namespace presence::jwt {
struct Key;
}

namespace presence::ngx {

// ngx_presence_zone.cpp
char* zone_configure(ngx_conf_t* cf, MainConf* pmcf) noexcept;

// ngx_presence_keys.cpp
char* set_jwt_key(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
// The key named by presence_token_key, if it can sign.
const presence::jwt::Key* signing_key(const MainConf* pmcf, ngx_str_t kid) noexcept;

// ngx_presence_origins.cpp: presence_allowed_origins, and its default (self).
char* set_allowed_origins(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
const presence::ws::OriginPolicy* default_origins() noexcept;

// ngx_presence_log.cpp: the $presence_* variables and the redacting error log.
ngx_int_t add_log_variables(ngx_conf_t* cf) noexcept;
// Remembers the error log of the location being merged, to redact it.
ngx_int_t note_location_log(ngx_conf_t* cf) noexcept;
ngx_int_t init_module(ngx_cycle_t* cycle) noexcept;

// ngx_presence_catalog.cpp
char* set_catalog(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;

// ngx_presence_endpoint.cpp
ngx_int_t endpoint_handler(ngx_http_request_t* r) noexcept;
char* check_endpoint_conf(ngx_conf_t* cf, LocConf* plcf) noexcept;

// ngx_presence_worker.cpp
ngx_int_t init_process(ngx_cycle_t* cycle) noexcept;
void exit_process(ngx_cycle_t* cycle) noexcept;

}  // namespace presence::ngx
