#include "presence/process_identity.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace presence {
namespace {

TEST(ProcessIdentity, StartTimeIsField22EvenWhenTheCommandHoldsParentheses) {
  // Fields 3 to 21 after the command, then the start time (22), then more.
  const std::string tail = " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654321 19 20 21";
  auto start = parse_stat_start_time("4242 (nginx: a) (b) c)" + tail);
  ASSERT_TRUE(start) << start.reason();
  EXPECT_EQ(*start, 987654321u);
  EXPECT_EQ(*parse_stat_start_time("1 (sh)" + tail), 987654321u);
}

TEST(ProcessIdentity, AMalformedStatIsRefused) {
  EXPECT_FALSE(parse_stat_start_time(""));
  EXPECT_FALSE(parse_stat_start_time("1 sh S 1 2 3"));
  // One field short of the start time.
  EXPECT_FALSE(parse_stat_start_time("1 (sh) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18"));
  EXPECT_EQ(
      parse_stat_start_time("1 (sh) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 x1").code(),
      Errc::malformed);
}

TEST(ProcessIdentity, ARunningProcessIsKnownByItsPidAndStartTime) {
  const auto self = process_identity(static_cast<std::uint32_t>(getpid()));
  ASSERT_TRUE(self) << self.reason();
  EXPECT_NE(self->start_time, 0u);
  EXPECT_TRUE(is_running(*self));
  // The same pid started at another time is another process: not running.
  EXPECT_FALSE(is_running({self->pid, self->start_time + 1}));
  EXPECT_TRUE(is_running({self->pid, 0}));
  EXPECT_FALSE(is_running({0, 0}));
}

TEST(ProcessIdentity, AnExitedProcessIsNotRunning) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  const auto id = process_identity(static_cast<std::uint32_t>(child));
  ASSERT_TRUE(id) << id.reason();
  EXPECT_TRUE(is_running(*id));
  kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_FALSE(is_running(*id));
  EXPECT_EQ(process_identity(static_cast<std::uint32_t>(child)).code(), Errc::not_found);
}

}  // namespace
}  // namespace presence
