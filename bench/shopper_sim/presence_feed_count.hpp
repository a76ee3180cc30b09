// Counts the metas an admin:cart_tracker message describes (all of a presence_state, or a
// presence_diff's joins minus its leaves) in one pass over its bytes, with no document and no
// allocation per token: the generator shares the machine with the nginx it measures, so its own
// parsing must stay cheap. The admin watch uses it to prove the batched feed complete.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace presence::sim {

// Containers nested in one another, the message array included; a feed nests 7 deep
// (message, payload, joins, key, metas, meta, items), so deeper input is refused, not followed.
constexpr int kMaxFeedNesting = 64;

struct FeedCount {
  bool ok = false;         // a well-formed [join_ref, ref, topic, event, payload] message
  std::string event;       // its event
  bool is_state = false;   // presence_state: metas is the whole presence
  std::int64_t metas = 0;  // presence_state: all metas; presence_diff: joins minus leaves
};

// Accepts RFC 8259 JSON (UTF-8 and \u surrogate pairs checked) nested at most kMaxFeedNesting
// deep, shaped as a five-element array whose event is a string and payload an object; anything
// else gives ok = false and nothing else filled in.
FeedCount count_feed_metas(std::string_view text) noexcept;

}  // namespace presence::sim
