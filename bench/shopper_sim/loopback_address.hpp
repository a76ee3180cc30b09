// Where the simulator may connect to and from: loopback only, so a load test can never be aimed
// at another machine. Parses the target URLs and the source address range.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presence::sim {

// 127.0.0.0/8 holds 2^24 addresses; a run needs a handful, so longer ranges are a typo.
inline constexpr std::size_t kMaxSourceAddresses = 256;

struct Url {
  std::string host;  // as written, for the Host header
  std::uint16_t port = 0;
  std::string path;  // path and query, at least "/"
  sockaddr_in address{};
};

struct UrlResult {
  std::optional<Url> url;
  std::string error;
};

bool is_loopback(const in_addr& address) noexcept;

// scheme "ws" or "http"; the host must be a 127.x.x.x address or "localhost".
UrlResult parse_url(std::string_view text, std::string_view scheme);

struct SourceAddresses {
  std::vector<in_addr> addresses;
  std::string error;
};

// "127.0.0.2-127.0.0.9", "127.0.0.2,127.0.0.5" or a single address; loopback only.
SourceAddresses parse_source_addresses(std::string_view text);

std::string to_string(const in_addr& address);

}  // namespace presence::sim
