// phx_refs derived from a meta's dot, so every node renders the same ref for a
// replicated meta: base64url of the replica tag (48 bits) and the clock.
#pragma once

#include <cstdint>
#include <string>

#include "presence/replica.hpp"

namespace presence {

// A stable 64-bit tag of a replica (node name + generation).
std::uint64_t replica_tag(const ReplicaName& replica) noexcept;
std::string phx_ref_of(std::uint64_t tag, std::uint64_t clock);

}  // namespace presence
