#include "presence/log_redaction.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace presence {
namespace {

struct Marker {
  std::string_view name;
  std::string_view stops;  // characters that end the value
  bool header;             // the name is matched ignoring case
};

constexpr std::array<Marker, 3> kMarkers{{
    {"token=", "& \"',;\r\n", false},
    {"presence_cart=", "& \"',;\r\n", false},
    {"authorization:", "\"\r\n", true},
}};

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool matches_at(std::string_view line, std::size_t at, const Marker& m) {
  if (line.size() - at < m.name.size()) return false;
  for (std::size_t i = 0; i < m.name.size(); ++i) {
    const char c = m.header ? lower(line[at + i]) : line[at + i];
    if (c != m.name[i]) return false;
  }
  return true;
}

}  // namespace

std::size_t redact_credentials(std::string_view line, char* out) noexcept {
  std::size_t written = 0;
  std::size_t at = 0;
  while (at < line.size()) {
    const Marker* found = nullptr;
    for (const Marker& m : kMarkers) {
      if (matches_at(line, at, m)) {
        found = &m;
        break;
      }
    }
    if (found == nullptr) {
      out[written++] = line[at++];
      continue;
    }
    std::memcpy(out + written, line.data() + at, found->name.size());
    written += found->name.size();
    at += found->name.size();
    // A header value starts after its spaces, which are kept.
    while (found->header && at < line.size() && line[at] == ' ') out[written++] = line[at++];
    std::size_t end = at;
    while (end < line.size() && found->stops.find(line[end]) == std::string_view::npos) ++end;
    const std::size_t length = end - at;
    if (length >= kRedacted.size()) {
      std::memcpy(out + written, kRedacted.data(), kRedacted.size());
      written += kRedacted.size();
    } else {
      std::fill_n(out + written, length, '*');
      written += length;
    }
    at = end;
  }
  return written;
}

}  // namespace presence
