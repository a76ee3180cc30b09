// The sneaker store the shoppers browse: a few dozen products, sizes 6 to 13 in halves, and the
// pages a visit goes through. Small on purpose, so admin stats stay the size of a real store's.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace presence::sim {

inline constexpr std::array<std::string_view, 36> kProducts = {
    "air-max-90",     "air-max-1",     "air-max-97",   "air-force-1",   "jordan-1-high",
    "jordan-4-retro", "jordan-11",     "dunk-low",     "dunk-high",     "blazer-mid-77",
    "cortez",         "pegasus-40",    "yeezy-350-v2", "ultraboost-22", "samba-og",
    "gazelle",        "superstar",     "stan-smith",   "forum-low",     "nmd-r1",
    "gel-lyte-iii",   "gel-kayano-14", "990v5",        "550",           "2002r",
    "chuck-70",       "old-skool",     "sk8-hi",       "suede-classic", "club-c-85",
    "xt-6",           "speedcross-6",  "clifton-9",    "cloudmonster",  "ghost-15",
    "wave-rider-27"};

inline constexpr std::array<std::string_view, 15> kSizes = {
    "6", "6.5", "7", "7.5", "8", "8.5", "9", "9.5", "10", "10.5", "11", "11.5", "12", "12.5", "13"};

class Catalogue {
 public:
  Catalogue();

  std::size_t page_count() const noexcept { return pages_.size(); }
  const std::string& page(std::size_t index) const noexcept { return pages_[index]; }

  std::size_t home_page() const noexcept { return 0; }
  std::size_t listing_page() const noexcept { return 1; }
  std::size_t cart_page() const noexcept { return 2; }
  std::size_t checkout_page() const noexcept { return 3; }
  std::size_t product_page(std::size_t product) const noexcept { return kFixedPages + product; }
  // The product shown on a page, or kProducts.size() when the page shows none.
  std::size_t product_of_page(std::size_t page) const noexcept;

 private:
  static constexpr std::size_t kFixedPages = 4;
  std::vector<std::string> pages_;
};

}  // namespace presence::sim
