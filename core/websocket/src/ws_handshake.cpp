#include "presence/ws_handshake.hpp"

#include <cstddef>
#include <utility>

namespace presence::ws {
namespace {

// 16 bytes encode to 22 base64 characters and "==" padding.
constexpr std::size_t kKeyChars = 24;
constexpr std::size_t kKeyDataChars = 22;

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Whether a comma-separated header value (RFC 9110 5.6.1) holds the token.
bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    if (equals_ignoring_case(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

bool is_key_of_16_bytes(std::string_view key) {
  if (key.size() != kKeyChars || key.substr(kKeyDataChars) != "==") return false;
  for (std::size_t i = 0; i < kKeyDataChars; ++i) {
    if (!is_base64_char(key[i])) return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int high = hex_value(s[i + 1]);
      const int low = hex_value(s[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

UpgradeCheck refuse(int status, std::string_view reason) noexcept {
  return {false, status, reason};
}

}  // namespace

UpgradeCheck check_upgrade(const UpgradeRequest& request) noexcept {
  if (request.method != "GET") return refuse(kStatusBadRequest, "WebSocket upgrade must be a GET");
  if (request.http_major < 1 || (request.http_major == 1 && request.http_minor < 1)) {
    return refuse(kStatusBadRequest, "WebSocket upgrade needs HTTP/1.1 or later");
  }
  if (!has_token(request.upgrade, "websocket")) {
    return refuse(kStatusBadRequest, "Upgrade header does not name websocket");
  }
  if (!has_token(request.connection, "upgrade")) {
    return refuse(kStatusBadRequest, "Connection header does not name upgrade");
  }
  if (trim(request.version) != kWebSocketVersion) {
    return refuse(kStatusUpgradeRequired, "Sec-WebSocket-Version must be 13");
  }
  if (!is_key_of_16_bytes(trim(request.key))) {
    return refuse(kStatusBadRequest, "Sec-WebSocket-Key is not base64 of 16 bytes");
  }
  if (!request.has_vsn || request.query_vsn != kPhoenixVsn) {
    return refuse(kStatusBadRequest, "vsn must be 2.0.0");
  }
  return {true, 0, {}};
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    // The name as sent, never decoded: the log redaction finds "token=" the same way.
    if (pair.substr(0, eq) != name) continue;
    return url_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
  }
  return std::nullopt;
}

}  // namespace presence::ws
