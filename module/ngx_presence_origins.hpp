// ngx_presence_origins.cpp: presence_allowed_origins, and its default (self).
#pragma once

#include "ngx_presence_conf.hpp"

namespace presence::ngx {

char* set_allowed_origins(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
const presence::ws::OriginPolicy* default_origins() noexcept;

}  // namespace presence::ngx
