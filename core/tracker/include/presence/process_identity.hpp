// Which process owns a presence: a pid and the process's start time, so that
// a pid the kernel hands to a new process is never taken for the old owner.
#pragma once

#include <cstdint>
#include <string_view>

#include "presence/result.hpp"

namespace presence {

struct ProcessIdentity {
  std::uint32_t pid = 0;
  // Clock ticks after boot (field 22 of /proc/<pid>/stat); 0 when unknown,
  // then the pid alone names the process.
  std::uint64_t start_time = 0;
  bool operator==(const ProcessIdentity&) const = default;
};

// The start time in the text of /proc/<pid>/stat.
Result<std::uint64_t> parse_stat_start_time(std::string_view stat);
// The identity of the running process `pid`; not_found when there is none.
Result<ProcessIdentity> process_identity(std::uint32_t pid);
// True while the process `id` names runs: the same pid started at the same time.
bool is_running(const ProcessIdentity& id);

}  // namespace presence
