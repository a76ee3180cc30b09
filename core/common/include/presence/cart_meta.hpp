// What one shopper connection reports about itself: the page it shows and the
// cart it holds. Bounds: docs/PROTOCOL.md section 6.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace presence {

inline constexpr std::size_t kMaxPageBytes = 256;
inline constexpr std::size_t kMaxItems = 100;
inline constexpr std::size_t kMaxProductBytes = 64;
inline constexpr std::size_t kMaxSizeBytes = 16;
inline constexpr std::uint32_t kMinQty = 1;
inline constexpr std::uint32_t kMaxQty = 99;
inline constexpr std::size_t kMaxSubBytes = 128;

struct CartItem {
  std::string product;
  std::string size;
  std::uint32_t qty = 1;

  bool operator==(const CartItem&) const = default;
};

struct CartMeta {
  std::string page;
  std::vector<CartItem> items;

  bool operator==(const CartMeta&) const = default;
};

// A token subject (cart id or admin name): 1 to 128 bytes of [A-Za-z0-9._:-].
bool is_valid_subject(const std::string& sub);

}  // namespace presence
