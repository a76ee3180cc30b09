// The WebSocket upgrade of a presence_socket location: the upgrade is checked
// first (400/426), then the Origin and the token (403), then the request is answered with
// 101 and the connection handed to ngx_presence_connection.cpp, after the HTTP
// request and its buffers are freed so an idle socket stays small.
#include <exception>
#include <new>
#include <optional>
#include <string>

#include "ngx_presence_handshake.hpp"

#include "ngx_presence_connection.hpp"
#include "ngx_presence_endpoint.hpp"
#include "ngx_presence_guard.hpp"
#include "ngx_presence_http.hpp"
#include "ngx_presence_log.hpp"
#include "ngx_presence_origins.hpp"
#include "ngx_presence_socket.hpp"
#include "ngx_presence_zone.hpp"
#include "presence/jwt.hpp"
#include "presence/keyring.hpp"
#include "presence/origin.hpp"
#include "presence/ws_handshake.hpp"

namespace presence::ngx {
namespace {

std::string_view header_value(const ngx_table_elt_t* h) {
  return h != nullptr ? ngx_view(h->value) : std::string_view{};
}

const ngx_table_elt_t* find_header(ngx_http_request_t* r, std::string_view name) {
  ngx_list_part_t* part = &r->headers_in.headers.part;
  auto* h = static_cast<ngx_table_elt_t*>(part->elts);
  for (ngx_uint_t i = 0;; i++) {
    if (i >= part->nelts) {
      if (part->next == nullptr) return nullptr;
      part = part->next;
      h = static_cast<ngx_table_elt_t*>(part->elts);
      i = 0;
    }
    if (h[i].key.len == name.size() &&
        ngx_strncasecmp(h[i].key.data, reinterpret_cast<u_char*>(const_cast<char*>(name.data())),
                        name.size()) == 0) {
      return &h[i];
    }
  }
}

// Answers a refused handshake: one info line, the counters, and `result` for $presence_result.
ngx_int_t refuse(ngx_http_request_t* r, ngx_int_t status, std::string_view result,
                 std::string_view why, std::string_view role, std::string_view sub = {},
                 std::string_view kid = {}) {
  // The module's own lines never quote the token: `why` is a verifier's reason at most.
  ngx_log_error(NGX_LOG_INFO, r->connection->log, 0, "presence: websocket refused (%i): %*s",
                status, why.size(), why.data());
  count(status == NGX_HTTP_FORBIDDEN ? &Counters::handshakes_forbidden
                                     : &Counters::handshakes_bad_request);
  note_handshake(r, role, sub, kid, result);
  redact_request(r);
  ngx_http_discard_request_body(r);
  if (status != presence::ws::kStatusUpgradeRequired) return status;
  // nginx has no reason phrase for 426 and drops a status line set for its own
  // error answers: this one is sent here.
  ngx_str_set(&r->headers_out.status_line, "426 Upgrade Required");
  ngx_table_elt_t* h = static_cast<ngx_table_elt_t*>(ngx_list_push(&r->headers_out.headers));
  if (h == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
  h->hash = 1;
  ngx_str_set(&h->key, "Sec-WebSocket-Version");
  ngx_str_set(&h->value, "13");
  return send_body(r, static_cast<ngx_uint_t>(status), "text/plain",
                   "Sec-WebSocket-Version 13 required\n");
}

// The Origin header, nullopt when none was sent; `repeated` when sent twice.
std::optional<std::string_view> origin_of(ngx_http_request_t* r, bool& repeated) {
  std::optional<std::string_view> origin;
  repeated = false;
  ngx_list_part_t* part = &r->headers_in.headers.part;
  auto* h = static_cast<ngx_table_elt_t*>(part->elts);
  for (ngx_uint_t i = 0;; i++) {
    if (i >= part->nelts) {
      if (part->next == nullptr) return origin;
      part = part->next;
      h = static_cast<ngx_table_elt_t*>(part->elts);
      i = 0;
    }
    static constexpr std::string_view kOrigin = "Origin";
    if (h[i].key.len == kOrigin.size() &&
        ngx_strncasecmp(h[i].key.data, reinterpret_cast<u_char*>(const_cast<char*>(kOrigin.data())),
                        kOrigin.size()) == 0) {
      if (origin) repeated = true;
      origin = ngx_view(h[i].value);
    }
  }
}

// Sec-WebSocket-Accept: base64(SHA-1(key + GUID)), with nginx's own SHA-1 and base64.
std::string accept_key(std::string_view key) {
  ngx_sha1_t sha1;
  u_char digest[20];
  ngx_sha1_init(&sha1);
  ngx_sha1_update(&sha1, key.data(), key.size());
  ngx_sha1_update(&sha1, presence::ws::kAcceptGuid.data(), presence::ws::kAcceptGuid.size());
  ngx_sha1_final(digest, &sha1);
  u_char encoded[32];
  ngx_str_t src{sizeof(digest), digest};
  ngx_str_t dst{0, encoded};
  ngx_encode_base64(&dst, &src);
  return std::string(reinterpret_cast<char*>(dst.data), dst.len);
}

// Frees the request and its header buffers but keeps the connection, as
// nginx's own keepalive does, then starts the WebSocket on it.
void takeover(ngx_event_t* ev) noexcept {
  auto* conn = static_cast<WsConn*>(ev->data);
  ngx_http_request_t* r = conn->r;
  ngx_connection_t* c = conn->c;
  ngx_http_connection_t* hc = r->http_connection;

  // Bytes the client sent right behind its handshake are its first frames.
  std::string first;
  bool ok = true;
  try {
    if (r->header_in->pos < r->header_in->last) {
      first.assign(reinterpret_cast<char*>(r->header_in->pos),
                   static_cast<size_t>(r->header_in->last - r->header_in->pos));
    }
  } catch (const std::bad_alloc&) {
    ok = false;
  }

  r->headers_out.status = ok ? NGX_HTTP_SWITCHING_PROTOCOLS : NGX_HTTP_INTERNAL_SERVER_ERROR;
  ngx_http_free_request(r, 0);  // logs the request, destroys its pool
  c->destroyed = 0;
  conn->r = nullptr;
  c->data = conn;

  if (c->buffer != nullptr && ngx_pfree(c->pool, c->buffer->start) == NGX_OK) {
    c->buffer->pos = nullptr;
  }
  for (ngx_chain_t** list : {&hc->busy, &hc->free}) {
    for (ngx_chain_t* cl = *list; cl != nullptr;) {
      ngx_chain_t* ln = cl;
      cl = cl->next;
      ngx_pfree(c->pool, ln->buf->start);
      ngx_free_chain(c->pool, ln);
    }
    *list = nullptr;
  }
  hc->nbusy = 0;

  if (!ok) {
    delete conn;
    ngx_http_close_connection(c);
    return;
  }
  ws_start(conn, first);
}

ngx_int_t handshake(ngx_http_request_t* r, const LocConf* plcf) {
  const bool admin = plcf->endpoint == Endpoint::admin;
  const std::string_view role = admin ? "admin" : "shopper";
  presence::ws::UpgradeRequest req;
  req.method = ngx_view(r->method_name);
  req.http_major = static_cast<int>(r->http_major);
  req.http_minor = static_cast<int>(r->http_minor);
  // nginx 1.22 keeps no pointer to Connection: read both from the list.
  req.upgrade = header_value(find_header(r, "Upgrade"));
  req.connection = header_value(find_header(r, "Connection"));
  req.key = header_value(find_header(r, "Sec-WebSocket-Key"));
  req.version = header_value(find_header(r, "Sec-WebSocket-Version"));
  const std::string_view args = ngx_view(r->args);
  const std::optional<std::string> vsn = presence::ws::query_param(args, "vsn");
  const std::optional<std::string> token = presence::ws::query_param(args, "token");
  if (vsn) {
    req.has_vsn = true;
    req.query_vsn = *vsn;
  }

  const presence::ws::UpgradeCheck check = presence::ws::check_upgrade(req);
  if (!check.ok) return refuse(r, check.http_status, "bad_upgrade", check.reason, role);
#if (NGX_HTTP_V2)
  // An HTTP/2 stream cannot be taken over (RFC 8441 is not supported).
  if (r->stream != nullptr) {
    return refuse(r, NGX_HTTP_BAD_REQUEST, "bad_upgrade", "HTTP/2 has no Upgrade", role);
  }
#endif
  if (r != r->main)
    return refuse(r, NGX_HTTP_BAD_REQUEST, "bad_upgrade", "not in a subrequest", role);
  if (r->headers_in.content_length_n > 0 || r->headers_in.chunked) {
    return refuse(r, NGX_HTTP_BAD_REQUEST, "bad_upgrade", "an upgrade request carries no body",
                  role);
  }

  bool repeated = false;
  const std::optional<std::string_view> origin = origin_of(r, repeated);
  if (repeated) return refuse(r, NGX_HTTP_FORBIDDEN, "origin", "more than one Origin header", role);
  const std::string_view host =
      r->headers_in.host != nullptr ? ngx_view(r->headers_in.host->value) : std::string_view{};
  if (!plcf->origins->allows(origin, host)) {
    return refuse(r, NGX_HTTP_FORBIDDEN, "origin", "Origin not allowed for this endpoint", role);
  }

  auto* pmcf = static_cast<MainConf*>(ngx_http_get_module_main_conf(r, ngx_http_presence_module));
  presence::Tracker* tracker = zone_tracker();
  if (tracker == nullptr || pmcf->keyring == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;

  if (!token) return refuse(r, NGX_HTTP_FORBIDDEN, "no_token", "no token", role);
  presence::jwt::VerifyOptions opts;
  opts.now_s = ngx_time();
  opts.leeway_s = pmcf->jwt_leeway;
  opts.required_role = role;
  opts.issuer = ngx_view(plcf->jwt_issuer);
  opts.audience = ngx_view(plcf->jwt_audience);
  presence::jwt::VerifyResult verified = presence::jwt::verify(*token, *pmcf->keyring, opts);
  if (verified.error != presence::jwt::VerifyError::none) {
    return refuse(r, NGX_HTTP_FORBIDDEN, presence::jwt::to_string(verified.error), verified.reason,
                  role, verified.claims.sub, verified.kid);
  }
  note_handshake(r, role, verified.claims.sub, verified.kid, "accepted");
  redact_request(r);

  WsConn* conn = nullptr;
  try {
    std::string response =
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        accept_key(req.key) + "\r\n\r\n";
    conn = new WsConn(r->connection, r, plcf,
                      admin ? presence::SocketRole::admin : presence::SocketRole::shopper,
                      std::move(verified.claims.sub));
    conn->queue.push_preamble(std::move(response));  // written first, by ws_start
  } catch (const std::exception&) {
    delete conn;
    throw;
  }
  count(&Counters::handshakes_accepted);

  // The request stays alive until the posted takeover runs, after nginx has
  // finished with it on the way out of this handler.
  r->main->count++;
  r->keepalive = 0;
  conn->takeover.handler = takeover;
  conn->takeover.data = conn;
  conn->takeover.log = r->connection->log;
  ngx_post_event(&conn->takeover, &ngx_posted_events);
  return NGX_DONE;
}

}  // namespace

ngx_int_t socket_handler(ngx_http_request_t* r, const LocConf* plcf) noexcept {
  return guarded(r->connection->log, NGX_LOG_ERR, "websocket handshake",
                 static_cast<ngx_int_t>(NGX_HTTP_INTERNAL_SERVER_ERROR),
                 [&]() { return handshake(r, plcf); });
}

}  // namespace presence::ngx
