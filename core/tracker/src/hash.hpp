// Hashes of the region: a fast unkeyed one for replica tags (the same on every
// node), and the keyed one of the region's hash tables.
#pragma once

#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace presence::shm {

inline std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

inline std::uint64_t hash_bytes(std::string_view s, std::uint64_t seed) noexcept {
  std::uint64_t h = mix64(seed ^ (s.size() * 0x9e3779b97f4a7c15ull));
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = mix64(h ^ w) + 0x9e3779b97f4a7c15ull;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, s.data() + i, s.size() - i);
  return mix64(h ^ tail);
}

// The secret of a region's tables, drawn from libsodium's randombytes when the
// region is formatted and kept in its header across reloads.
using HashKey = std::array<unsigned char, crypto_shorthash_KEYBYTES>;

// SipHash-2-4 (libsodium's crypto_shorthash) under the region's key: shoppers
// choose pages, products and sizes, and without the key they cannot choose
// strings that share a bucket, so chains stay as short as a random function
// makes them (probabilistically: a key that leaked would undo it).
inline std::uint64_t keyed_hash(std::string_view s, const HashKey& key) noexcept {
  unsigned char out[crypto_shorthash_BYTES];
  crypto_shorthash(out, reinterpret_cast<const unsigned char*>(s.data()), s.size(), key.data());
  std::uint64_t h;
  std::memcpy(&h, out, sizeof h);
  return h;
}

// A number (a lineage clock, which a peer chooses) under the same key.
inline std::uint64_t keyed_hash(std::uint64_t n, const HashKey& key) noexcept {
  unsigned char bytes[sizeof n];
  std::memcpy(bytes, &n, sizeof n);
  return keyed_hash(std::string_view(reinterpret_cast<const char*>(bytes), sizeof n), key);
}

}  // namespace presence::shm
