#include "presence/base64url.hpp"

#include <sodium.h>

namespace presence {
namespace {

bool is_url_alphabet(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool is_pem_alphabet(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/' || c == '=' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// libsodium 1.0.18 (Debian 12) decodes bytes >= 0x80 as if they were base64
// digits, so the alphabet is checked here before its decoder runs.
std::optional<std::string> decode_variant(std::string_view text, bool (*in_alphabet)(unsigned char),
                                          int variant, const char* ignored) noexcept {
  for (unsigned char c : text) {
    if (!in_alphabet(c)) return std::nullopt;
  }
  try {
    std::string out(text.size() / 4 * 3 + 3, '\0');
    std::size_t out_len = 0;
    // A null end pointer makes libsodium fail unless the whole input is consumed.
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                          text.size(), ignored, &out_len, nullptr, variant) != 0) {
      return std::nullopt;
    }
    out.resize(out_len);
    return out;
  } catch (...) {
    return std::nullopt;
  }
}

std::string encode_variant(std::string_view bytes, int variant) {
  // sodium_base64_encoded_len counts the terminating NUL libsodium writes.
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), variant);
  out.pop_back();
  return out;
}

}  // namespace

namespace base64url {

std::string encode(std::string_view bytes) {
  return encode_variant(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

std::optional<std::string> decode(std::string_view text) noexcept {
  return decode_variant(text, is_url_alphabet, sodium_base64_VARIANT_URLSAFE_NO_PADDING, nullptr);
}

}  // namespace base64url

namespace base64 {

std::string encode(std::string_view bytes) {
  return encode_variant(bytes, sodium_base64_VARIANT_ORIGINAL);
}

std::optional<std::string> decode(std::string_view text) noexcept {
  return decode_variant(text, is_pem_alphabet, sodium_base64_VARIANT_ORIGINAL, " \t\r\n");
}

}  // namespace base64
}  // namespace presence
