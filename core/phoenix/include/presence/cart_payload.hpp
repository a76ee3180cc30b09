// Field-by-field validation of a shopper's cart:<sub> payloads (docs/PROTOCOL.md section
// 6): the phx_join payload and the `update` event, into the CartMeta the tracker stores.
//
// Shape: {"page"?: string, "items"?: [{"product": string, "size": string, "qty"?: integer}]}.
// Unknown fields (top level or in an item), wrong types, an empty or over-long product or size,
// more than kMaxItems items and a qty outside kMinQty..kMaxQty (or not an integer: 2.0 is refused)
// are all refused, with a reason naming the field, e.g. "items[3].qty out of range":
// Errc::malformed for a wrong shape or type, Errc::too_large past a bound, Errc::invalid for a
// value out of range.
//
// Duplicates: items with the same (product, size) are merged into the first one, their qty
// summed, and the sum must stay within kMaxQty. The stats count shoes by product and size anyway,
// so merging keeps a meta canonical without changing what the dashboard shows. kMaxItems bounds
// the items as sent, before merging.
#pragma once

#include <nlohmann/json.hpp>

#include "presence/cart_meta.hpp"
#include "presence/result.hpp"

namespace presence {

// Every field optional: page defaults to "", items to []. The reason of a refusal is short and
// specific: it is sent back in the error reply.
Result<CartMeta> parse_join_payload(const nlohmann::json& payload) noexcept;

// Fields present replace the current ones (items as a whole); absent fields keep their value.
Result<CartMeta> parse_update_payload(const nlohmann::json& payload,
                                      const CartMeta& current) noexcept;

}  // namespace presence
