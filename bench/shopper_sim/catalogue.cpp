#include "catalogue.hpp"

namespace presence::sim {

Catalogue::Catalogue() {
  pages_ = {"/", "/products", "/cart", "/checkout"};
  for (std::string_view product : kProducts) pages_.push_back("/products/" + std::string(product));
}

std::size_t Catalogue::product_of_page(std::size_t page) const noexcept {
  if (page < kFixedPages || page >= pages_.size()) return kProducts.size();
  return page - kFixedPages;
}

}  // namespace presence::sim
