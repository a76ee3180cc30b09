#include "presence/phx_ref.hpp"

#include <array>

#include "hash.hpp"

namespace presence {

namespace {
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr int kTagBytes = 6;
}  // namespace

std::uint64_t replica_tag(const ReplicaName& replica) noexcept {
  return shm::hash_bytes(replica.node, replica.generation ^ 0x7265706c696361ull);
}

std::string phx_ref_of(std::uint64_t tag, std::uint64_t clock) {
  // Tag bytes, then the clock big-endian without leading zero bytes: canonical
  // and unique per dot since the tag part has a fixed width.
  std::array<std::uint8_t, kTagBytes + 8> raw{};
  std::size_t n = 0;
  for (int i = kTagBytes - 1; i >= 0; --i) raw[n++] = static_cast<std::uint8_t>(tag >> (8 * i));
  int first = 7;
  while (first > 0 && ((clock >> (8 * first)) & 0xff) == 0) --first;
  for (int i = first; i >= 0; --i) raw[n++] = static_cast<std::uint8_t>(clock >> (8 * i));
  std::string out;
  out.reserve((n * 4 + 2) / 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | raw[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

}  // namespace presence
