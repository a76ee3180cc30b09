#include "presence/catalog.hpp"

#include <fstream>
#include <new>
#include <nlohmann/json.hpp>

namespace presence {
namespace {

void pair_key(std::string& key, std::string_view product, std::string_view size) {
  key.clear();
  key.push_back(static_cast<char>(product.size()));
  key.append(product);
  key.append(size);
}

}  // namespace

Result<Catalog> Catalog::parse(std::string_view text) {
  if (text.size() > kMaxCatalogBytes) {
    return Status(Errc::too_large, "catalogue larger than 16 MiB");
  }
  try {
    const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_discarded()) return Status(Errc::malformed, "catalogue is not valid JSON");
    if (!doc.is_object()) {
      return Status(Errc::malformed, "catalogue must be an object from product to its sizes");
    }
    Catalog catalog;
    std::string key;
    for (const auto& [product, sizes] : doc.items()) {
      if (product.empty() || product.size() > kMaxProductBytes) {
        return Status(Errc::invalid, "product \"" + product.substr(0, kMaxProductBytes) +
                                         "\": must be 1 to 64 bytes");
      }
      if (!sizes.is_array() || sizes.empty()) {
        return Status(Errc::invalid,
                      "product \"" + product + "\": sizes must be a non-empty array of strings");
      }
      for (const auto& size : sizes) {
        if (!size.is_string() || size.get_ref<const std::string&>().empty() ||
            size.get_ref<const std::string&>().size() > kMaxSizeBytes) {
          return Status(Errc::invalid, "product \"" + product +
                                           "\": every size must be a string of 1 to 16 bytes");
        }
        pair_key(key, product, size.get_ref<const std::string&>());
        catalog.pairs_.insert(key);
        if (catalog.pairs_.size() > kMaxCatalogEntries) {
          return Status(Errc::too_large, "catalogue lists more than 1000000 products and sizes");
        }
      }
      ++catalog.products_;
    }
    return catalog;
  } catch (const std::bad_alloc&) {
    return Status(Errc::exhausted, "out of memory reading the catalogue");
  }
}

Result<Catalog> Catalog::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Errc::io, "cannot open \"" + path + "\"");
  std::string text(kMaxCatalogBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return Status(Errc::io, "cannot read \"" + path + "\"");
  text.resize(static_cast<std::size_t>(in.gcount()));
  Result<Catalog> catalog = parse(text);
  if (!catalog) return Status(catalog.code(), "\"" + path + "\": " + catalog.reason());
  return catalog;
}

bool Catalog::allows(std::string_view product, std::string_view size) const {
  if (product.size() > kMaxProductBytes || size.size() > kMaxSizeBytes) return false;
  char key[1 + kMaxProductBytes + kMaxSizeBytes];
  key[0] = static_cast<char>(product.size());
  product.copy(key + 1, product.size());
  size.copy(key + 1 + product.size(), size.size());
  return pairs_.find(std::string_view(key, 1 + product.size() + size.size())) != pairs_.end();
}

bool Catalog::allows(const CartMeta& meta) const {
  for (const CartItem& item : meta.items) {
    if (!allows(item.product, item.size)) return false;
  }
  return true;
}

}  // namespace presence
