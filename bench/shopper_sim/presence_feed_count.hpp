// Counts the metas an admin:cart_tracker message describes (all of a presence_state, or a
// presence_diff's joins minus its leaves) with a SAX pass, so a multi-megabyte state costs no
// document in memory. The admin watch uses it to prove the batched feed complete.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace presence::sim {

struct FeedCount {
  bool ok = false;         // a well-formed [join_ref, ref, topic, event, payload] message
  std::string event;       // its event
  bool is_state = false;   // presence_state: metas is the whole presence
  std::int64_t metas = 0;  // presence_state: all metas; presence_diff: joins minus leaves
};

FeedCount count_feed_metas(std::string_view text) noexcept;

}  // namespace presence::sim
