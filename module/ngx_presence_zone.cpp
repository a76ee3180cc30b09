// The shared-memory zone that holds the tracker for every worker.
#include "ngx_presence_handlers.hpp"

namespace presence::ngx {
namespace {

ngx_int_t init_zone(ngx_shm_zone_t* shm_zone, void* data) noexcept {
  shm_zone->data = data != nullptr ? data : shm_zone->shm.addr;
  return NGX_OK;
}

}  // namespace

char* zone_configure(ngx_conf_t* cf, MainConf* pmcf) noexcept {
  pmcf->zone->init = init_zone;
  pmcf->zone->data = pmcf;
  return NGX_CONF_OK;
}

}  // namespace presence::ngx
