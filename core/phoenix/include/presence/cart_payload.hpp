// Field-by-field validation of a shopper's cart:<sub> payloads (CONTRACT.md section 3): the
// phx_join payload and the `update` event, into the CartMeta the tracker stores.
//
// Shape: {"page"?: string, "items"?: [{"product": string, "size": string, "qty"?: integer}]}.
// Unknown fields (top level or in an item), wrong types, an empty or over-long product or size,
// more than kMaxItems items and a qty outside kMinQty..kMaxQty (or not an integer: 2.0 is refused)
// are all refused, with a reason naming the field, e.g. "items[3].qty out of range".
//
// Duplicates: items with the same (product, size) are merged into the first one, their qty
// summed, and the sum must stay within kMaxQty. The stats count shoes by product and size anyway,
// so merging keeps a meta canonical without changing what the dashboard shows. kMaxItems bounds
// the items as sent, before merging.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "presence/cart_meta.hpp"

namespace presence {

struct CartPayloadResult {
  bool ok = false;
  CartMeta meta;       // when ok: the validated meta
  std::string reason;  // when !ok: short and specific, sent back in the error reply
};

// Every field optional: page defaults to "", items to [].
CartPayloadResult parse_join_payload(const nlohmann::json& payload) noexcept;

// Fields present replace the current ones (items as a whole); absent fields keep their value.
CartPayloadResult parse_update_payload(const nlohmann::json& payload,
                                       const CartMeta& current) noexcept;

}  // namespace presence
