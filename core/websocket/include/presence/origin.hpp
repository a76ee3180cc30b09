// Which web pages may open a socket: the Origin check of a WebSocket
// handshake, as Phoenix's check_origin does it. A browser always sends
// Origin on a WebSocket handshake; a native client sends none and is not
// refused for it (its token is what it is checked by).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "presence/result.hpp"

namespace presence::ws {

// Configured entries are bounded so that a check is a short loop.
inline constexpr std::size_t kMaxAllowedOrigins = 64;

class OriginPolicy {
 public:
  // The default policy: only pages of the host the request was sent to.
  static OriginPolicy self_only();

  // One allowed origin: "self" (the request's own Host), "*" (any page, and
  // the opaque origin "null"), or "scheme://host[:port]" / "//host[:port]"
  // where a host "*.example.com" matches every subdomain of example.com. An
  // entry without a scheme matches every scheme; a scheme without a port
  // means its default port, and "//host" without a port matches every port.
  Status add(std::string_view entry);

  // Whether a handshake with this Origin header (nullopt: none was sent) to
  // a request whose Host header is `host` may open a socket.
  bool allows(std::optional<std::string_view> origin, std::string_view host) const noexcept;

  bool empty() const noexcept { return !any_ && !self_ && patterns_.empty(); }

 private:
  struct Pattern {
    std::string scheme;  // lowercase; empty: any
    std::string host;    // lowercase, without the "*." of a wildcard
    bool subdomains = false;
    int port = 0;  // 0: any
  };

  bool any_ = false;
  bool self_ = false;
  std::vector<Pattern> patterns_;
};

}  // namespace presence::ws
