// presence_jwt_key FILE alg=hs256|eddsa [kid=ID] roles=shopper|admin|shopper,admin;
// Keys are read once, at configuration time, by the master: a missing,
// unreadable or malformed file fails `nginx -t` with the file named, and so
// does a key without roles or one key configured twice for different roles.
#include <new>
#include <string>

#include "ngx_presence_guard.hpp"
#include "ngx_presence_keys.hpp"
#include "presence/keyring.hpp"

namespace presence::ngx {
namespace {

void delete_keyring(void* data) noexcept {
  delete static_cast<presence::jwt::KeyRing*>(data);
}

presence::jwt::KeyRing* keyring_of(ngx_conf_t* cf, MainConf* pmcf) noexcept {
  if (pmcf->keyring != nullptr) return pmcf->keyring;
  ngx_pool_cleanup_t* cln = ngx_pool_cleanup_add(cf->pool, 0);
  if (cln == nullptr) return nullptr;
  pmcf->keyring = new (std::nothrow) presence::jwt::KeyRing();
  if (pmcf->keyring == nullptr) return nullptr;
  cln->handler = delete_keyring;
  cln->data = pmcf->keyring;
  return pmcf->keyring;
}

char* invalid(ngx_conf_t* cf, ngx_command_t* cmd, const char* expected, const ngx_str_t* arg) {
  ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive invalid \"%V\": expected %s",
                     &cmd->name, arg, expected);
  return static_cast<char*>(NGX_CONF_ERROR);
}

char* missing(ngx_conf_t* cf, ngx_command_t* cmd, const char* what) {
  ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive needs %s", &cmd->name, what);
  return static_cast<char*>(NGX_CONF_ERROR);
}

constexpr const char* kRolesChoices = "roles=shopper, roles=admin or roles=shopper,admin";

}  // namespace

char* set_jwt_key(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* pmcf = static_cast<MainConf*>(conf);
  ngx_str_t* args = static_cast<ngx_str_t*>(cf->args->elts);

  ngx_str_t path = args[1];
  std::optional<presence::jwt::Alg> alg;
  std::optional<presence::jwt::RoleSet> roles;
  std::string_view kid;
  for (ngx_uint_t i = 2; i < cf->args->nelts; i++) {
    std::string_view a = ngx_view(args[i]);
    if (a.starts_with("alg=")) {
      alg = presence::jwt::alg_from_config(a.substr(4));
      if (!alg) return invalid(cf, cmd, "alg=hs256 or alg=eddsa", &args[i]);
    } else if (a.starts_with("roles=")) {
      roles = presence::jwt::RoleSet::parse(a.substr(6));
      if (!roles) return invalid(cf, cmd, kRolesChoices, &args[i]);
    } else if (a.starts_with("kid=") && a.size() > 4) {
      kid = a.substr(4);
    } else {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive invalid parameter \"%V\"",
                         &cmd->name, &args[i]);
      return static_cast<char*>(NGX_CONF_ERROR);
    }
  }
  if (!alg) return missing(cf, cmd, "alg=hs256 or alg=eddsa");
  // No default: a key that verifies admins must be said to, never implied.
  if (!roles) return missing(cf, cmd, kRolesChoices);
  // Relative to the configuration's folder, like ssl_certificate.
  if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) return static_cast<char*>(NGX_CONF_ERROR);

  presence::jwt::KeyRing* ring = keyring_of(cf, pmcf);
  if (ring == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
  return guarded(cf->log, NGX_LOG_EMERG, "presence_jwt_key", static_cast<char*>(NGX_CONF_ERROR),
                 [&]() -> char* {
                   const presence::Status loaded =
                       ring->load_file(kid, *alg, *roles, std::string(ngx_view(path)));
                   if (loaded) return NGX_CONF_OK;
                   ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive %s", &cmd->name,
                                      loaded.reason().c_str());
                   return static_cast<char*>(NGX_CONF_ERROR);
                 });
}

const presence::jwt::Key* signing_key(const MainConf* pmcf, ngx_str_t kid) noexcept {
  if (pmcf->keyring == nullptr) return nullptr;
  std::string_view k = ngx_view(kid);
  for (auto alg : {presence::jwt::Alg::eddsa, presence::jwt::Alg::hs256}) {
    const presence::jwt::Key* key = pmcf->keyring->find(k, alg);
    if (key != nullptr && key->kid == k && key->can_sign()) return key;
  }
  return nullptr;
}

}  // namespace presence::ngx
