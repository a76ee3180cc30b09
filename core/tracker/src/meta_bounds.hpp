// The protocol's bounds (docs/PROTOCOL.md section 12) every stored meta
// respects, checked before locking, whether the meta comes from a local
// shopper or from a peer's delta.
#pragma once

#include <algorithm>
#include <string_view>

#include "presence/cart_meta.hpp"
#include "presence/tracker_types.hpp"

namespace presence::shm {

inline bool within_bounds(const CartMeta& meta) {
  if (meta.page.size() > kMaxPageBytes || meta.items.size() > kMaxItems) return false;
  return std::all_of(meta.items.begin(), meta.items.end(), [](const CartItem& item) {
    return !item.product.empty() && item.product.size() <= kMaxProductBytes &&
           item.size.size() <= kMaxSizeBytes && item.qty >= kMinQty && item.qty <= kMaxQty;
  });
}

inline bool within_bounds(std::string_view topic, std::string_view key) {
  return !topic.empty() && topic.size() <= kMaxTopicBytes && !key.empty() &&
         key.size() <= kMaxKeyBytes;
}

}  // namespace presence::shm
