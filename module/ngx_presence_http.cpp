#include "ngx_presence_http.hpp"

namespace presence::ngx {

ngx_int_t send_body(ngx_http_request_t* r, ngx_uint_t status, std::string_view content_type,
                    std::string_view body) noexcept {
  r->headers_out.status = status;
  r->headers_out.content_length_n = static_cast<off_t>(body.size());
  r->headers_out.content_type.len = content_type.size();
  r->headers_out.content_type.data =
      reinterpret_cast<u_char*>(const_cast<char*>(content_type.data()));
  r->headers_out.content_type_len = content_type.size();
  ngx_int_t rc = ngx_http_send_header(r);
  if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) return rc;

  ngx_buf_t* b = ngx_create_temp_buf(r->pool, body.size() > 0 ? body.size() : 1);
  if (b == nullptr) return NGX_ERROR;
  b->last = ngx_cpymem(b->last, body.data(), body.size());
  b->last_buf = (r == r->main) ? 1 : 0;
  b->last_in_chain = 1;
  ngx_chain_t out{b, nullptr};
  return ngx_http_output_filter(r, &out);
}

}  // namespace presence::ngx
