#include "presence/cart_payload.hpp"

#include <cstdint>
#include <new>
#include <optional>
#include <string_view>
#include <utility>

namespace presence {
namespace {

using nlohmann::json;

// An error message, or nullopt when the field passed.
using Refusal = std::optional<std::string>;

Refusal check_text(const json& value, const std::string& name, std::size_t max_bytes,
                   bool may_be_empty) {
  if (!value.is_string()) return name + " must be a string";
  const auto& text = value.get_ref<const std::string&>();
  if (!may_be_empty && text.empty()) return name + " is empty";
  if (text.size() > max_bytes) return name + " too long";
  return std::nullopt;
}

Refusal parse_qty(const json& value, const std::string& name, std::uint32_t* qty) {
  if (!value.is_number_integer()) return name + " must be an integer";
  // Unsigned values above kMaxQty are refused before they could wrap in the signed read.
  if (value.is_number_unsigned() && value.get<std::uint64_t>() > kMaxQty) {
    return name + " out of range";
  }
  const auto v = value.get<std::int64_t>();
  if (v < static_cast<std::int64_t>(kMinQty) || v > static_cast<std::int64_t>(kMaxQty)) {
    return name + " out of range";
  }
  *qty = static_cast<std::uint32_t>(v);
  return std::nullopt;
}

Refusal parse_item(const json& value, const std::string& name, CartItem* item) {
  if (!value.is_object()) return name + " must be an object";
  bool has_product = false;
  bool has_size = false;
  for (const auto& [key, field] : value.items()) {
    if (key == "product") {
      if (auto refusal = check_text(field, name + ".product", kMaxProductBytes, false)) {
        return refusal;
      }
      item->product = field.get<std::string>();
      has_product = true;
    } else if (key == "size") {
      if (auto refusal = check_text(field, name + ".size", kMaxSizeBytes, false)) return refusal;
      item->size = field.get<std::string>();
      has_size = true;
    } else if (key == "qty") {
      if (auto refusal = parse_qty(field, name + ".qty", &item->qty)) return refusal;
    } else {
      return name + " has an unknown field";
    }
  }
  if (!has_product) return name + ".product missing";
  if (!has_size) return name + ".size missing";
  return std::nullopt;
}

Refusal parse_items(const json& value, std::vector<CartItem>* items) {
  if (!value.is_array()) return std::string("items must be an array");
  if (value.size() > kMaxItems) return std::string("too many items");
  std::vector<CartItem> parsed;
  parsed.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    const std::string name = "items[" + std::to_string(i) + "]";
    CartItem item;
    if (auto refusal = parse_item(value[i], name, &item)) return refusal;
    CartItem* same = nullptr;
    for (auto& earlier : parsed) {
      if (earlier.product == item.product && earlier.size == item.size) same = &earlier;
    }
    if (same == nullptr) {
      parsed.push_back(std::move(item));
    } else if (same->qty + item.qty > kMaxQty) {
      return name + ".qty out of range once merged with the same product and size";
    } else {
      same->qty += item.qty;
    }
  }
  *items = std::move(parsed);
  return std::nullopt;
}

CartPayloadResult parse_onto(const json& payload, CartMeta meta) noexcept {
  try {
    if (!payload.is_object()) return {false, {}, "payload must be an object"};
    for (const auto& [key, value] : payload.items()) {
      Refusal refusal;
      if (key == "page") {
        refusal = check_text(value, "page", kMaxPageBytes, true);
        if (!refusal) meta.page = value.get<std::string>();
      } else if (key == "items") {
        refusal = parse_items(value, &meta.items);
      } else {
        refusal = "unknown field in payload";
      }
      if (refusal) return {false, {}, std::move(*refusal)};
    }
    return {true, std::move(meta), {}};
  } catch (const std::bad_alloc&) {
    return {false, {}, "out of memory"};
  }
}

}  // namespace

CartPayloadResult parse_join_payload(const nlohmann::json& payload) noexcept {
  return parse_onto(payload, CartMeta{});
}

CartPayloadResult parse_update_payload(const nlohmann::json& payload,
                                       const CartMeta& current) noexcept {
  try {
    return parse_onto(payload, current);
  } catch (const std::bad_alloc&) {
    return {false, {}, "out of memory"};
  }
}

}  // namespace presence
