// ChannelSession under allocation failure: whichever larger allocation of a
// join fails (the channel list's among them), closing the session leaves no
// presence behind in the tracker. The global operator new below fails on
// demand; the sanitizer build keeps its own allocator, so this file's tests
// exist only in the plain build.
#if !defined(__SANITIZE_ADDRESS__)

// The replacement pair below is malloc/free on both sides; GCC cannot see it.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "presence/channel_session.hpp"
#include "tracker_test_support.hpp"

namespace {
// The allocation that fails: 0 for none, n for the n-th from now of at least
// kFailFrom bytes. Smaller ones never fail: nlohmann's json destructor
// allocates, and a failure there would terminate, whoever the caller.
thread_local std::size_t g_fail_in = 0;
constexpr std::size_t kFailFrom = 128;
}  // namespace

void* operator new(std::size_t size) {
  if (size >= kFailFrom && g_fail_in > 0 && --g_fail_in == 0) throw std::bad_alloc();
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace presence {
namespace {

using nlohmann::json;

TEST(ChannelSessionAllocation, AJoinThatRunsOutOfMemoryLeavesNoPresenceOnceClosed) {
  test::SharedRegion region(4 * 1024 * 1024);
  Tracker tracker = *region.open(test::config(), true);
  const std::string join = json::array({"1", "1", "cart:c1", "phx_join", {{"page", "/"}}}).dump();
  std::size_t n = 1;
  for (;; ++n) {
    ChannelSession session(SocketRole::shopper, "c1", Owner{100, n}, 4);
    std::vector<std::string> out;
    out.reserve(4);
    g_fail_in = n;
    try {
      session.on_text(join, tracker, 1, out);
    } catch (const std::bad_alloc&) {
      // What the module's guard would log; the session is closed below.
    }
    const bool failed = g_fail_in == 0;
    g_fail_in = 0;
    session.close(tracker);
    ASSERT_EQ(tracker.stats(kCartTrackerTopic).connections, 0u)
        << "the join's allocation " << n << " failed and its presence outlived the session";
    if (!failed) break;  // the join no longer reaches an n-th allocation
  }
  EXPECT_GT(n, 1u);  // the join allocates, so some failures were tried
}

}  // namespace
}  // namespace presence

#endif
