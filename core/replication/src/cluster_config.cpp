#include "presence/cluster_config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "presence/cluster_message.hpp"

namespace presence::cluster {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

Result<int> parse_port(std::string_view digits) {
  if (digits.empty() || digits.size() > 5 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return presence::Status(Errc::malformed, "the port must be a number from 1 to 65535");
  }
  int port = 0;
  for (char c : digits) port = port * 10 + (c - '0');
  if (port < 1 || port > 65535)
    return presence::Status(Errc::invalid, "the port must be from 1 to 65535");
  return port;
}

bool numeric_ip(const std::string& host, int family) {
  std::array<unsigned char, 16> out{};
  return inet_pton(family, host.c_str(), out.data()) == 1;
}

}  // namespace

bool valid_cluster_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxClusterNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

Result<RedisAddress> parse_redis_address(std::string_view text) {
  RedisAddress address;
  if (text.starts_with("unix:")) {
    std::string_view path = text.substr(5);
    if (path.empty() || path.front() != '/') {
      return presence::Status(Errc::malformed, "a unix socket is written unix:/absolute/path");
    }
    if (path.size() > kMaxUnixPathBytes) {
      return presence::Status(Errc::too_large, "the unix socket path is longer than 107 bytes");
    }
    if (path.find('\0') != std::string_view::npos) {
      return presence::Status(Errc::malformed, "the unix socket path holds a NUL byte");
    }
    address.kind = RedisAddress::Kind::unix_socket;
    address.path = std::string(path);
    return address;
  }
  std::string_view host;
  std::string_view port;
  int family = AF_INET;
  if (text.starts_with("[")) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return presence::Status(Errc::malformed, "an IPv6 address is written [address]:port");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    family = AF_INET6;
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return presence::Status(Errc::malformed, "expected IPv4:port, [IPv6]:port or unix:/path");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  address.host = std::string(host);
  if (!numeric_ip(address.host, family)) {
    return presence::Status(Errc::invalid,
                            "the host must be a numeric IPv4 or [IPv6] address (a name would be "
                            "resolved with a blocking call)");
  }
  Result<int> number = parse_port(port);
  if (!number) return number.status();
  address.port = *number;
  return address;
}

std::string describe(const RedisAddress& address) {
  if (address.kind == RedisAddress::Kind::unix_socket) return "unix:" + address.path;
  const bool v6 = address.host.find(':') != std::string::npos;
  return (v6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

Result<std::string> read_config_file(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return presence::Status(Errc::io, std::string("cannot be read: ") + std::strerror(errno));
  std::string contents;
  contents.resize(max_bytes + 1);
  in.read(contents.data(), static_cast<std::streamsize>(contents.size()));
  if (in.bad()) return presence::Status(Errc::io, "cannot be read");
  contents.resize(static_cast<std::size_t>(in.gcount()));
  if (contents.size() > max_bytes) {
    return presence::Status(Errc::too_large,
                            "is longer than " + std::to_string(max_bytes) + " bytes");
  }
  return contents;
}

Result<RedisAuth> parse_redis_auth(std::string_view file_contents) {
  if (file_contents.size() > kMaxAuthFileBytes) {
    return presence::Status(Errc::too_large, "the auth file is longer than 1024 bytes");
  }
  const std::string_view line = trim(file_contents);
  if (line.empty()) return presence::Status(Errc::invalid, "the auth file is empty");
  if (line.find('\n') != std::string_view::npos || line.find('\r') != std::string_view::npos) {
    return presence::Status(Errc::malformed, "the auth file must hold one line");
  }
  if (std::any_of(line.begin(), line.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 && c != '\t'; })) {
    return presence::Status(Errc::malformed, "the auth file holds control characters");
  }
  RedisAuth auth;
  const std::size_t gap = line.find_first_of(" \t");
  if (gap == std::string_view::npos) {
    auth.password = std::string(line);
    return auth;
  }
  const std::string_view password = trim(line.substr(gap));
  if (password.find_first_of(" \t") != std::string_view::npos) {
    return presence::Status(Errc::malformed,
                            "the auth file must hold `password` or `user password`");
  }
  auth.user = std::string(line.substr(0, gap));
  auth.password = std::string(password);
  return auth;
}

std::int64_t ReconnectBackoff::next(double random) noexcept {
  const std::int64_t half = ceiling_ / 2;
  const double r = std::clamp(random, 0.0, 1.0);
  const std::int64_t delay = half + static_cast<std::int64_t>(r * static_cast<double>(half));
  ceiling_ = std::min(ceiling_ * 2, kMaxReconnectDelayMs);
  return std::clamp(delay, kMinReconnectDelayMs, kMaxReconnectDelayMs);
}

LeaseAction decide_lease(const Lease& seen, const ProcessIdentity& self, bool owner_running,
                         std::int64_t now_ms) {
  if (seen.owner.pid == 0) return LeaseAction::take;
  if (seen.owner == self) return LeaseAction::renew;
  if (owner_running && seen.until_ms > now_ms) return LeaseAction::wait;
  return LeaseAction::take_over;
}

}  // namespace presence::cluster
