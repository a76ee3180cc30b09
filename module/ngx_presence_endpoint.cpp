// The content handler of every presence location, dispatching on its role,
// and the configuration checks that tie a location to the http-level setup.
#include "ngx_presence_endpoint.hpp"

#include "ngx_presence_handshake.hpp"
#include "ngx_presence_keys.hpp"
#include "ngx_presence_metrics.hpp"
#include "ngx_presence_socket.hpp"
#include "ngx_presence_tokens.hpp"
#include "presence/keyring.hpp"

namespace presence::ngx {

ngx_int_t endpoint_handler(ngx_http_request_t* r) noexcept {
  auto* plcf = static_cast<LocConf*>(ngx_http_get_module_loc_conf(r, ngx_http_presence_module));
  switch (plcf->endpoint) {
    case Endpoint::shopper:
    case Endpoint::admin:
      return socket_handler(r, plcf);
    case Endpoint::admin_token:
    case Endpoint::demo_token:
      return token_handler(r, plcf);
    case Endpoint::metrics:
      return metrics_handler(r);
    case Endpoint::none:
      break;
  }
  return NGX_DECLINED;
}

char* check_endpoint_conf(ngx_conf_t* cf, LocConf* plcf) noexcept {
  if (plcf->endpoint == Endpoint::none) return NGX_CONF_OK;
  auto* pmcf =
      static_cast<MainConf*>(ngx_http_conf_get_module_main_conf(cf, ngx_http_presence_module));
  if (pmcf->zone == nullptr) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "presence locations need a \"presence_zone\" at the http level");
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  if (plcf->endpoint == Endpoint::metrics) return NGX_CONF_OK;
  if (pmcf->keyring == nullptr) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "presence sockets and token endpoints need a \"presence_jwt_key\"");
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  if (plcf->endpoint == Endpoint::admin_token || plcf->endpoint == Endpoint::demo_token) {
    const presence::jwt::Key* key = signing_key(pmcf, plcf->token_kid);
    if (key == nullptr) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                         "\"presence_token_key\" \"%V\" names no key that can sign (an HS256 "
                         "secret or an Ed25519 private key with that kid)",
                         &plcf->token_kid);
      return static_cast<char*>(NGX_CONF_ERROR);
    }
    // Its tokens would be refused at the socket: say so now.
    const bool admin = plcf->endpoint == Endpoint::admin_token;
    if (!key->roles.contains(admin ? presence::jwt::Role::admin : presence::jwt::Role::shopper)) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                         "\"presence_token_key\" \"%V\" cannot sign %s tokens: the key has "
                         "roles=%*s",
                         &plcf->token_kid, admin ? "admin" : "shopper", key->roles.name().size(),
                         key->roles.name().data());
      return static_cast<char*>(NGX_CONF_ERROR);
    }
  }
  return NGX_CONF_OK;
}

}  // namespace presence::ngx
