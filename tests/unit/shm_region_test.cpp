#include "presence/shm_region.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace presence {
namespace {

using namespace presence::shm;

class ArenaTest : public ::testing::Test {
 protected:
  static constexpr Offset kBegin = 64;
  static constexpr Offset kEnd = kBegin + 4096;

  ArenaTest() : memory_(kEnd), arena_(memory_.data(), state_) {
    Arena::format(state_, kBegin, kEnd);
  }

  BlockHeader& header(Offset off) { return *reinterpret_cast<BlockHeader*>(memory_.data() + off); }

  std::vector<std::byte> memory_;
  ArenaState state_{};
  Arena arena_;
};

TEST_F(ArenaTest, AllocatesZeroedBlocksRoundedToGranules) {
  const Offset a = arena_.allocate(20, BlockKind::key);
  ASSERT_NE(a, 0u);
  EXPECT_EQ(a, kBegin);
  EXPECT_EQ(header(a).granules, 2u);
  EXPECT_EQ(header(a).kind, BlockKind::key);
  for (std::size_t i = sizeof(BlockHeader); i < 32; ++i) EXPECT_EQ(memory_[a + i], std::byte{0});
  EXPECT_EQ(arena_.allocate(16, BlockKind::meta), a + 32);
  EXPECT_EQ(state_.allocated_bytes, 48u);
}

TEST_F(ArenaTest, ReleasedBlocksAreReusedByTheirSizeClassOnly) {
  const Offset small = arena_.allocate(16, BlockKind::key);
  const Offset big = arena_.allocate(64, BlockKind::meta);
  std::memset(memory_.data() + big + sizeof(BlockHeader), 0xab, 64 - sizeof(BlockHeader));
  arena_.release(big);
  arena_.release(small);
  EXPECT_EQ(state_.allocated_bytes, 0u);
  EXPECT_EQ(arena_.allocate(64, BlockKind::interned), big);
  EXPECT_EQ(memory_[big + sizeof(BlockHeader)], std::byte{0});  // zeroed again
  EXPECT_EQ(arena_.allocate(16, BlockKind::key), small);
  EXPECT_GT(arena_.allocate(16, BlockKind::key), big);  // free list empty: carved anew
}

TEST_F(ArenaTest, RefusesOversizedBlocksAndAFullArena) {
  EXPECT_EQ(arena_.allocate(kMaxBlockBytes + 1, BlockKind::meta), 0u);
  EXPECT_NE(arena_.allocate(kMaxBlockBytes, BlockKind::meta), 0u);
  std::size_t carved = kMaxBlockBytes;
  while (arena_.allocate(kMaxBlockBytes, BlockKind::meta) != 0) carved += kMaxBlockBytes;
  EXPECT_EQ(carved, 4096u);
  EXPECT_EQ(arena_.allocate(16, BlockKind::key), 0u);
  EXPECT_EQ(state_.bump, kEnd);
}

TEST_F(ArenaTest, AWalkVisitsEveryBlockAndRebuildsTheFreeLists) {
  const Offset a = arena_.allocate(16, BlockKind::key);
  const Offset b = arena_.allocate(48, BlockKind::meta);
  const Offset c = arena_.allocate(16, BlockKind::topic);
  arena_.release(b);
  std::vector<Offset> seen;
  arena_.reset_free_lists();
  arena_.walk([&](Offset off, BlockHeader& h) {
    seen.push_back(off);
    if (h.kind == BlockKind::free) {
      arena_.adopt_free(off);
    } else {
      arena_.adopt_live(off);
    }
  });
  EXPECT_EQ(seen, (std::vector<Offset>{a, b, c}));
  EXPECT_EQ(state_.allocated_bytes, 32u);
  EXPECT_EQ(arena_.allocate(48, BlockKind::meta), b);
  // A header that was never completed ends the walk and gives the space back.
  header(state_.bump).granules = 0;
  state_.bump += 32;
  std::size_t blocks = 0;
  arena_.walk([&](Offset, BlockHeader&) { ++blocks; });
  EXPECT_EQ(blocks, 3u);
  EXPECT_EQ(state_.bump, c + 16);
}

}  // namespace
}  // namespace presence
