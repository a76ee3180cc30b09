// Credentials out of log lines: nginx writes a request's line, its query
// string and its headers into the error log (at debug level, and as the
// context of every message about the request), and a handshake's query
// string carries a bearer token.
#pragma once

#include <cstddef>
#include <string_view>

namespace presence {

// What replaces a credential of at least its length; a shorter one becomes
// as many '*', so a redacted line is never longer than the original.
inline constexpr std::string_view kRedacted = "[redacted]";

// Copies `line` to `out` (room for line.size() bytes) with the value of every
// "token=" and "presence_cart=" parameter (up to '&', a space, a quote, ',',
// ';' or the end of the line) and of every "Authorization:" header (up to a
// quote or the end of the line) replaced. Returns the bytes written.
std::size_t redact_credentials(std::string_view line, char* out) noexcept;

}  // namespace presence
