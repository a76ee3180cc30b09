// The content handler every presence location shares, and the configuration
// check that ties a location to the http-level setup.
#pragma once

#include "ngx_presence_conf.hpp"

namespace presence::ngx {

ngx_int_t endpoint_handler(ngx_http_request_t* r) noexcept;
char* check_endpoint_conf(ngx_conf_t* cf, LocConf* plcf) noexcept;

}  // namespace presence::ngx
