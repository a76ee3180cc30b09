// presence_allowed_origins self | * | ORIGIN ...;   (default: self)
// The pages whose browsers may open a socket here, checked at the handshake
// as Phoenix's check_origin does.
#include <new>

#include "ngx_presence_guard.hpp"
#include "ngx_presence_origins.hpp"
#include "presence/origin.hpp"

namespace presence::ngx {
namespace {

const presence::ws::OriginPolicy kSelfOnly = presence::ws::OriginPolicy::self_only();

void delete_policy(void* data) noexcept {
  delete static_cast<presence::ws::OriginPolicy*>(data);
}

}  // namespace

const presence::ws::OriginPolicy* default_origins() noexcept {
  return &kSelfOnly;
}

char* set_allowed_origins(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* plcf = static_cast<LocConf*>(conf);
  if (plcf->origins != NGX_CONF_UNSET_PTR) return const_cast<char*>("is duplicate");
  ngx_pool_cleanup_t* cln = ngx_pool_cleanup_add(cf->pool, 0);
  if (cln == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
  auto* policy = new (std::nothrow) presence::ws::OriginPolicy();
  if (policy == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
  cln->handler = delete_policy;
  cln->data = policy;
  plcf->origins = policy;

  ngx_str_t* args = static_cast<ngx_str_t*>(cf->args->elts);
  return guarded(cf->log, NGX_LOG_EMERG, "presence_allowed_origins",
                 static_cast<char*>(NGX_CONF_ERROR), [&]() -> char* {
                   for (ngx_uint_t i = 1; i < cf->args->nelts; i++) {
                     const presence::Status added = policy->add(ngx_view(args[i]));
                     if (!added) {
                       ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                          "\"%V\" directive invalid origin \"%V\": %s", &cmd->name,
                                          &args[i], added.reason().c_str());
                       return static_cast<char*>(NGX_CONF_ERROR);
                     }
                   }
                   return NGX_CONF_OK;
                 });
}

}  // namespace presence::ngx
