#include "presence/cart_payload.hpp"

#include <cstdint>
#include <new>
#include <string_view>
#include <utility>

namespace presence {
namespace {

using nlohmann::json;

Status malformed(std::string reason) {
  return {Errc::malformed, std::move(reason)};
}
Status out_of_range(const std::string& name) {
  return {Errc::invalid, name + " out of range"};
}

Status check_text(const json& value, const std::string& name, std::size_t max_bytes,
                  bool may_be_empty) {
  if (!value.is_string()) return malformed(name + " must be a string");
  const auto& text = value.get_ref<const std::string&>();
  if (!may_be_empty && text.empty()) return {Errc::invalid, name + " is empty"};
  if (text.size() > max_bytes) return {Errc::too_large, name + " too long"};
  return Status::ok();
}

Status parse_qty(const json& value, const std::string& name, std::uint32_t* qty) {
  if (!value.is_number_integer()) return malformed(name + " must be an integer");
  // Unsigned values above kMaxQty are refused before they could wrap in the signed read.
  if (value.is_number_unsigned() && value.get<std::uint64_t>() > kMaxQty) {
    return out_of_range(name);
  }
  const auto v = value.get<std::int64_t>();
  if (v < static_cast<std::int64_t>(kMinQty) || v > static_cast<std::int64_t>(kMaxQty)) {
    return out_of_range(name);
  }
  *qty = static_cast<std::uint32_t>(v);
  return Status::ok();
}

Status parse_item(const json& value, const std::string& name, CartItem* item) {
  if (!value.is_object()) return malformed(name + " must be an object");
  bool has_product = false;
  bool has_size = false;
  for (const auto& [key, field] : value.items()) {
    if (key == "product") {
      if (Status s = check_text(field, name + ".product", kMaxProductBytes, false); !s) return s;
      item->product = field.get<std::string>();
      has_product = true;
    } else if (key == "size") {
      if (Status s = check_text(field, name + ".size", kMaxSizeBytes, false); !s) return s;
      item->size = field.get<std::string>();
      has_size = true;
    } else if (key == "qty") {
      if (Status s = parse_qty(field, name + ".qty", &item->qty); !s) return s;
    } else {
      return malformed(name + " has an unknown field");
    }
  }
  if (!has_product) return malformed(name + ".product missing");
  if (!has_size) return malformed(name + ".size missing");
  return Status::ok();
}

Status parse_items(const json& value, std::vector<CartItem>* items) {
  if (!value.is_array()) return malformed("items must be an array");
  if (value.size() > kMaxItems) return {Errc::too_large, "too many items"};
  std::vector<CartItem> parsed;
  parsed.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    const std::string name = "items[" + std::to_string(i) + "]";
    CartItem item;
    if (Status s = parse_item(value[i], name, &item); !s) return s;
    CartItem* same = nullptr;
    for (auto& earlier : parsed) {
      if (earlier.product == item.product && earlier.size == item.size) same = &earlier;
    }
    if (same == nullptr) {
      parsed.push_back(std::move(item));
    } else if (same->qty + item.qty > kMaxQty) {
      return {Errc::invalid, name + ".qty out of range once merged with the same product and size"};
    } else {
      same->qty += item.qty;
    }
  }
  *items = std::move(parsed);
  return Status::ok();
}

Result<CartMeta> parse_onto(const json& payload, CartMeta meta) noexcept {
  try {
    if (!payload.is_object()) return malformed("payload must be an object");
    for (const auto& [key, value] : payload.items()) {
      Status status;
      if (key == "page") {
        status = check_text(value, "page", kMaxPageBytes, true);
        if (status) meta.page = value.get<std::string>();
      } else if (key == "items") {
        status = parse_items(value, &meta.items);
      } else {
        status = malformed("unknown field in payload");
      }
      if (!status) return status;
    }
    return meta;
  } catch (const std::bad_alloc&) {
    return Status{Errc::exhausted, "out of memory"};
  }
}

}  // namespace

Result<CartMeta> parse_join_payload(const nlohmann::json& payload) noexcept {
  return parse_onto(payload, CartMeta{});
}

Result<CartMeta> parse_update_payload(const nlohmann::json& payload,
                                      const CartMeta& current) noexcept {
  try {
    return parse_onto(payload, current);
  } catch (const std::bad_alloc&) {
    return Status{Errc::exhausted, "out of memory"};
  }
}

}  // namespace presence
