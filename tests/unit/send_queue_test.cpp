// SendQueue: random pushes (copied, in place, stats) interleaved with sends
// of random sizes, read back by a client frame parser. The bytes out are the
// frames in, in order, whole; a stats frame starts only between two frames,
// never overtakes what was queued before it while the socket keeps up, and
// at most one waits.
#include "presence/send_queue.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace presence {
namespace {

constexpr std::string_view kPreamble = "HTTP/1.1 101 Switching Protocols\r\n\r\n";
constexpr std::size_t kStatsPayloadBytes = 40;

std::string main_payload(std::size_t id, std::size_t filler) {
  return "m" + std::to_string(id) + ":" + std::string(filler, 'x');
}

std::string stats_payload(std::size_t id) {
  std::string p = "s" + std::to_string(id) + ":";
  p.resize(kStatsPayloadBytes, 'y');
  return p;
}

std::string encoded(std::string_view payload) {
  std::string out;
  ws::append_frame(out, ws::Opcode::text, payload);
  return out;
}

// The peer: what it read, frame by frame.
class Peer {
 public:
  // Sends up to `budget` bytes, at most `cap` per send, as a socket would.
  void drain(SendQueue& q, std::size_t budget, std::size_t cap) {
    while (budget > 0) {
      std::span<char> chunk = q.next_chunk();
      if (chunk.empty()) return;
      const std::size_t n = std::min({chunk.size(), cap, budget});
      read(std::string_view(chunk.data(), n));
      q.advance(n);
      budget -= n;
    }
  }

  void read(std::string_view bytes) {
    wire_ += bytes;
    if (preamble_left_ > 0) {
      const std::size_t n = std::min(preamble_left_, bytes.size());
      RC_ASSERT(bytes.substr(0, n) == kPreamble.substr(kPreamble.size() - preamble_left_, n));
      preamble_left_ -= n;
      bytes.remove_prefix(n);
    }
    while (!bytes.empty()) {
      std::size_t used = 0;
      ws::FrameEvent ev =
          parser_.feed(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), &used);
      bytes.remove_prefix(used);
      in_frame_ = ev.kind == ws::FrameEvent::Kind::none;
      if (ev.kind == ws::FrameEvent::Kind::none) continue;
      RC_ASSERT(ev.kind == ws::FrameEvent::Kind::message);
      frames_.emplace_back(ev.payload);
    }
  }

  std::size_t bytes() const { return wire_.size(); }
  const std::vector<std::string>& frames() const { return frames_; }
  // A frame's bytes have begun to arrive but not all of them.
  bool in_frame() const { return in_frame_; }

 private:
  ws::FrameParser parser_{ws::Role::client, 1 << 20};
  std::string wire_;
  std::size_t preamble_left_ = kPreamble.size();
  std::vector<std::string> frames_;
  bool in_frame_ = false;
};

struct StatsPush {
  std::size_t id;
  bool ahead;               // pushed while congested
  std::size_t main_before;  // main frames queued before it (keeping up) or begun (congested)
  bool dropped = false;     // replaced before it began
};

RC_GTEST_PROP(SendQueueProperty, BytesOutAreTheFramesInAndStatsKeepTheirPlace, ()) {
  const std::size_t bound = *rc::gen::inRange<std::size_t>(16, 3000);
  SendQueue q(bound, true);
  Peer peer;
  q.push_preamble(std::string(kPreamble));
  std::size_t queued_bytes = kPreamble.size();

  std::vector<std::string> mains;  // payloads of the main frames, in push order
  std::vector<StatsPush> stats;
  constexpr std::size_t kNoStats = static_cast<std::size_t>(-1);
  std::size_t waiting = kNoStats;  // index in stats of the one waiting

  const int steps = *rc::gen::inRange(1, 120);
  for (int step = 0; step < steps; ++step) {
    const int kind = *rc::gen::inRange(0, 4);
    if (kind == 0 || kind == 1) {
      const std::string payload =
          main_payload(mains.size(), *rc::gen::inRange<std::size_t>(0, bound));
      if (kind == 0) {
        q.push_text(payload);
      } else {
        std::string frame = start_text_frame();
        frame += payload;
        const std::size_t begin = finish_text_frame(frame);
        q.push_in_place(frame, begin, *rc::gen::arbitrary<bool>());
      }
      mains.push_back(payload);
      queued_bytes += encoded(payload).size();
    } else if (kind == 2) {
      const bool ahead = q.congested();
      const bool was_waiting = q.stats_waiting();
      const std::size_t id = stats.size();
      if (q.push_stats(stats_payload(id))) {
        RC_ASSERT(!was_waiting || ahead);  // keeping up, a waiting stats is never replaced
        if (was_waiting) {
          RC_ASSERT(waiting != kNoStats);
          stats[waiting].dropped = true;
          queued_bytes -= encoded(stats_payload(stats[waiting].id)).size();
        }
        std::size_t main_complete = 0;
        for (const std::string& f : peer.frames()) main_complete += f[0] == 'm';
        const std::size_t before = ahead ? main_complete + (peer.in_frame() ? 1 : 0) : mains.size();
        stats.push_back({id, ahead, before});
        waiting = stats.size() - 1;
        queued_bytes += encoded(stats_payload(id)).size();
      } else {
        RC_ASSERT(was_waiting);  // refused only while one waits
      }
    } else {
      peer.drain(q, *rc::gen::inRange<std::size_t>(0, 4 * bound),
                 *rc::gen::inRange<std::size_t>(1, bound));
    }
    // Every byte queued is pending until sent: at most one stats frame waits.
    RC_ASSERT(q.pending() == queued_bytes - peer.bytes());
    if (!q.stats_waiting()) waiting = kNoStats;
  }
  peer.drain(q, static_cast<std::size_t>(-1), 1 << 20);
  RC_ASSERT(q.empty());

  std::vector<std::string> got_mains;
  std::size_t next_stats = 0;
  for (const std::string& f : peer.frames()) {
    if (f[0] == 'm') {
      got_mains.push_back(f);
      continue;
    }
    while (next_stats < stats.size() && stats[next_stats].dropped) ++next_stats;
    RC_ASSERT(next_stats < stats.size());
    const StatsPush& s = stats[next_stats++];
    RC_ASSERT(f == stats_payload(s.id));
    if (s.ahead) {
      RC_ASSERT(got_mains.size() <= s.main_before);  // at the next frame boundary
    } else {
      RC_ASSERT(got_mains.size() >= s.main_before);  // behind what it counts
    }
  }
  while (next_stats < stats.size() && stats[next_stats].dropped) ++next_stats;
  RC_ASSERT(next_stats == stats.size());  // every stats not replaced arrived
  RC_ASSERT(got_mains == mains);
}

