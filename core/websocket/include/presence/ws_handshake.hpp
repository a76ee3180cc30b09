// The server side of the WebSocket opening handshake (RFC 6455 section 4.2.1) as far as it is
// a decision: the module extracts the headers and computes Sec-WebSocket-Accept with nginx's own
// SHA-1 and base64; this decides whether the request may be upgraded and, if not, the answer.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace presence::ws {

// Appended to Sec-WebSocket-Key before hashing into Sec-WebSocket-Accept.
inline constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
// The only protocol version; a 426 answer carries it in Sec-WebSocket-Version.
inline constexpr std::string_view kWebSocketVersion = "13";
// The Phoenix serializer version the server speaks (docs/PROTOCOL.md section 2).
inline constexpr std::string_view kPhoenixVsn = "2.0.0";
inline constexpr int kStatusBadRequest = 400;
inline constexpr int kStatusUpgradeRequired = 426;

struct UpgradeRequest {
  std::string_view method;
  int http_major = 1;
  int http_minor = 1;
  std::string_view upgrade;     // Upgrade header value ("" when absent)
  std::string_view connection;  // Connection header value
  std::string_view key;         // Sec-WebSocket-Key
  std::string_view version;     // Sec-WebSocket-Version
  std::string_view query_vsn;   // the vsn query parameter, URL-decoded
  bool has_vsn = false;
};

struct UpgradeCheck {
  bool ok = false;
  int http_status =
      0;  // when !ok: 400, or 426 for a version other than 13 (send kWebSocketVersion)
  // One line for the error log: a literal, so that refusing never allocates.
  std::string_view reason;
};

// Checks, in this order: GET; HTTP/1.1 or later; Upgrade lists the token "websocket" and
// Connection the token "upgrade" (comma-separated, case-insensitive); Sec-WebSocket-Version is
// 13 (426 otherwise, also when absent); Sec-WebSocket-Key is base64 of 16 bytes (24 characters
// ending in "=="); vsn is present and "2.0.0".
// Allocates nothing: a handshake is refused even when memory has run out.
UpgradeCheck check_upgrade(const UpgradeRequest& request) noexcept;

// The first `name` parameter of a query string ("a=1&b=2", without '?'), its value URL-decoded
// (%XX and '+'); the name must be spelled as given, not percent-encoded (log redaction looks for
// it as sent). A parameter without '=' has the empty value. nullopt when absent or when its value
// is not well-formed percent-encoding.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

}  // namespace presence::ws
