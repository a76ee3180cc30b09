#include "change_log.hpp"

#include <algorithm>
#include <cstring>

namespace presence::shm {

void ChangeLog::format(ChangeLogState& state, Offset index, std::uint32_t index_slots, Offset ring,
                       std::uint32_t ring_bytes) noexcept {
  state = ChangeLogState{};
  state.index = index;
  state.index_slots = index_slots;
  state.ring = ring;
  state.ring_bytes = ring_bytes;
  state.tail_seq = 1;
}

void ChangeLog::drop_oldest() noexcept {
  std::uint32_t bytes = 0;
  std::byte raw[sizeof bytes];
  copy_out(st_.tail_pos, st_.tail_pos + sizeof bytes, raw);
  std::memcpy(&bytes, raw, sizeof bytes);
  st_.tail_pos += bytes;
  ++st_.tail_seq;
}

bool ChangeLog::range(std::uint64_t since, std::size_t max, Range* out) const noexcept {
  const std::uint64_t head = st_.head_seq;
  if (since > head || since + 1 < st_.tail_seq) return false;
  const std::uint64_t last = std::min<std::uint64_t>(head, since + max);
  out->last_seq = last;
  if (last == since) {
    out->begin_pos = out->end_pos = st_.head_pos;
    return true;
  }
  out->begin_pos = index()[(since + 1) % st_.index_slots];
  out->end_pos = last == head ? st_.head_pos : index()[(last + 1) % st_.index_slots];
  return true;
}

void ChangeLog::copy_out(std::uint64_t begin_pos, std::uint64_t end_pos,
                         std::byte* out) const noexcept {
  std::uint64_t pos = begin_pos;
  while (pos < end_pos) {
    const std::size_t at = static_cast<std::size_t>(pos % st_.ring_bytes);
    const std::size_t chunk =
        std::min<std::size_t>(static_cast<std::size_t>(end_pos - pos), st_.ring_bytes - at);
    std::memcpy(out, ring() + at, chunk);
    out += chunk;
    pos += chunk;
  }
}

void ChangeLog::invalidate() noexcept {
  const std::uint64_t seq = st_.head_seq + 1;
  st_.tail_pos = st_.head_pos;
  st_.tail_seq = seq + 1;
  std::atomic_ref<std::uint64_t>(st_.head_seq).store(seq, std::memory_order_release);
}

}  // namespace presence::shm