RC_GTEST_PROP(SendQueueProperty, WithoutFrameBoundsBytesOutAreTheFramesIn, ()) {
  const std::size_t bound = *rc::gen::inRange<std::size_t>(16, 3000);
  SendQueue q(bound, false);
  Peer peer;
  q.push_preamble(std::string(kPreamble));
  std::vector<std::string> mains;
  const int steps = *rc::gen::inRange(1, 80);
  for (int step = 0; step < steps; ++step) {
    if (*rc::gen::arbitrary<bool>()) {
      mains.push_back(main_payload(mains.size(), *rc::gen::inRange<std::size_t>(0, bound)));
      q.push_text(mains.back());
    } else {
      peer.drain(q, *rc::gen::inRange<std::size_t>(0, 4 * bound),
                 *rc::gen::inRange<std::size_t>(1, bound));
    }
    RC_ASSERT(!q.push_stats("{}"));  // only a queue keeping frame ends takes stats
  }
  peer.drain(q, static_cast<std::size_t>(-1), 1 << 20);
  RC_ASSERT(peer.frames() == mains);
}

TEST(SendQueue, NothingStartsBeforeThePreamble) {
  SendQueue q(16, true);
  q.push_preamble(std::string(kPreamble));
  q.push_text(std::string(100, 'x'));  // congested: more than half the bound
  ASSERT_TRUE(q.congested());
  ASSERT_TRUE(q.push_stats("{}"));
  EXPECT_EQ(std::string_view(q.next_chunk().data(), q.next_chunk().size()), kPreamble);
}

TEST(SendQueue, TheBoundAndOnePast) {
  SendQueue q(100, true);
  q.push_text(std::string(98, 'x'));  // 2 + 98 bytes: exactly the bound
  EXPECT_EQ(q.pending(), 100u);
  EXPECT_TRUE(q.within_bound());
  q.push_frame(ws::Opcode::pong, "");  // pongs count as well
  EXPECT_EQ(q.pending(), 102u);
  EXPECT_FALSE(q.within_bound());
}

TEST(SendQueue, AFrameTakenInPlaceIsNotCopied) {
  SendQueue q(1 << 20, true);
  std::string frame = start_text_frame();
  frame += std::string(100000, 'x');
  const char* payload = frame.data() + kFrameGap;
  const std::size_t begin = finish_text_frame(frame);
  q.push_in_place(frame, begin, true);
  std::span<char> chunk = q.next_chunk();
  EXPECT_EQ(chunk.data() + (kFrameGap - begin), payload);
  EXPECT_EQ(chunk.size(), 100000 + kFrameGap - begin);
}

TEST(SendQueue, GivesMemoryBackOnceDrained) {
  SendQueue q(1 << 20, true);
  q.push_text(std::string(200000, 'x'));
  EXPECT_GT(q.capacity(), 200000u);
  q.advance(q.next_chunk().size());
  EXPECT_TRUE(q.empty());
  EXPECT_LE(q.capacity(), 2 * SendQueue::kKeepCapacity);
}

TEST(SendQueue, AQueueThatNeverDrainsDropsWhatItSent) {
  // An admin always a frame behind: its buffer does not grow with all it
  // ever sent.
  SendQueue q(1 << 20, true);
  q.push_text(std::string(10000, 'x'));
  for (int i = 0; i < 1000; ++i) {
    q.push_text(std::string(10000, 'x'));
    q.advance(q.next_chunk().size() - 1);
  }
  EXPECT_LT(q.pending(), 20100u);
  EXPECT_LT(q.capacity(), 200000u);
}

}  // namespace
}  // namespace presence
