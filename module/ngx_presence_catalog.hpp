// ngx_presence_catalog.cpp: presence_catalog, the products and sizes carts may name.
#pragma once

#include "ngx_presence_conf.hpp"

namespace presence::ngx {

char* set_catalog(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;

}  // namespace presence::ngx
