#include "presence/origin.hpp"

#include <charconv>

namespace presence::ws {
namespace {

constexpr int kMaxPort = 65535;

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

int default_port(std::string_view scheme) {
  if (equals_ignoring_case(scheme, "http") || equals_ignoring_case(scheme, "ws")) return 80;
  if (equals_ignoring_case(scheme, "https") || equals_ignoring_case(scheme, "wss")) return 443;
  return 0;
}

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == ':' || c == '[' || c == ']';
}

struct Authority {
  std::string_view host;
  int port = 0;  // 0: none given
};

// host[:port], host "[v6]" included; nullopt when it is not one.
std::optional<Authority> parse_authority(std::string_view text) {
  Authority out;
  std::string_view port;
  if (text.starts_with('[')) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = text.substr(0, close + 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return std::nullopt;
    if (!rest.empty()) port = rest.substr(1);
    if (!rest.empty() && port.empty()) return std::nullopt;
  } else {
    const std::size_t colon = text.rfind(':');
    out.host = text.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = text.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
  }
  if (out.host.empty()) return std::nullopt;
  for (char c : out.host) {
    if (!is_host_char(c)) return std::nullopt;
  }
  if (!port.empty()) {
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
    if (ec != std::errc() || end != port.data() + port.size() || out.port < 1 ||
        out.port > kMaxPort) {
      return std::nullopt;
    }
  }
  return out;
}

struct Origin {
  std::string_view scheme;
  Authority authority;
};

// "scheme://host[:port]" as browsers serialize an origin (RFC 6454 6.1).
std::optional<Origin> parse_origin(std::string_view text) {
  const std::size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return std::nullopt;
  Origin out;
  out.scheme = text.substr(0, sep);
  for (char c : out.scheme) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
          c == '-' || c == '.')) {
      return std::nullopt;
    }
  }
  const std::optional<Authority> authority = parse_authority(text.substr(sep + 3));
  if (!authority) return std::nullopt;
  out.authority = *authority;
  return out;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = lower(c);
  return out;
}

}  // namespace

OriginPolicy OriginPolicy::self_only() {
  OriginPolicy policy;
  policy.self_ = true;
  return policy;
}

Status OriginPolicy::add(std::string_view entry) {
  if (patterns_.size() + (self_ ? 1 : 0) + (any_ ? 1 : 0) >= kMaxAllowedOrigins) {
    return {Errc::too_large, "more than " + std::to_string(kMaxAllowedOrigins) + " origins"};
  }
  if (entry == "self") {
    self_ = true;
    return {};
  }
  if (entry == "*") {
    any_ = true;
    return {};
  }
  const std::size_t sep = entry.find("//");
  std::string_view scheme = entry.substr(0, sep == std::string_view::npos ? 0 : sep);
  const Status malformed{Errc::malformed, "expected self, * or [scheme:]//host[:port]"};
  if (sep == std::string_view::npos || (!scheme.empty() && !scheme.ends_with(':')))
    return malformed;
  if (!scheme.empty()) scheme.remove_suffix(1);
  Pattern pattern;
  std::string_view rest = entry.substr(sep + 2);
  if (rest.starts_with("*.")) {
    pattern.subdomains = true;
    rest.remove_prefix(2);
  }
  // Checked as the origin a browser would send for it.
  const std::string as_origin =
      std::string(scheme.empty() ? "http" : scheme) + "://" + std::string(rest);
  const std::optional<Origin> parsed = parse_origin(as_origin);
  if (!parsed) return malformed;
  pattern.scheme = lowercase(scheme);
  pattern.host = lowercase(parsed->authority.host);
  pattern.port = parsed->authority.port != 0 ? parsed->authority.port : default_port(scheme);
  if (!scheme.empty() && pattern.port == 0) {
    return {Errc::invalid, "scheme \"" + pattern.scheme + "\" has no default port: give one"};
  }
  patterns_.push_back(std::move(pattern));
  return {};
}

bool OriginPolicy::allows(std::optional<std::string_view> origin,
                          std::string_view host) const noexcept {
  if (!origin || any_) return true;
  const std::optional<Origin> parsed = parse_origin(*origin);
  if (!parsed) return false;  // "null" (an opaque origin) and anything malformed
  const int port =
      parsed->authority.port != 0 ? parsed->authority.port : default_port(parsed->scheme);
  if (self_) {
    const std::optional<Authority> own = parse_authority(host);
    if (own && equals_ignoring_case(own->host, parsed->authority.host) &&
        (own->port != 0 ? own->port : default_port(parsed->scheme)) == port) {
      return true;
    }
  }
  const std::string_view origin_host = parsed->authority.host;
  for (const Pattern& p : patterns_) {
    if (!p.scheme.empty() && !equals_ignoring_case(p.scheme, parsed->scheme)) continue;
    if (p.port != 0 && p.port != port) continue;
    // "*.shop.example" is its subdomains only, as in Phoenix.
    if (!p.subdomains && equals_ignoring_case(origin_host, p.host)) return true;
    if (p.subdomains && origin_host.size() > p.host.size() + 1 &&
        origin_host[origin_host.size() - p.host.size() - 1] == '.' &&
        equals_ignoring_case(origin_host.substr(origin_host.size() - p.host.size()), p.host)) {
      return true;
    }
  }
  return false;
}

}  // namespace presence::ws
