// Token minting locations. presence_admin_token: POST, for requests that
// passed nginx's access phase (auth_basic, auth_request, client certificates,
// allow/deny), answers {"token", "expires_at"} with an admin JWT whose sub is
// the authenticated user. presence_demo_token: GET, a shopper JWT for a cart
// id the server made, kept in the presence_cart cookie under a MAC, for the
// demo store only: anyone may ask it for a shopper token.
#include <sodium.h>

#include <string>

#include "ngx_presence_endpoint.hpp"
#include "ngx_presence_guard.hpp"
#include "ngx_presence_http.hpp"
#include "ngx_presence_keys.hpp"
#include "ngx_presence_log.hpp"
#include "ngx_presence_tokens.hpp"
#include "ngx_presence_zone.hpp"
#include "presence/cart_cookie.hpp"
#include "presence/cart_meta.hpp"
#include "presence/jwt.hpp"
#include "presence/keyring.hpp"
#include "presence/phoenix_message.hpp"

namespace presence::ngx {
namespace {

constexpr std::string_view kCartCookie = "presence_cart";
constexpr size_t kCartIdRandomBytes = 12;

std::string random_cart_id() {
  unsigned char bytes[kCartIdRandomBytes];
  randombytes_buf(bytes, sizeof(bytes));
  static const char hex[] = "0123456789abcdef";
  std::string id = "cart-";
  for (unsigned char b : bytes) {
    id.push_back(hex[b >> 4]);
    id.push_back(hex[b & 15]);
  }
  return id;
}

// The cart id of a cookie this server sealed; empty for none, or for one a
// client made or changed (it then gets a fresh id, never the one it named).
std::string cookie_cart_id(ngx_http_request_t* r, const presence::jwt::Key& key) {
  ngx_str_t name{kCartCookie.size(),
                 reinterpret_cast<u_char*>(const_cast<char*>(kCartCookie.data()))};
  ngx_str_t value{};
  if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies, &name, &value) == NGX_DECLINED) {
    return {};
  }
  return presence::jwt::open_cart_cookie(key, ngx_view(value)).value_or(std::string{});
}

bool over_https(ngx_http_request_t* r) {
#if (NGX_HTTP_SSL)
  return r->connection->ssl != nullptr;
#else
  return false;
#endif
}

bool add_header(ngx_http_request_t* r, const char* key, const std::string& value) {
  auto* h = static_cast<ngx_table_elt_t*>(ngx_list_push(&r->headers_out.headers));
  if (h == nullptr) return false;
  auto* data = static_cast<u_char*>(ngx_pnalloc(r->pool, value.size()));
  if (data == nullptr) return false;
  ngx_memcpy(data, value.data(), value.size());
  h->hash = 1;
  h->key.data = reinterpret_cast<u_char*>(const_cast<char*>(key));
  h->key.len = ngx_strlen(key);
  h->value.data = data;
  h->value.len = value.size();
  return true;
}

}  // namespace

namespace {

ngx_int_t mint(ngx_http_request_t* r, const LocConf* plcf) {
  const bool admin = plcf->endpoint == Endpoint::admin_token;
  const ngx_uint_t allowed = admin ? NGX_HTTP_POST : (NGX_HTTP_GET | NGX_HTTP_HEAD);
  if (!(r->method & allowed)) {
    add_header(r, "Allow", admin ? "POST" : "GET, HEAD");
    return NGX_HTTP_NOT_ALLOWED;
  }
  if (ngx_http_discard_request_body(r) != NGX_OK) return NGX_HTTP_INTERNAL_SERVER_ERROR;

  auto* pmcf = static_cast<MainConf*>(ngx_http_get_module_main_conf(r, ngx_http_presence_module));
  const presence::jwt::Key* key = signing_key(pmcf, plcf->token_kid);
  if (key == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;

  presence::jwt::Claims claims;
  std::string set_cookie;
  if (admin) {
    // The user nginx authenticated (auth_basic); other access modules
    // leave none, and the token then names the role only.
    ngx_http_auth_basic_user(r);
    std::string user(ngx_view(r->headers_in.user));
    claims.sub = presence::is_valid_subject(user) ? user : "admin";
    claims.role = "admin";
  } else {
    claims.sub = cookie_cart_id(r, *key);
    if (claims.sub.empty()) {
      claims.sub = random_cart_id();
      const std::optional<std::string> sealed = presence::jwt::seal_cart_id(*key, claims.sub);
      if (!sealed) return NGX_HTTP_INTERNAL_SERVER_ERROR;
      set_cookie = std::string(kCartCookie) + "=" + *sealed +
                   "; Path=/; Max-Age=2592000; SameSite=Lax; HttpOnly";
      if (over_https(r)) set_cookie += "; Secure";
    }
    claims.role = "shopper";
  }
  const std::int64_t now = ngx_time();
  claims.iat = now;
  claims.exp = now + plcf->token_ttl;
  std::optional<std::string> token = presence::jwt::sign(*key, claims);
  if (!token) return NGX_HTTP_INTERNAL_SERVER_ERROR;

  std::string body = "{\"token\":";
  presence::phoenix::append_json_string(body, *token);
  if (!admin) {
    body += ",\"cart_id\":";
    presence::phoenix::append_json_string(body, claims.sub);
  }
  body += ",\"expires_at\":" + std::to_string(claims.exp) + "}";

  if (!add_header(r, "Cache-Control", "no-store")) return NGX_HTTP_INTERNAL_SERVER_ERROR;
  if (!set_cookie.empty() && !add_header(r, "Set-Cookie", set_cookie)) {
    return NGX_HTTP_INTERNAL_SERVER_ERROR;
  }
  count(&Counters::tokens_minted);
  note_handshake(r, claims.role, claims.sub, key->kid, "minted");
  return send_body(r, NGX_HTTP_OK, "application/json", body);
}

}  // namespace

ngx_int_t token_handler(ngx_http_request_t* r, const LocConf* plcf) noexcept {
  return guarded(r->connection->log, NGX_LOG_ERR, "token minting",
                 static_cast<ngx_int_t>(NGX_HTTP_INTERNAL_SERVER_ERROR),
                 [&]() { return mint(r, plcf); });
}

}  // namespace presence::ngx
