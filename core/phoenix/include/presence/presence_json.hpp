// Phoenix Presence payloads (docs/PROTOCOL.md sections 7 and 8):
// presence_state, presence_diff and the stats aggregate, as JSON texts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "presence/tracker_types.hpp"

namespace presence {

// {"<key>": {"metas": [{"phx_ref", "page", "items", "page_loaded_at"}]}}, plus
// phx_ref_prev on metas that replaced another, as Phoenix keeps it.
std::string encode_presence_state(const std::vector<PresenceEntry>& entries);
// {"joins": {...}, "leaves": {...}}, phx_ref_prev on metas that replaced another.
// Only the net effect of the batch per phx_ref is sent: a meta that joins and
// leaves inside the batch is dropped from both (and one that leaves and rejoins).
std::string encode_presence_diff(const std::vector<Change>& changes);
// The same text appended to out (the admin feed builds its frame in place).
void append_presence_diff(std::string& out, const std::vector<Change>& changes);
// {"shoppers", "connections", "pages", "carts": {"<product>": {"<size>": qty}}, "nodes", "ts"}
std::string encode_stats(const StatsSnapshot& stats, std::int64_t ts_ms);

}  // namespace presence
