// Reads of the tracker: listings, single metas, the change stream and the
// aggregates, each copied out under the lock and decoded after it.
#include <algorithm>
#include <cstring>

#include "change_record.hpp"
#include "locked_copy.hpp"
#include "presence/phx_ref.hpp"
#include "presence/tracker.hpp"

namespace presence {

using shm::Offset;
using shm::PresenceStore;

std::vector<std::byte>& shm::scratch_buffer() {
  thread_local std::vector<std::byte> buffer;
  return buffer;
}

namespace {

bool visible(PresenceStore& s, Offset meta) {
  return (s.at<shm::BlockHeader>(meta).flags & shm::kMetaVisible) != 0;
}

// Decodes a run of records into `out`, reusing the strings and vectors of the
// elements already there (a caller that keeps its vector allocates nothing in
// steady state). Returns the records decoded; `out` is cut to them.
template <class Element, class Fill>
void decode_into(const std::byte* p, std::size_t bytes, std::vector<Element>& out, Fill&& fill) {
  shm::RecordFields fields;
  std::size_t used = 0;
  while (bytes > 0) {
    Element& e = used < out.size() ? out[used] : out.emplace_back();
    const std::size_t n = shm::decode_record(p, bytes, fields, e.topic, e.key, e.meta.meta);
    if (n == 0) break;
    p += n;
    bytes -= n;
    e.meta.phx_ref = phx_ref_of(fields.tag, fields.clock);
    e.meta.phx_ref_prev = shm::phx_ref_prev_of(fields);
    e.meta.page_loaded_at_ms = fields.page_loaded_at_ms;
    fill(e, fields);
    ++used;
  }
  out.resize(used);
}

void decode_entries(const std::byte* p, std::size_t bytes, std::vector<PresenceEntry>& out) {
  decode_into(p, bytes, out, [](PresenceEntry&, const shm::RecordFields&) {});
}

template <class F>
void for_visible_of_key(PresenceStore& s, Offset key, F&& f) {
  for (Offset m = s.at<shm::KeyRecord>(key).meta_head; m != 0;
       m = s.at<shm::MetaRecord>(m).key_next) {
    if (visible(s, m)) f(m);
  }
}

}  // namespace

std::uint64_t Tracker::snapshot(std::string_view topic, std::vector<PresenceEntry>& out) {
  std::uint64_t seq = 0;
  std::uint64_t count = 0;
  auto& buf = shm::scratch_buffer();
  const std::size_t bytes = shm::copy_locked(
      base_, lock_, buf,
      [&](PresenceStore& s) -> std::size_t {
        seq = s.log().head_seq();
        const Offset t = s.find_topic(topic);
        count = t == 0 ? 0 : s.at<shm::TopicRecord>(t).connections;
        return t == 0 ? 0 : s.at<shm::TopicRecord>(t).listing_bytes;
      },
      [&](PresenceStore& s, std::byte* dst) {
        const Offset t = s.find_topic(topic);
        if (t == 0) return;
        shm::LinearSink sink{dst};
        for (Offset k = s.at<shm::TopicRecord>(t).key_head; k != 0;
             k = s.at<shm::KeyRecord>(k).topic_next) {
          for_visible_of_key(s, k, [&](Offset m) {
            s.write_record(s.at<shm::MetaRecord>(m), ChangeKind::join, 0, sink);
          });
        }
      });
  out.reserve(count);
  decode_entries(buf.data(), bytes, out);
  return seq;
}

std::vector<PresenceEntry> Tracker::get_by_key(std::string_view topic, std::string_view key) {
  auto& buf = shm::scratch_buffer();
  auto find = [&](PresenceStore& s) -> Offset {
    const Offset t = s.find_topic(topic);
    return t == 0 ? 0 : s.find_key(t, key);
  };
  const std::size_t bytes = shm::copy_locked(
      base_, lock_, buf,
      [&](PresenceStore& s) {
        std::size_t need = 0;
        if (const Offset k = find(s); k != 0) {
          for_visible_of_key(s, k,
                             [&](Offset m) { need += s.record_size(s.at<shm::MetaRecord>(m)); });
        }
        return need;
      },
      [&](PresenceStore& s, std::byte* dst) {
        shm::LinearSink sink{dst};
        if (const Offset k = find(s); k != 0) {
          for_visible_of_key(s, k, [&](Offset m) {
            s.write_record(s.at<shm::MetaRecord>(m), ChangeKind::join, 0, sink);
          });
        }
      });
  std::vector<PresenceEntry> out;
  decode_entries(buf.data(), bytes, out);
  return out;
}

std::optional<MetaView> Tracker::get(MetaHandle h) {
  auto& buf = shm::scratch_buffer();
  const std::size_t bytes = shm::copy_locked(
      base_, lock_, buf,
      [&](PresenceStore& s) -> std::size_t {
        const Offset m = s.resolve(h);
        return m == 0 ? 0 : s.record_size(s.at<shm::MetaRecord>(m));
      },
      [&](PresenceStore& s, std::byte* dst) {
        shm::LinearSink sink{dst};
        if (const Offset m = s.resolve(h); m != 0) {
          s.write_record(s.at<shm::MetaRecord>(m), ChangeKind::join, 0, sink);
        }
      });
  shm::DecodedRecord r;
  if (bytes == 0 || shm::decode_record(buf.data(), bytes, r) == 0) return std::nullopt;
  return shm::meta_view_of(std::move(r));
}

ChangeStatus Tracker::changes_since(std::uint64_t since, std::size_t max, std::vector<Change>& out,
                                    std::uint64_t* next) {
  bool behind = false;
  shm::ChangeLog::Range range{};
  auto& buf = shm::scratch_buffer();
  const std::size_t bytes = shm::copy_locked(
      base_, lock_, buf,
      [&](PresenceStore& s) -> std::size_t {
        behind = !s.log().range(since, max, &range);
        if (behind) range.last_seq = s.log().head_seq();
        return behind ? 0 : static_cast<std::size_t>(range.end_pos - range.begin_pos);
      },
      [&](PresenceStore& s, std::byte* dst) {
        if (!behind) s.log().copy_out(range.begin_pos, range.end_pos, dst);
      });
  *next = range.last_seq;
  if (behind) {
    out.clear();
    return ChangeStatus::behind;
  }
  decode_into(buf.data(), bytes, out,
              [](Change& c, const shm::RecordFields& fields) { c.kind = fields.kind; });
  return ChangeStatus::ok;
}

namespace {

// The stats copy: counters, then (len, count, bytes) per page and per
// (product, size), then the node names of replicas that are up.
struct StatsHead {
  std::uint64_t shoppers;
  std::uint64_t connections;
  std::uint32_t pages;
  std::uint32_t items;
  std::uint32_t nodes;
  std::uint32_t reserved;
};
struct StatsString {
  std::uint64_t count;
  std::uint16_t len;
  std::uint8_t split;
  std::uint8_t reserved;
};

template <class Visit>
void visit_stats(PresenceStore& s, std::string_view topic, Visit&& visit) {
  const Offset t = s.find_topic(topic);
  if (t != 0) {
    auto& rec = s.at<shm::TopicRecord>(t);
    for (Offset head : {rec.page_head, rec.item_head}) {
      for (Offset i = head; i != 0; i = s.at<shm::InternRecord>(i).list_next) {
        auto& str = s.at<shm::InternRecord>(i);
        if (str.count != 0) visit(str.kind, str.count, str.split, str.bytes(), str.len);
      }
    }
  }
  for (auto& r : s.header().replicas) {
    if (r.state == ReplicaState::up) visit(shm::InternKind{}, 0, 0, r.name.data(), r.name_len);
  }
}

}  // namespace

StatsSnapshot Tracker::stats(std::string_view topic) {
  auto& buf = shm::scratch_buffer();
  const std::size_t bytes = shm::copy_locked(
      base_, lock_, buf,
      [&](PresenceStore& s) {
        std::size_t need = sizeof(StatsHead);
        visit_stats(s, topic,
                    [&](shm::InternKind, std::uint64_t, std::uint8_t, const char*,
                        std::size_t len) { need += sizeof(StatsString) + len; });
        return need;
      },
      [&](PresenceStore& s, std::byte* dst) {
        StatsHead head{};
        if (const Offset t = s.find_topic(topic); t != 0) {
          head.shoppers = s.at<shm::TopicRecord>(t).shoppers;
          head.connections = s.at<shm::TopicRecord>(t).connections;
        }
        shm::LinearSink sink{dst + sizeof head};
        visit_stats(s, topic,
                    [&](shm::InternKind kind, std::uint64_t count, std::uint8_t split,
                        const char* p, std::size_t len) {
                      ++(kind == shm::InternKind::page   ? head.pages
                         : kind == shm::InternKind::item ? head.items
                                                         : head.nodes);
                      const StatsString str{count, static_cast<std::uint16_t>(len), split, 0};
                      sink.put(&str, sizeof str);
                      sink.put(p, len);
                    });
        std::memcpy(dst, &head, sizeof head);
      });
  StatsSnapshot out;
  if (bytes < sizeof(StatsHead)) return out;
  StatsHead head;
  std::memcpy(&head, buf.data(), sizeof head);
  out.shoppers = head.shoppers;
  out.connections = head.connections;
  const std::byte* p = buf.data() + sizeof head;
  auto next = [&](StatsString& str) {
    std::memcpy(&str, p, sizeof str);
    p += sizeof str;
    std::string_view text(reinterpret_cast<const char*>(p), str.len);
    p += str.len;
    return text;
  };
  StatsString str;
  for (std::uint32_t i = 0; i < head.pages; ++i) {
    const auto text = next(str);
    out.pages.emplace_back(std::string(text), str.count);
  }
  for (std::uint32_t i = 0; i < head.items; ++i) {
    const auto text = next(str);
    out.carts.emplace_back(std::string(text.substr(0, str.split)),
                           std::string(text.substr(str.split)), str.count);
  }
  for (std::uint32_t i = 0; i < head.nodes; ++i) out.nodes.emplace_back(next(str));
  std::sort(out.pages.begin(), out.pages.end());
  std::sort(out.carts.begin(), out.carts.end());
  std::sort(out.nodes.begin(), out.nodes.end());
  out.nodes.erase(std::unique(out.nodes.begin(), out.nodes.end()), out.nodes.end());
  return out;
}

}  // namespace presence
