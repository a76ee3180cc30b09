#include "presence/cart_meta.hpp"

namespace presence {

bool is_valid_subject(const std::string& sub) {
  if (sub.empty() || sub.size() > kMaxSubBytes) return false;
  for (unsigned char c : sub) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace presence
