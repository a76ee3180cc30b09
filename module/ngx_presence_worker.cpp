// Per-worker start and exit.
#include "ngx_presence_handlers.hpp"

namespace presence::ngx {

ngx_int_t init_process(ngx_cycle_t* cycle) noexcept {
  return NGX_OK;
}

void exit_process(ngx_cycle_t* cycle) noexcept {}

}  // namespace presence::ngx
