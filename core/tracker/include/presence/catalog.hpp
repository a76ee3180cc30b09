// The store's catalogue of products and the sizes each comes in, read from a
// file named by the configuration: with one, a shopper's cart may only name
// what it lists, so shoppers cannot fill the stats or the zone with products
// of their own making.
//
// File format (JSON): an object from product to the array of its sizes,
//   {"air-max-90": ["9", "9.5", "10"], "pegasus-40": ["8", "8.5"]}
// Products and sizes follow the cart's own bounds (1 to kMaxProductBytes and 1
// to kMaxSizeBytes bytes of UTF-8); the file is at most kMaxCatalogBytes and
// lists at most kMaxCatalogEntries (product, size) pairs.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>

#include "presence/cart_meta.hpp"
#include "presence/result.hpp"

namespace presence {

inline constexpr std::size_t kMaxCatalogBytes = 16 * 1024 * 1024;
inline constexpr std::size_t kMaxCatalogEntries = 1'000'000;

class Catalog {
 public:
  static Result<Catalog> parse(std::string_view text);
  static Result<Catalog> load(const std::string& path);

  bool allows(std::string_view product, std::string_view size) const;
  // True when every item of the meta names a listed product in a listed size.
  bool allows(const CartMeta& meta) const;

  std::size_t products() const noexcept { return products_; }
  std::size_t entries() const noexcept { return pairs_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  // Each pair as one string: the product's length in a byte, the product, the size.
  std::unordered_set<std::string, Hash, std::equal_to<>> pairs_;
  std::size_t products_ = 0;
};

}  // namespace presence
