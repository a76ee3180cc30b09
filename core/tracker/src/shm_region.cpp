#include "presence/shm_region.hpp"

namespace presence::shm {

void Arena::format(ArenaState& state, Offset begin, Offset end) noexcept {
  state = ArenaState{};
  state.begin = begin;
  state.end = end;
  state.bump = begin;
}

Offset Arena::allocate(std::size_t bytes, BlockKind kind, std::size_t keep) noexcept {
  const std::size_t size = block_bytes(bytes);
  if (size == 0 || size > kMaxBlockBytes) return 0;
  const std::size_t cls = size / kGranule - 1;
  Offset off = st_.free_heads[cls];
  if (off != 0) {
    st_.free_heads[cls] = reinterpret_cast<BlockHeader*>(base_ + off)->aux;
  } else {
    if (st_.end - st_.bump < size + keep) return 0;
    off = st_.bump;
    // The header is written before the bump moves, so a walk never meets a
    // half-carved block.
    auto* h = reinterpret_cast<BlockHeader*>(base_ + off);
    h->granules = static_cast<std::uint16_t>(size / kGranule);
    h->kind = BlockKind::free;
    st_.bump = static_cast<Offset>(off + size);
  }
  auto* h = reinterpret_cast<BlockHeader*>(base_ + off);
  std::memset(base_ + off + sizeof(BlockHeader), 0, size - sizeof(BlockHeader));
  h->flags = 0;
  h->aux = 0;
  h->kind = kind;
  st_.allocated_bytes += size;
  return off;
}

void Arena::release(Offset block) noexcept {
  auto* h = reinterpret_cast<BlockHeader*>(base_ + block);
  const std::size_t size = std::size_t{h->granules} * kGranule;
  h->kind = BlockKind::free;
  h->flags = 0;
  adopt_free(block);
  st_.allocated_bytes -= size;
}

void Arena::reset_free_lists() noexcept {
  st_.free_heads.fill(0);
  st_.allocated_bytes = 0;
}

void Arena::adopt_live(Offset block) noexcept {
  st_.allocated_bytes +=
      std::size_t{reinterpret_cast<BlockHeader*>(base_ + block)->granules} * kGranule;
}

void Arena::adopt_free(Offset block) noexcept {
  auto* h = reinterpret_cast<BlockHeader*>(base_ + block);
  const std::size_t cls = h->granules - 1u;
  h->aux = st_.free_heads[cls];
  st_.free_heads[cls] = block;
}

}  // namespace presence::shm
