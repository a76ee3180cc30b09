// presence_jwt_key FILE alg=hs256|eddsa [kid=ID];
#include "ngx_presence_handlers.hpp"

namespace presence::ngx {

char* set_jwt_key(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  return NGX_CONF_OK;
}

}  // namespace presence::ngx
