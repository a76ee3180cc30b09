// The presence_jwt_key directive and the key ring it fills.
#pragma once

#include "ngx_presence_conf.hpp"

namespace presence::jwt {
struct Key;
}

namespace presence::ngx {

char* set_jwt_key(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
// The key named by presence_token_key, if it can sign.
const presence::jwt::Key* signing_key(const MainConf* pmcf, ngx_str_t kid) noexcept;

}  // namespace presence::ngx
