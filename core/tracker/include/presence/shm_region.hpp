// A position-independent block allocator inside a fixed memory region: blocks
// of size classes (16-byte granules), carved from a bump pointer and recycled
// through per-class free lists linked by offset. Every block starts with a
// header naming its kind, so the whole arena can be walked to rebuild state.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace presence::shm {

// Byte offset from the region base; 0 is null (the region header lives there).
using Offset = std::uint32_t;
inline constexpr std::size_t kMaxRegionBytes = 0xFFFFFFF0u;

inline constexpr std::size_t kGranule = 16;
inline constexpr std::size_t kMaxBlockBytes = 1024;
inline constexpr std::size_t kSizeClasses = kMaxBlockBytes / kGranule;

enum class BlockKind : std::uint8_t { free = 0, meta = 1, key = 2, topic = 3, interned = 4 };

struct BlockHeader {
  std::uint16_t granules;
  BlockKind kind;
  std::uint8_t flags;
  std::uint32_t aux;  // free: next free block; meta: handle generation
};
static_assert(std::is_trivially_copyable_v<BlockHeader> && sizeof(BlockHeader) == 8);

struct ArenaState {
  Offset begin;
  Offset end;
  Offset bump;
  std::uint32_t reserved;
  std::uint64_t allocated_bytes;
  std::array<Offset, kSizeClasses> free_heads;
};
static_assert(std::is_trivially_copyable_v<ArenaState>);

class Arena {
 public:
  Arena(std::byte* base, ArenaState& state) noexcept : base_(base), st_(state) {}

  static void format(ArenaState& state, Offset begin, Offset end) noexcept;

  // A zeroed block of at least `bytes` (header included); 0 when the region is
  // full, or when carving it would leave less than `keep` fresh bytes.
  Offset allocate(std::size_t bytes, BlockKind kind, std::size_t keep = 0) noexcept;
  void release(Offset block) noexcept;

  // Forget the free lists and the accounting, then walk every carved block in
  // address order: f(offset, header&). Used by crash repair.
  template <class F>
  void walk(F&& f) noexcept {
    for (Offset off = st_.begin; off < st_.bump;) {
      auto* h = reinterpret_cast<BlockHeader*>(base_ + off);
      const std::uint32_t size = std::uint32_t{h->granules} * kGranule;
      if (size == 0 || off + size > st_.bump) {
        st_.bump = off;  // a header never completed: the carve did not happen
        return;
      }
      f(off, *h);
      off += size;
    }
  }
  void reset_free_lists() noexcept;
  // During a rebuild: account a live block, or put a block back on its free list.
  void adopt_live(Offset block) noexcept;
  void adopt_free(Offset block) noexcept;

  static constexpr std::size_t block_bytes(std::size_t bytes) noexcept {
    return (bytes + kGranule - 1) / kGranule * kGranule;
  }

 private:
  std::byte* base_;
  ArenaState& st_;
};

}  // namespace presence::shm
