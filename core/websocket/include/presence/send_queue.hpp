// One socket's output: the bytes queued for the peer, in order, drained by
// whatever the transport can take without blocking. Besides the main queue
// it holds at most one stats frame, which never waits for the bound and, on
// a socket whose presence backlog is congested, goes out ahead of it at the
// next frame boundary.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "presence/ws_frame.hpp"

namespace presence {

// A text frame built in place: its payload is appended after kFrameGap bytes
// left for the header, so a multi-megabyte feed message is never copied.
inline constexpr std::size_t kFrameGap = ws::kMaxFrameHeaderBytes;
// A string holding only the gap; append the payload to it.
std::string start_text_frame();
// Writes the header in front of the payload; returns where the frame begins.
std::size_t finish_text_frame(std::string& frame) noexcept;

class SendQueue {
 public:
  // Memory above this is given back once everything queued is sent.
  static constexpr std::size_t kKeepCapacity = 4096;

  // `bound` is what may be queued before the socket counts as over it (one
  // push of any size is taken while within it). `frame_bounds` keeps where
  // each frame ends, which only a socket taking stats frames needs.
  SendQueue(std::size_t bound, bool frame_bounds) noexcept
      : bound_(bound), frame_bounds_(frame_bounds) {}

  // Every push throws std::bad_alloc with the queue as it was.

  // Bytes that precede every frame (the HTTP answer of the upgrade); nothing,
  // not even a stats frame, starts before they are sent. Only when empty.
  void push_preamble(std::string bytes);
  // One frame encoded from its payload.
  void push_frame(ws::Opcode op, std::string_view payload);
  void push_text(std::string_view text) { push_frame(ws::Opcode::text, text); }
  void push_close(ws::CloseCode code, std::string_view reason);
  // A frame from finish_text_frame, starting at `begin`: taken without a copy
  // (the string is swapped with the queue's) when `take` is set and nothing
  // is waiting in the main queue, copied otherwise.
  void push_in_place(std::string& frame, std::size_t begin, bool take);
  // A stats message: behind everything queued while the socket keeps up, at
  // the next frame boundary while it is congested, where a newer one replaces
  // one not begun. False (try again later) while one waits that cannot be
  // replaced, or when this queue keeps no frame bounds.
  bool push_stats(std::string_view text);
  // A stats frame waits (or is being sent).
  bool stats_waiting() const noexcept { return !stats_.empty(); }

  // What to send next (empty when nothing is); valid until the next call
  // that changes the queue.
  std::span<char> next_chunk() noexcept;
  // n bytes of next_chunk() were sent.
  void advance(std::size_t n) noexcept;
  // Drops a stats frame not begun: nothing may follow a close frame.
  void drop_stats_not_begun() noexcept;

  // Every byte queued and not yet sent, a waiting stats frame included.
  std::size_t pending() const noexcept { return main_pending() + stats_.size() - stats_pos_; }
  bool empty() const noexcept { return pending() == 0; }
  std::size_t bound() const noexcept { return bound_; }
  bool within_bound() const noexcept { return pending() <= bound_; }
  // The main queue holds more than half the bound: stats go ahead of it.
  bool congested() const noexcept { return main_pending() > bound_ / 2; }
  // Heap bytes held by the queue's buffers.
  std::size_t capacity() const noexcept;

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  std::size_t main_pending() const noexcept { return out_.size() - out_pos_; }
  // Appends with append(out_) and records the frame's end; strong guarantee.
  template <typename Append>
  void push_unit(Append&& append);
  // The main queue position is between two frames (or nothing is queued).
  bool at_boundary() const noexcept { return main_pending() == 0 || out_pos_ == at_bound_; }
  bool stats_may_start() const noexcept;
  void reset_if_drained() noexcept;

  std::size_t bound_;
  bool frame_bounds_;
  std::string out_;  // main queue; bytes before out_pos_ are sent
  std::size_t out_pos_ = 0;
  std::vector<std::size_t> bounds_;  // frame ends in out_, ascending (frame_bounds_ only)
  std::size_t bounds_head_ = 0;      // bounds_ before it are at or behind out_pos_
  std::size_t at_bound_ = 0;         // the last frame end out_pos_ reached
  std::string stats_;                // the waiting stats frame, encoded
  std::size_t stats_pos_ = 0;        // its bytes already sent
  std::size_t stats_after_ = 0;      // it starts no earlier than this out_ position
};

}  // namespace presence
