#include "loopback_address.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace presence::sim {
namespace {

std::optional<in_addr> parse_ipv4(std::string_view text) {
  if (text == "localhost") text = "127.0.0.1";
  const std::string copy(text);
  in_addr address{};
  if (inet_pton(AF_INET, copy.c_str(), &address) != 1) return std::nullopt;
  return address;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

bool is_loopback(const in_addr& address) noexcept {
  return (ntohl(address.s_addr) >> 24) == 127;
}

std::string to_string(const in_addr& address) {
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &address, text, sizeof text);
  return text;
}

UrlResult parse_url(std::string_view text, std::string_view scheme) {
  const std::string prefix = std::string(scheme) + "://";
  if (!text.starts_with(prefix)) return {std::nullopt, "expected a " + prefix + " URL"};
  std::string_view rest = text.substr(prefix.size());
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  Url url;
  url.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  const std::size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos) return {std::nullopt, "the URL needs an explicit port"};
  const std::string_view host = authority.substr(0, colon);
  const std::string_view port = authority.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
    return {std::nullopt, "bad port \"" + std::string(port) + "\""};
  }
  const std::optional<in_addr> address = parse_ipv4(host);
  if (!address) return {std::nullopt, "host must be an IPv4 address or localhost"};
  if (!is_loopback(*address)) {
    return {std::nullopt, "refusing non-loopback host " + std::string(host) +
                              ": the simulator only loads this machine"};
  }
  url.host = std::string(authority);
  url.port = static_cast<std::uint16_t>(value);
  url.address.sin_family = AF_INET;
  url.address.sin_port = htons(url.port);
  url.address.sin_addr = *address;
  return {std::move(url), ""};
}

SourceAddresses parse_source_addresses(std::string_view text) {
  SourceAddresses out;
  auto add = [&](in_addr a) {
    if (!is_loopback(a)) {
      out.error = "source address " + to_string(a) + " is not loopback";
      return false;
    }
    if (out.addresses.size() == kMaxSourceAddresses) {
      out.error = "more than " + std::to_string(kMaxSourceAddresses) + " source addresses";
      return false;
    }
    out.addresses.push_back(a);
    return true;
  };
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const std::size_t dash = item.find('-');
    const auto first = parse_ipv4(trim(item.substr(0, dash)));
    const auto last =
        dash == std::string_view::npos ? first : parse_ipv4(trim(item.substr(dash + 1)));
    if (!first || !last) {
      out.error = "bad source address \"" + std::string(item) + "\"";
      return out;
    }
    const std::uint32_t from = ntohl(first->s_addr);
    const std::uint32_t to = ntohl(last->s_addr);
    if (from > to) {
      out.error = "empty source range \"" + std::string(item) + "\"";
      return out;
    }
    for (std::uint64_t a = from; a <= to; ++a) {
      if (!add(in_addr{htonl(static_cast<std::uint32_t>(a))})) return out;
    }
  }
  if (out.addresses.empty()) out.error = "no source address";
  return out;
}

}  // namespace presence::sim
