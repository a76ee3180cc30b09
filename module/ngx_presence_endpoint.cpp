// The content handler of every presence location, dispatching on its role.
#include "ngx_presence_handlers.hpp"

namespace presence::ngx {

ngx_int_t endpoint_handler(ngx_http_request_t* r) noexcept {
  return NGX_HTTP_BAD_REQUEST;
}

char* check_endpoint_conf(ngx_conf_t* cf, LocConf* plcf) noexcept {
  return NGX_CONF_OK;
}

}  // namespace presence::ngx
