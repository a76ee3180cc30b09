#include "presence/send_queue.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

namespace presence {

std::string start_text_frame() {
  return std::string(kFrameGap, '\0');
}

std::size_t finish_text_frame(std::string& frame) noexcept {
  std::uint8_t header[ws::kMaxFrameHeaderBytes];
  const std::size_t size =
      ws::write_frame_header(header, ws::Opcode::text, frame.size() - kFrameGap, true, nullptr);
  const std::size_t begin = kFrameGap - size;
  std::memcpy(frame.data() + begin, header, size);
  return begin;
}

template <typename Append>
void SendQueue::push_unit(Append&& append) {
  // Bytes already sent are dropped once they are most of the buffer, so a
  // queue that never drains completely does not grow with all it ever sent.
  if (out_pos_ > kKeepCapacity && out_pos_ >= out_.size() / 2) {
    out_.erase(0, out_pos_);
    bounds_.erase(bounds_.begin(), bounds_.begin() + static_cast<std::ptrdiff_t>(bounds_head_));
    for (std::size_t& end : bounds_) end -= out_pos_;
    bounds_head_ = 0;
    at_bound_ = at_bound_ == out_pos_ ? 0 : kNone;
    stats_after_ = stats_after_ > out_pos_ ? stats_after_ - out_pos_ : 0;
    out_pos_ = 0;
  }
  if (frame_bounds_ && bounds_.size() == bounds_.capacity()) {
    bounds_.reserve(std::max<std::size_t>(16, bounds_.capacity() * 2));
  }
  const std::size_t before = out_.size();
  try {
    append(out_);
  } catch (...) {
    out_.resize(before);
    throw;
  }
  if (frame_bounds_) bounds_.push_back(out_.size());  // capacity reserved above
}

void SendQueue::push_preamble(std::string bytes) {
  push_unit([&](std::string& out) { out.append(bytes); });
  at_bound_ = kNone;
}

void SendQueue::push_frame(ws::Opcode op, std::string_view payload) {
  push_unit([&](std::string& out) { ws::append_frame(out, op, payload); });
}

void SendQueue::push_close(ws::CloseCode code, std::string_view reason) {
  push_unit([&](std::string& out) { ws::append_close(out, code, reason); });
}

void SendQueue::push_in_place(std::string& frame, std::size_t begin, bool take) {
  if (!take || main_pending() != 0) {
    push_unit([&](std::string& out) { out.append(frame, begin); });
    return;
  }
  // The usual case of an admin that keeps up: its queue becomes the frame.
  if (frame_bounds_) {
    bounds_.clear();
    bounds_.reserve(16);
  }
  out_.swap(frame);
  out_pos_ = begin;
  bounds_head_ = 0;
  at_bound_ = begin;
  stats_after_ = 0;
  if (frame_bounds_) bounds_.push_back(out_.size());
}

bool SendQueue::push_stats(std::string_view text) {
  if (!frame_bounds_ || stats_pos_ > 0) return false;
  const bool ahead = congested();
  if (!ahead && !stats_.empty()) return false;
  std::string frame;
  ws::append_frame(frame, ws::Opcode::text, text);
  stats_.swap(frame);
  stats_after_ = ahead ? out_pos_ : out_.size();
  return true;
}

bool SendQueue::stats_may_start() const noexcept {
  if (stats_.empty()) return false;
  if (stats_pos_ > 0 || main_pending() == 0) return true;
  return out_pos_ == at_bound_ && out_pos_ >= stats_after_;
}

std::span<char> SendQueue::next_chunk() noexcept {
  if (stats_may_start()) return std::span<char>(stats_).subspan(stats_pos_);
  std::size_t limit = main_pending();
  if (limit == 0) return {};
  if (!stats_.empty()) {
    // Stop where the stats frame may go: at its place, or once it may go
    // anywhere, at the end of the frame being sent.
    if (out_pos_ < stats_after_) {
      limit = stats_after_ - out_pos_;
    } else if (bounds_head_ < bounds_.size()) {
      limit = bounds_[bounds_head_] - out_pos_;
    }
  }
  return std::span<char>(out_).subspan(out_pos_, limit);
}

void SendQueue::advance(std::size_t n) noexcept {
  if (stats_may_start()) {
    stats_pos_ += n;
    if (stats_pos_ == stats_.size()) {
      stats_.clear();
      stats_pos_ = 0;
      if (stats_.capacity() > kKeepCapacity) std::string().swap(stats_);
    }
    return;
  }
  out_pos_ += n;
  while (bounds_head_ < bounds_.size() && bounds_[bounds_head_] <= out_pos_) {
    at_bound_ = bounds_[bounds_head_++];
  }
  reset_if_drained();
}

void SendQueue::reset_if_drained() noexcept {
  if (main_pending() != 0) return;
  out_.clear();
  out_pos_ = 0;
  bounds_.clear();
  bounds_head_ = 0;
  at_bound_ = 0;
  stats_after_ = 0;
  if (out_.capacity() > kKeepCapacity) std::string().swap(out_);
  if (bounds_.capacity() > kKeepCapacity / sizeof(std::size_t))
    std::vector<std::size_t>().swap(bounds_);
}

void SendQueue::drop_stats_not_begun() noexcept {
  if (stats_pos_ == 0) stats_.clear();
}

std::size_t SendQueue::capacity() const noexcept {
  return out_.capacity() + stats_.capacity() + bounds_.capacity() * sizeof(std::size_t);
}

}  // namespace presence
