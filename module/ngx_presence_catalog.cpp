// presence_catalog FILE;
// The store's products and sizes, read once at configuration time by the
// master: a missing or malformed file fails `nginx -t` with the file named.
#include <memory>
#include <new>

#include "ngx_presence_catalog.hpp"
#include "ngx_presence_guard.hpp"
#include "presence/catalog.hpp"

namespace presence::ngx {
namespace {

using CatalogHandle = std::shared_ptr<const presence::Catalog>;

void delete_catalog(void* data) noexcept {
  delete static_cast<CatalogHandle*>(data);
}

}  // namespace

char* set_catalog(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* pmcf = static_cast<MainConf*>(conf);
  if (pmcf->catalog != nullptr) return const_cast<char*>("is duplicate");
  ngx_str_t path = static_cast<ngx_str_t*>(cf->args->elts)[1];
  // Relative to the configuration's folder, like ssl_certificate.
  if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) return static_cast<char*>(NGX_CONF_ERROR);
  ngx_pool_cleanup_t* cln = ngx_pool_cleanup_add(cf->pool, 0);
  if (cln == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
  return guarded(cf->log, NGX_LOG_EMERG, "presence_catalog", static_cast<char*>(NGX_CONF_ERROR),
                 [&]() -> char* {
                   presence::Result<presence::Catalog> catalog =
                       presence::Catalog::load(std::string(ngx_view(path)));
                   if (!catalog) {
                     ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive %s", &cmd->name,
                                        catalog.reason().c_str());
                     return static_cast<char*>(NGX_CONF_ERROR);
                   }
                   auto* handle = new CatalogHandle(
                       std::make_shared<const presence::Catalog>(std::move(catalog).value()));
                   cln->handler = delete_catalog;
                   cln->data = handle;
                   pmcf->catalog = handle;
                   return NGX_CONF_OK;
                 });
}

}  // namespace presence::ngx
