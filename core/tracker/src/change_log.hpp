// The change stream: a bounded byte ring of serialized join/leave records with
// a seq -> position index. Appending drops the oldest records; a reader whose
// next seq was dropped is told it is behind. No work per reader.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "change_record.hpp"
#include "tracker_layout.hpp"

namespace presence::shm {

class ChangeLog {
 public:
  ChangeLog(std::byte* base, ChangeLogState& state) noexcept : base_(base), st_(state) {}

  static void format(ChangeLogState& state, Offset index, std::uint32_t index_slots, Offset ring,
                     std::uint32_t ring_bytes) noexcept;

  std::uint64_t head_seq() const noexcept {
    return std::atomic_ref<std::uint64_t>(st_.head_seq).load(std::memory_order_acquire);
  }

  // Appends one record of `bytes` bytes written by write(RingSink&, seq).
  template <class Write>
  void append(std::size_t bytes, Write&& write) noexcept {
    const std::uint64_t seq = st_.head_seq + 1;
    while (st_.tail_seq < seq && (st_.head_pos + bytes - st_.tail_pos > st_.ring_bytes ||
                                  seq - st_.tail_seq >= st_.index_slots)) {
      drop_oldest();
    }
    index()[seq % st_.index_slots] = st_.head_pos;
    RingSink sink{ring(), st_.ring_bytes, st_.head_pos};
    write(sink, seq);
    st_.head_pos += bytes;
    std::atomic_ref<std::uint64_t>(st_.head_seq).store(seq, std::memory_order_release);
  }

  struct Range {
    std::uint64_t begin_pos;
    std::uint64_t end_pos;
    std::uint64_t last_seq;
  };
  // The records with seq in (since, since + max]; false when `since + 1` was dropped.
  bool range(std::uint64_t since, std::size_t max, Range* out) const noexcept;
  void copy_out(std::uint64_t begin_pos, std::uint64_t end_pos, std::byte* out) const noexcept;

  // After a repair: skip one seq and drop everything, so every reader resyncs.
  void invalidate() noexcept;

 private:
  std::uint64_t* index() const noexcept {
    return reinterpret_cast<std::uint64_t*>(base_ + st_.index);
  }
  std::byte* ring() const noexcept { return base_ + st_.ring; }
  void drop_oldest() noexcept;

  std::byte* base_;
  ChangeLogState& st_;
};

}  // namespace presence::shm
