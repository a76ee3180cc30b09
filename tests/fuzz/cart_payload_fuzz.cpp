// The cart payload validators on arbitrary JSON: whatever they accept lies within the protocol's
// bounds, and an update keeps exactly the fields it does not name.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "presence/cart_payload.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

void check_bounds(const presence::CartMeta& meta) {
  require(meta.page.size() <= presence::kMaxPageBytes);
  require(meta.items.size() <= presence::kMaxItems);
  for (std::size_t i = 0; i < meta.items.size(); ++i) {
    const auto& item = meta.items[i];
    require(!item.product.empty() && item.product.size() <= presence::kMaxProductBytes);
    require(!item.size.empty() && item.size.size() <= presence::kMaxSizeBytes);
    require(item.qty >= presence::kMinQty && item.qty <= presence::kMaxQty);
    for (std::size_t j = 0; j < i; ++j) {
      require(meta.items[j].product != item.product || meta.items[j].size != item.size);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto payload =
      nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (payload.is_discarded()) return 0;

  const auto join = presence::parse_join_payload(payload);
  if (join) {
    check_bounds(*join);
  } else {
    require(!join.reason().empty());
  }

  const presence::CartMeta current{"/current", {presence::CartItem{"kept", "9", 3}}};
  const auto update = presence::parse_update_payload(payload, current);
  require(static_cast<bool>(update) == static_cast<bool>(join));
  if (update) {
    check_bounds(*update);
    require(update->page == (payload.contains("page") ? join->page : current.page));
    require(update->items == (payload.contains("items") ? join->items : current.items));
  }
  return 0;
}
