// No token in any log. A handshake's token travels in its query string, and
// nginx writes the request line into the error log (as the "request:" context
// of every message about the request, and at debug level as "http request
// line" and "http args"), so every error log of the http block gets a writer
// that redacts credentials before the line reaches its file, syslog or
// memory buffer. The presence locations also redact the request line the
// access log sees, and offer $presence_role, $presence_sub, $presence_kid and
// $presence_result for log formats instead.
#include <array>
#include <cstddef>

#include "ngx_presence_log.hpp"
#include "presence/log_redaction.hpp"

namespace presence::ngx {
namespace {

// What a log had before redaction was put in front of it.
struct RedactedLog {
  ngx_log_writer_pt writer;  // nullptr: its file
  void* wdata;
};

void redacting_writer(ngx_log_t* log, ngx_uint_t level, u_char* buf, size_t len) noexcept {
  const auto* was = static_cast<const RedactedLog*>(log->wdata);
  std::array<char, NGX_MAX_ERROR_STR> line;
  len = presence::redact_credentials(
      std::string_view(reinterpret_cast<const char*>(buf), std::min(len, line.size())),
      line.data());
  auto* out = reinterpret_cast<u_char*>(line.data());
  if (was->writer != nullptr) {
    ngx_log_t original = *log;
    original.writer = was->writer;
    original.wdata = was->wdata;
    was->writer(&original, level, out, len);
    return;
  }
  // As ngx_log_error_core writes a file.
  if (ngx_time() == log->disk_full_time) return;
  if (ngx_write_fd(log->file->fd, out, len) == -1 && ngx_errno == NGX_ENOSPC) {
    log->disk_full_time = ngx_time();
  }
}

// Puts the redacting writer in front of every log of a chain, once.
ngx_int_t redact_chain(ngx_pool_t* pool, ngx_log_t* log) noexcept {
  for (; log != nullptr; log = log->next) {
    if (log->writer == redacting_writer) continue;
    auto* was = static_cast<RedactedLog*>(ngx_palloc(pool, sizeof(RedactedLog)));
    if (was == nullptr) return NGX_ERROR;
    was->writer = log->writer;
    was->wdata = log->wdata;
    log->writer = redacting_writer;
    log->wdata = was;
  }
  return NGX_OK;
}

// The error logs of every server and location, noted while they are merged.
ngx_array_t* location_logs = nullptr;
ngx_cycle_t* location_logs_cycle = nullptr;

constexpr ngx_uint_t kExpectedLocations = 16;

ngx_int_t get_note(ngx_http_request_t* r, ngx_http_variable_value_t* v, uintptr_t offset) noexcept {
  auto* note = static_cast<HandshakeNote*>(ngx_http_get_module_ctx(r, ngx_http_presence_module));
  const ngx_str_t* value =
      note != nullptr
          ? reinterpret_cast<const ngx_str_t*>(reinterpret_cast<const char*>(note) + offset)
          : nullptr;
  if (value == nullptr || value->len == 0) {
    v->not_found = 1;
    return NGX_OK;
  }
  // Every value is a short role, subject, kid or result: far below the 28-bit field.
  v->len = static_cast<unsigned>(value->len) & 0x0fffffffu;
  v->data = value->data;
  v->valid = 1;
  v->no_cacheable = 1;
  v->not_found = 0;
  return NGX_OK;
}

struct LogVariable {
  ngx_str_t name;
  uintptr_t offset;
};

const std::array<LogVariable, 4> kVariables{{
    {ngx_string("presence_role"), offsetof(HandshakeNote, role)},
    {ngx_string("presence_sub"), offsetof(HandshakeNote, sub)},
    {ngx_string("presence_kid"), offsetof(HandshakeNote, kid)},
    {ngx_string("presence_result"), offsetof(HandshakeNote, result)},
}};

bool copy_to(ngx_pool_t* pool, std::string_view text, ngx_str_t& out) noexcept {
  out.len = 0;
  if (text.empty()) return true;
  out.data = static_cast<u_char*>(ngx_pnalloc(pool, text.size()));
  if (out.data == nullptr) return false;
  ngx_memcpy(out.data, text.data(), text.size());
  out.len = text.size();
  return true;
}

// A redacted copy of a part of the request, in its pool.
void redact_in_pool(ngx_pool_t* pool, ngx_str_t& text) noexcept {
  if (text.len == 0) return;
  auto* copy = static_cast<u_char*>(ngx_pnalloc(pool, text.len));
  if (copy == nullptr) {
    text.len = 0;  // rather nothing than the token
    return;
  }
  text.len = presence::redact_credentials(ngx_view(text), reinterpret_cast<char*>(copy));
  text.data = copy;
}

}  // namespace

ngx_int_t add_log_variables(ngx_conf_t* cf) noexcept {
  // A new http block: what an earlier (perhaps failed) configuration noted is gone with its pool.
  location_logs = nullptr;
  location_logs_cycle = nullptr;
  for (const LogVariable& var : kVariables) {
    ngx_str_t name = var.name;
    ngx_http_variable_t* v = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
    if (v == nullptr) return NGX_ERROR;
    v->get_handler = get_note;
    v->data = var.offset;
  }
  return NGX_OK;
}

ngx_int_t note_location_log(ngx_conf_t* cf) noexcept {
  auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(
      ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
  if (clcf->error_log == nullptr) return NGX_OK;
  if (location_logs_cycle != cf->cycle) {
    // A new configuration: the previous cycle's list belonged to its pool.
    location_logs = ngx_array_create(cf->pool, kExpectedLocations, sizeof(ngx_log_t*));
    if (location_logs == nullptr) return NGX_ERROR;
    location_logs_cycle = cf->cycle;
  }
  auto** slot = static_cast<ngx_log_t**>(ngx_array_push(location_logs));
  if (slot == nullptr) return NGX_ERROR;
  *slot = clcf->error_log;
  return NGX_OK;
}

ngx_int_t init_module(ngx_cycle_t* cycle) noexcept {
  if (redact_chain(cycle->pool, &cycle->new_log) != NGX_OK) return NGX_ERROR;
  if (location_logs != nullptr && location_logs_cycle == cycle) {
    auto** logs = static_cast<ngx_log_t**>(location_logs->elts);
    for (ngx_uint_t i = 0; i < location_logs->nelts; i++) {
      if (redact_chain(cycle->pool, logs[i]) != NGX_OK) return NGX_ERROR;
    }
  }
  // A listening socket keeps a copy of its server's first log for the time
  // before a request is read, when the request line is logged at debug level.
  auto* ls = static_cast<ngx_listening_t*>(cycle->listening.elts);
  for (ngx_uint_t i = 0; i < cycle->listening.nelts; i++) {
    if (redact_chain(cycle->pool, &ls[i].log) != NGX_OK) return NGX_ERROR;
  }
  return NGX_OK;
}

void note_handshake(ngx_http_request_t* r, std::string_view role, std::string_view sub,
                    std::string_view kid, std::string_view result) noexcept {
  auto* note = static_cast<HandshakeNote*>(ngx_http_get_module_ctx(r, ngx_http_presence_module));
  if (note == nullptr) {
    note = static_cast<HandshakeNote*>(ngx_pcalloc(r->pool, sizeof(HandshakeNote)));
    if (note == nullptr) return;
    ngx_http_set_ctx(r, note, ngx_http_presence_module);
  }
  // A value that does not fit is left out of the log, never half written.
  if (!copy_to(r->pool, role, note->role) || !copy_to(r->pool, sub, note->sub) ||
      !copy_to(r->pool, kid, note->kid) || !copy_to(r->pool, result, note->result)) {
    *note = HandshakeNote{};
  }
}

void redact_request(ngx_http_request_t* r) noexcept {
  redact_in_pool(r->pool, r->request_line);
  redact_in_pool(r->pool, r->unparsed_uri);
  redact_in_pool(r->pool, r->args);
}

}  // namespace presence::ngx
