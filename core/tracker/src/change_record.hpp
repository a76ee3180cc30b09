// The serialized form of one meta, used by the change log ring and by every
// copy taken out from under the lock (listings, deltas): fixed head, then the
// topic, key and page bytes, then (product len, size len, qty, bytes) per item.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "presence/cart_meta.hpp"
#include "presence/tracker_types.hpp"

namespace presence::shm {

struct RecordHead {
  std::uint32_t bytes;
  std::uint8_t kind;  // ChangeKind
  std::uint8_t reserved8;
  std::uint16_t topic_len;
  std::uint16_t key_len;
  std::uint16_t page_len;
  std::uint16_t item_count;
  std::uint16_t reserved16;
  std::uint64_t seq;
  std::uint64_t tag;
  std::uint64_t clock;
  std::uint64_t prev_clock;
  std::uint64_t lineage;
  std::int64_t page_loaded_at_ms;
  std::int64_t updated_at_ms;
};
static_assert(std::is_trivially_copyable_v<RecordHead>);

inline constexpr std::size_t kItemHeadBytes = 3;

// Writes into a plain buffer.
struct LinearSink {
  std::byte* out;
  void put(const void* p, std::size_t n) noexcept {
    std::memcpy(out, p, n);
    out += n;
  }
};

// Writes into a byte ring at a monotonic position.
struct RingSink {
  std::byte* ring;
  std::size_t ring_bytes;
  std::uint64_t pos;
  void put(const void* p, std::size_t n) noexcept {
    const auto* src = static_cast<const std::byte*>(p);
    while (n > 0) {
      const std::size_t at = static_cast<std::size_t>(pos % ring_bytes);
      const std::size_t chunk = std::min(n, ring_bytes - at);
      std::memcpy(ring + at, src, chunk);
      src += chunk;
      n -= chunk;
      pos += chunk;
    }
  }
};

struct RecordFields {
  ChangeKind kind = ChangeKind::join;
  std::uint64_t seq = 0;
  std::uint64_t tag = 0;
  std::uint64_t clock = 0;
  std::uint64_t prev_clock = 0;
  std::uint64_t lineage = 0;
  std::int64_t page_loaded_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

struct DecodedRecord : RecordFields {
  std::string topic;
  std::string key;
  CartMeta meta;
};

// Decodes one record at `p` (at most `avail` bytes) straight into the caller's
// strings; returns its size, 0 if malformed.
std::size_t decode_record(const std::byte* p, std::size_t avail, RecordFields& fields,
                          std::string& topic, std::string& key, CartMeta& meta);
inline std::size_t decode_record(const std::byte* p, std::size_t avail, DecodedRecord& out) {
  return decode_record(p, avail, out, out.topic, out.key, out.meta);
}
std::string phx_ref_prev_of(const RecordFields& r);
MetaView meta_view_of(DecodedRecord&& r);

}  // namespace presence::shm
