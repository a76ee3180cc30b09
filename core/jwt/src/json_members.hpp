// Internal: the top-level members of a small JSON object (a JWT header or claims
// set), read with nlohmann's SAX parser so nothing but the wanted members is
// stored and a repeated member is seen (RFC 7519 allows refusing it; a
// verifier that took the first "exp" while another library takes the last
// would be a parser differential).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "presence/result.hpp"

namespace presence::jwt::detail {

enum class JsonKind { absent, string, number, string_array, other };

struct JsonMember {
  JsonMember(std::string_view member_name) : name(member_name) {}

  std::string_view name;
  JsonKind kind = JsonKind::absent;
  std::string text;                     // kind string
  std::vector<std::string> strings;     // kind string_array (an empty array included)
  std::optional<std::int64_t> integer;  // kind number, when integral and within int64
  double real = 0;                      // kind number
};

// Fills `members` (matched by name) from the top level of `json`; values nested
// deeper are only skipped. Errc::malformed, and why, when `json` is not a
// single valid JSON object without repeated wanted members.
Status read_object_members(std::string_view json, std::span<JsonMember> members);

}  // namespace presence::jwt::detail
