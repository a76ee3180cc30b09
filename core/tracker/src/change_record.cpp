#include "change_record.hpp"

#include "presence/phx_ref.hpp"

namespace presence::shm {

std::size_t decode_record(const std::byte* p, std::size_t avail, RecordFields& out,
                          std::string& topic, std::string& key, CartMeta& meta) {
  RecordHead head;
  if (avail < sizeof head) return 0;
  std::memcpy(&head, p, sizeof head);
  if (head.bytes > avail || head.bytes < sizeof head) return 0;
  const std::byte* const end = p + head.bytes;
  const std::byte* at = p + sizeof head;
  auto take = [&](std::size_t n, std::string& s) {
    if (static_cast<std::size_t>(end - at) < n) return false;
    s.assign(reinterpret_cast<const char*>(at), n);
    at += n;
    return true;
  };
  out.kind = head.kind == 0 ? ChangeKind::join : ChangeKind::leave;
  out.seq = head.seq;
  out.tag = head.tag;
  out.clock = head.clock;
  out.prev_clock = head.prev_clock;
  out.lineage = head.lineage;
  out.page_loaded_at_ms = head.page_loaded_at_ms;
  out.updated_at_ms = head.updated_at_ms;
  if (!take(head.topic_len, topic) || !take(head.key_len, key) || !take(head.page_len, meta.page)) {
    return 0;
  }
  meta.items.resize(head.item_count);
  for (CartItem& item : meta.items) {
    if (end - at < static_cast<std::ptrdiff_t>(kItemHeadBytes)) return 0;
    const auto product_len = static_cast<std::size_t>(at[0]);
    const auto size_len = static_cast<std::size_t>(at[1]);
    item.qty = static_cast<std::uint32_t>(at[2]);
    at += kItemHeadBytes;
    if (!take(product_len, item.product) || !take(size_len, item.size)) return 0;
  }
  return at == end ? head.bytes : 0;
}

std::string phx_ref_prev_of(const RecordFields& r) {
  return r.prev_clock == 0 ? std::string() : phx_ref_of(r.tag, r.prev_clock);
}

MetaView meta_view_of(DecodedRecord&& r) {
  return MetaView{phx_ref_of(r.tag, r.clock), phx_ref_prev_of(r), std::move(r.meta),
                  r.page_loaded_at_ms};
}

}  // namespace presence::shm
