// How a simulated shopper behaves: how many tabs it opens, where it lands, and what each update
// does (browse to a page, add a shoe in a size, take one out), as the JSON payloads the shopper
// channel takes (docs/PROTOCOL.md section 6).
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "catalogue.hpp"
#include "presence/cart_meta.hpp"

namespace presence::sim {

using Rng = std::mt19937_64;

// A shopper with several tabs opens 2 or 3 of them.
inline constexpr std::size_t kMaxTabs = 3;
// Carts stay small, as real ones do; far below kMaxItems.
inline constexpr std::size_t kMaxCartItems = 8;

struct Cart {
  std::vector<CartItem> items;
};

class ShopperModel {
 public:
  ShopperModel(const Catalogue& catalogue, double tabs_fraction) noexcept
      : catalogue_(catalogue), tabs_fraction_(tabs_fraction) {}

  // Deterministic in the shopper's index, so the parent's plan and every worker agree.
  std::size_t tabs_of(std::uint64_t shopper) const noexcept;

  std::size_t landing_page(Rng& rng) const;
  // The join payload {"page", "items"} of a tab showing `page` with this cart.
  std::string join_payload(const Cart& cart, std::size_t page) const;
  // One step of a visit: changes the tab's page or the cart and returns the update payload.
  std::string next_update(Rng& rng, Cart& cart, std::size_t& page) const;

 private:
  std::size_t browse_target(Rng& rng) const;
  void add_shoe(Rng& rng, Cart& cart, std::size_t page) const;

  const Catalogue& catalogue_;
  double tabs_fraction_;
};

// {"page": ...} and [{"product","size","qty"}...] as JSON text.
std::string page_payload(const std::string& page);
std::string items_payload(const Cart& cart);

}  // namespace presence::sim
