// What each worker process does when it starts and exits.
#pragma once

#include "ngx_presence_nginx.hpp"

namespace presence::ngx {

ngx_int_t init_process(ngx_cycle_t* cycle) noexcept;
void exit_process(ngx_cycle_t* cycle) noexcept;

}  // namespace presence::ngx
