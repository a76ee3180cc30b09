#include "shopper_model.hpp"

#include <algorithm>

#include "presence/phoenix_message.hpp"

namespace presence::sim {
namespace {

// What one update does, in percent of updates.
constexpr int kBrowsePercent = 60;
constexpr int kAddPercent = 25;
// Where browsing goes, in percent of page changes; the rest goes to product pages.
constexpr int kListingPercent = 15;
constexpr int kHomePercent = 10;
constexpr int kCartPercent = 10;
constexpr int kCheckoutPercent = 5;

std::uint64_t mix(std::uint64_t x) noexcept {  // splitmix64's finaliser: a well-spread hash
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

int percent(Rng& rng) {
  return std::uniform_int_distribution<int>(0, 99)(rng);
}

std::size_t pick(Rng& rng, std::size_t n) {
  return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
}

void append_items(std::string& out, const Cart& cart) {
  out += '[';
  for (std::size_t i = 0; i < cart.items.size(); ++i) {
    const CartItem& item = cart.items[i];
    if (i != 0) out += ',';
    out += "{\"product\":";
    phoenix::append_json_string(out, item.product);
    out += ",\"size\":";
    phoenix::append_json_string(out, item.size);
    out += ",\"qty\":" + std::to_string(item.qty) + "}";
  }
  out += ']';
}

}  // namespace

std::size_t ShopperModel::tabs_of(std::uint64_t shopper) const noexcept {
  const std::uint64_t h = mix(shopper);
  const double u = static_cast<double>(h >> 11) * 0x1.0p-53;
  if (u >= tabs_fraction_) return 1;
  return 2 + (h & 1);
}

std::size_t ShopperModel::landing_page(Rng& rng) const {
  return browse_target(rng);
}

std::size_t ShopperModel::browse_target(Rng& rng) const {
  int r = percent(rng);
  if ((r -= kListingPercent) < 0) return catalogue_.listing_page();
  if ((r -= kHomePercent) < 0) return catalogue_.home_page();
  if ((r -= kCartPercent) < 0) return catalogue_.cart_page();
  if ((r -= kCheckoutPercent) < 0) return catalogue_.checkout_page();
  return catalogue_.product_page(pick(rng, kProducts.size()));
}

void ShopperModel::add_shoe(Rng& rng, Cart& cart, std::size_t page) const {
  std::size_t product = catalogue_.product_of_page(page);
  if (product == kProducts.size()) product = pick(rng, kProducts.size());
  CartItem item{std::string(kProducts[product]), std::string(kSizes[pick(rng, kSizes.size())]), 1};
  auto same = std::find_if(cart.items.begin(), cart.items.end(), [&](const CartItem& c) {
    return c.product == item.product && c.size == item.size;
  });
  if (same != cart.items.end()) {
    same->qty = std::min(same->qty + 1, kMaxQty);
  } else if (cart.items.size() < kMaxCartItems) {
    cart.items.push_back(std::move(item));
  } else {
    cart.items[pick(rng, cart.items.size())] = std::move(item);
  }
}

std::string ShopperModel::join_payload(const Cart& cart, std::size_t page) const {
  std::string out = "{\"page\":";
  phoenix::append_json_string(out, catalogue_.page(page));
  out += ",\"items\":";
  append_items(out, cart);
  out += '}';
  return out;
}

std::string ShopperModel::next_update(Rng& rng, Cart& cart, std::size_t& page) const {
  const int r = percent(rng);
  if (r < kBrowsePercent) {
    page = browse_target(rng);
    return page_payload(catalogue_.page(page));
  }
  if (r < kBrowsePercent + kAddPercent || cart.items.empty()) {
    add_shoe(rng, cart, page);
  } else {
    cart.items.erase(cart.items.begin() +
                     static_cast<std::ptrdiff_t>(pick(rng, cart.items.size())));
  }
  return items_payload(cart);
}

std::string page_payload(const std::string& page) {
  std::string out = "{\"page\":";
  phoenix::append_json_string(out, page);
  out += '}';
  return out;
}

std::string items_payload(const Cart& cart) {
  std::string out = "{\"items\":";
  append_items(out, cart);
  out += '}';
  return out;
}

}  // namespace presence::sim
