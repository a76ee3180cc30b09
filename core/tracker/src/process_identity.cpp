#include "presence/process_identity.hpp"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <iterator>
#include <string>

namespace presence {

namespace {
// /proc/<pid>/stat: "pid (comm) state ppid ..."; starttime is field 22, the
// 20th after the command, whose name may itself hold spaces and parentheses.
constexpr int kFieldsAfterCommToStartTime = 19;
}  // namespace

Result<std::uint64_t> parse_stat_start_time(std::string_view stat) {
  const std::size_t comm_end = stat.rfind(')');
  if (comm_end == std::string_view::npos) return Status(Errc::malformed, "no command field");
  std::string_view rest = stat.substr(comm_end + 1);
  for (int field = 0; field <= kFieldsAfterCommToStartTime; ++field) {
    const std::size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) return Status(Errc::malformed, "too few fields");
    rest.remove_prefix(start);
    const std::size_t end = std::min(rest.find(' '), rest.size());
    if (field == kFieldsAfterCommToStartTime) {
      std::uint64_t ticks = 0;
      const std::string_view text = rest.substr(0, end);
      const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), ticks);
      if (ec != std::errc{} || ptr != text.data() + text.size() || text.empty()) {
        return Status(Errc::malformed, "start time is not a number");
      }
      return ticks;
    }
    rest.remove_prefix(end);
  }
  return Status(Errc::malformed, "too few fields");
}

Result<ProcessIdentity> process_identity(std::uint32_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  if (!file) return Status(Errc::not_found, "no such process");
  const std::string stat{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  Result<std::uint64_t> start = parse_stat_start_time(stat);
  if (!start) return start.status();
  return ProcessIdentity{pid, *start};
}

bool is_running(const ProcessIdentity& id) {
  if (id.pid == 0) return false;
  if (kill(static_cast<pid_t>(id.pid), 0) == -1 && errno == ESRCH) return false;
  if (id.start_time == 0) return true;
  // Unreadable (no /proc, or it exited a moment ago): the next look decides.
  const Result<ProcessIdentity> now = process_identity(id.pid);
  return !now || now->start_time == id.start_time;
}

}  // namespace presence
