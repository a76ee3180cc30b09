#include "presence/delta_codec.hpp"

#include <algorithm>
#include <unordered_map>
#include <utility>
#include <vector>

#include "presence/tracker_types.hpp"

namespace presence {

namespace {

constexpr char kMagic0 = 'P';
constexpr char kMagic1 = 'D';
enum class Kind : std::uint8_t { delta = 1, full_state = 2, context = 3 };
constexpr std::size_t kMaxVarintBytes = 10;
// The least bytes a join and a leave take once encoded: counts beyond what
// the input can hold are refused before anything is reserved.
constexpr std::size_t kMinJoinBytes = 7;
constexpr std::size_t kMinLeaveBytes = 2;
// A delta names each distinct topic, page, product and size once, in a table
// its joins index: a batch of typical shoppers repeats a few dozen strings.
constexpr std::size_t kMaxTableStringBytes =
    std::max({kMaxTopicBytes, kMaxPageBytes, kMaxProductBytes, kMaxSizeBytes});
// A join's flags: which of its clocks and times differ from the defaults.
constexpr std::uint8_t kHasPrevClock = 1;       // else prev_clock is 0
constexpr std::uint8_t kLineageNotClock = 2;    // else lineage == clock
constexpr std::uint8_t kPageLoadedDiffers = 4;  // else page_loaded_at_ms == updated_at_ms
constexpr std::uint8_t kKnownJoinFlags = kHasPrevClock | kLineageNotClock | kPageLoadedDiffers;

// Differences of clocks and times travel zigzag-encoded, modulo 2^64, so any
// pair of values round-trips and close values take one or two bytes.
std::uint64_t zigzag(std::uint64_t difference) {
  const auto v = static_cast<std::int64_t>(difference);
  return (difference << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
std::uint64_t unzigzag(std::uint64_t u) {
  return (u >> 1) ^ (0 - (u & 1));
}

class Writer {
 public:
  void header(Kind kind) {
    out_.push_back(kMagic0);
    out_.push_back(kMagic1);
    out_.push_back(static_cast<char>(kDeltaCodecVersion));
    out_.push_back(static_cast<char>(kind));
  }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void difference(std::uint64_t value, std::uint64_t base) { varint(zigzag(value - base)); }
  void str(std::string_view s) {
    varint(s.size());
    out_.append(s);
  }
  void replica(const ReplicaName& r) {
    str(r.node);
    varint(r.generation);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  // Keeps the first failure: later checks only see its consequences.
  bool fail(Errc code, std::string reason) {
    if (status_) status_ = Status{code, std::move(reason)};
    return false;
  }
  bool ok() const { return static_cast<bool>(status_); }
  // The decoded value, or why the input is not one.
  template <typename T>
  Result<T> result(T value) {
    if (ok() && at_ != in_.size()) fail(Errc::malformed, "bytes after the message");
    if (!ok()) return std::move(status_);
    return value;
  }
  std::size_t left() const { return in_.size() - at_; }

  bool header(Kind* kind) {
    if (in_.size() < 4) return fail(Errc::malformed, "no header");
    if (in_[0] != kMagic0 || in_[1] != kMagic1) return fail(Errc::malformed, "bad magic");
    if (static_cast<std::uint8_t>(in_[2]) != kDeltaCodecVersion) {
      return fail(Errc::unsupported, "unknown version");
    }
    const auto k = static_cast<std::uint8_t>(in_[3]);
    if (k < 1 || k > 3) return fail(Errc::malformed, "unknown kind");
    *kind = static_cast<Kind>(k);
    at_ = 4;
    return true;
  }
  bool varint(std::uint64_t* v) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < kMaxVarintBytes; ++i) {
      if (at_ >= in_.size()) return fail(Errc::malformed, "varint cut short");
      const auto byte = static_cast<std::uint8_t>(in_[at_++]);
      if (i == kMaxVarintBytes - 1 && byte > 1) return fail(Errc::malformed, "varint overflow");
      value |= std::uint64_t{byte & 0x7fu} << (7 * i);
      if ((byte & 0x80) == 0) {
        *v = value;
        return true;
      }
    }
    return fail(Errc::malformed, "varint too long");
  }
  // The value written by Writer::difference against `base`.
  bool difference(std::uint64_t* v, std::uint64_t base) {
    std::uint64_t u = 0;
    if (!varint(&u)) return false;
    *v = base + unzigzag(u);
    return true;
  }
  bool view(std::string_view* s, std::size_t max, const char* what) {
    std::uint64_t n = 0;
    if (!bounded(&n, max, what)) return false;
    if (n > left()) return fail(Errc::malformed, std::string(what) + " cut short");
    *s = in_.substr(at_, n);
    at_ += n;
    return true;
  }
  bool bounded(std::uint64_t* v, std::uint64_t max, const char* what) {
    if (!varint(v)) return false;
    if (*v > max) return fail(Errc::too_large, std::string(what) + " past its bound");
    return true;
  }
  bool str(std::string* s, std::size_t max, const char* what) {
    std::uint64_t n = 0;
    if (!bounded(&n, max, what)) return false;
    if (n > left()) return fail(Errc::malformed, std::string(what) + " cut short");
    s->assign(in_.substr(at_, n));
    at_ += n;
    return true;
  }
  bool replica(ReplicaName* r) {
    if (!str(&r->node, kMaxNodeNameBytes, "node name")) return false;
    if (r->node.empty()) return fail(Errc::malformed, "empty node name");
    return varint(&r->generation);
  }
  bool byte(std::uint8_t* b) {
    if (at_ >= in_.size()) return fail(Errc::malformed, "byte cut short");
    *b = static_cast<std::uint8_t>(in_[at_++]);
    return true;
  }

 private:
  std::string_view in_;
  std::size_t at_ = 0;
  Status status_;
};

// The strings a delta's joins share, in order of first use.
class StringTable {
 public:
  std::uint64_t index(std::string_view s) {
    const auto [it, added] = index_.try_emplace(s, strings_.size());
    if (added) strings_.push_back(s);
    return it->second;
  }
  const std::vector<std::string_view>& strings() const { return strings_; }

 private:
  std::unordered_map<std::string_view, std::uint64_t> index_;
  std::vector<std::string_view> strings_;
};

StringTable table_of(const Delta& d) {
  StringTable t;
  for (const DeltaJoin& j : d.joins) {
    t.index(j.topic);
    t.index(j.meta.page);
    for (const CartItem& item : j.meta.items) {
      t.index(item.product);
      t.index(item.size);
    }
  }
  return t;
}

// What a join carries over from the one before it (clocks and times go as differences).
struct JoinBase {
  std::uint64_t clock = 0;
  std::uint64_t updated_at_ms = 0;
};

void write_join(Writer& w, StringTable& table, const DeltaJoin& j, JoinBase& base) {
  const auto updated = static_cast<std::uint64_t>(j.updated_at_ms);
  const auto page_loaded = static_cast<std::uint64_t>(j.page_loaded_at_ms);
  std::uint8_t flags = 0;
  if (j.prev_clock != 0) flags |= kHasPrevClock;
  if (j.lineage != j.clock) flags |= kLineageNotClock;
  if (page_loaded != updated) flags |= kPageLoadedDiffers;
  w.varint(table.index(j.topic));
  w.str(j.key);
  w.varint(flags);
  w.difference(j.clock, base.clock);
  if (flags & kHasPrevClock) w.difference(j.prev_clock, j.clock);
  if (flags & kLineageNotClock) w.difference(j.lineage, j.clock);
  w.difference(updated, base.updated_at_ms);
  if (flags & kPageLoadedDiffers) w.difference(page_loaded, updated);
  w.varint(table.index(j.meta.page));
  w.varint(j.meta.items.size());
  for (const CartItem& item : j.meta.items) {
    w.varint(table.index(item.product));
    w.varint(table.index(item.size));
    w.varint(item.qty);
  }
  base = JoinBase{j.clock, updated};
}

// A table string used as a field of at most `max` bytes.
bool read_table_string(Reader& r, const std::vector<std::string_view>& table, std::string* s,
                       std::size_t max, const char* what) {
  std::uint64_t i = 0;
  if (!r.varint(&i)) return false;
  if (i >= table.size()) return r.fail(Errc::malformed, std::string(what) + " not in the table");
  if (table[i].size() > max) return r.fail(Errc::too_large, std::string(what) + " past its bound");
  s->assign(table[i]);
  return true;
}

bool read_join(Reader& r, const std::vector<std::string_view>& table, DeltaJoin& j,
               JoinBase& base) {
  std::uint64_t flags = 0;
  std::uint64_t updated = 0;
  std::uint64_t page_loaded = 0;
  std::uint64_t items = 0;
  if (!read_table_string(r, table, &j.topic, kMaxTopicBytes, "topic") ||
      !r.str(&j.key, kMaxKeyBytes, "key") || !r.varint(&flags)) {
    return false;
  }
  if ((flags & ~std::uint64_t{kKnownJoinFlags}) != 0) {
    return r.fail(Errc::malformed, "unknown join flags");
  }
  if (!r.difference(&j.clock, base.clock)) return false;
  j.lineage = j.clock;
  if (((flags & kHasPrevClock) && !r.difference(&j.prev_clock, j.clock)) ||
      ((flags & kLineageNotClock) && !r.difference(&j.lineage, j.clock)) ||
      !r.difference(&updated, base.updated_at_ms)) {
    return false;
  }
  page_loaded = updated;
  if ((flags & kPageLoadedDiffers) && !r.difference(&page_loaded, updated)) return false;
  j.updated_at_ms = static_cast<std::int64_t>(updated);
  j.page_loaded_at_ms = static_cast<std::int64_t>(page_loaded);
  if (!read_table_string(r, table, &j.meta.page, kMaxPageBytes, "page") ||
      !r.bounded(&items, kMaxItems, "items")) {
    return false;
  }
  j.meta.items.resize(items);
  for (CartItem& item : j.meta.items) {
    std::uint64_t qty = 0;
    if (!read_table_string(r, table, &item.product, kMaxProductBytes, "product") ||
        !read_table_string(r, table, &item.size, kMaxSizeBytes, "size") ||
        !r.bounded(&qty, kMaxQty, "qty")) {
      return false;
    }
    item.qty = static_cast<std::uint32_t>(qty);
  }
  base = JoinBase{j.clock, updated};
  return true;
}

}  // namespace

std::string encode_delta(const Delta& d) {
  Writer w;
  w.header(d.full_state ? Kind::full_state : Kind::delta);
  w.replica(d.origin);
  w.varint(d.from);
  w.varint(d.to);
  StringTable table = table_of(d);
  w.varint(table.strings().size());
  for (std::string_view s : table.strings()) w.str(s);
  w.varint(d.joins.size());
  JoinBase base;
  for (const DeltaJoin& j : d.joins) write_join(w, table, j, base);
  w.varint(d.leaves.size());
  std::uint64_t previous = 0;
  for (const DeltaLeave& l : d.leaves) {
    w.difference(l.clock, previous);
    w.difference(l.lineage, l.clock);
    previous = l.clock;
  }
  return w.take();
}

Result<Delta> decode_delta(std::string_view bytes) {
  Reader r(bytes);
  Delta out;
  Kind kind{};
  std::uint64_t count = 0;
  std::vector<std::string_view> table;
  if (r.header(&kind)) {
    if (kind == Kind::context) r.fail(Errc::malformed, "a context, not a delta");
    out.full_state = kind == Kind::full_state;
  }
  if (r.ok() && r.replica(&out.origin) && r.varint(&out.from) && r.varint(&out.to) &&
      r.bounded(&count, r.left(), "string count")) {
    table.resize(count);
    for (std::string_view& s : table) {
      if (!r.view(&s, kMaxTableStringBytes, "string")) break;
    }
  }
  if (r.ok() && r.bounded(&count, r.left() / kMinJoinBytes, "join count")) {
    out.joins.resize(count);
    JoinBase base;
    for (DeltaJoin& j : out.joins) {
      if (!read_join(r, table, j, base)) break;
    }
  }
  if (r.ok() && r.bounded(&count, r.left() / kMinLeaveBytes, "leave count")) {
    out.leaves.resize(count);
    std::uint64_t previous = 0;
    for (DeltaLeave& l : out.leaves) {
      if (!r.difference(&l.clock, previous) || !r.difference(&l.lineage, l.clock)) break;
      previous = l.clock;
    }
  }
  if (r.ok() && out.full_state && (out.from != 0 || !out.leaves.empty())) {
    r.fail(Errc::malformed, "a full state starts at 0 and has no leaves");
  }
  if (r.ok() && out.to < out.from) r.fail(Errc::malformed, "range ends before it starts");
  return r.result(std::move(out));
}

std::string encode_context(const CausalContext& c) {
  Writer w;
  w.header(Kind::context);
  w.varint(c.replicas.size());
  for (const ReplicaContext& rc : c.replicas) {
    w.replica(rc.replica);
    w.varint(static_cast<std::uint8_t>(rc.state));
    w.varint(rc.clock);
    w.varint(rc.cloud.size());
    for (const ClockRange& range : rc.cloud) {
      w.varint(range.first);
      w.varint(range.last);
    }
  }
  return w.take();
}

Result<CausalContext> decode_context(std::string_view bytes) {
  Reader r(bytes);
  CausalContext out;
  Kind kind{};
  std::uint64_t count = 0;
  if (r.header(&kind) && kind != Kind::context) {
    r.fail(Errc::malformed, "not a context");
  }
  if (r.ok() && r.bounded(&count, kMaxReplicas, "replica count")) {
    out.replicas.resize(count);
    for (ReplicaContext& rc : out.replicas) {
      std::uint64_t state = 0;
      std::uint64_t ranges = 0;
      if (!r.replica(&rc.replica) || !r.bounded(&state, 3, "replica state") ||
          !r.varint(&rc.clock) || !r.bounded(&ranges, kMaxCloudRanges, "cloud ranges")) {
        break;
      }
      if (state == 0) {
        r.fail(Errc::malformed, "replica state 0");
        break;
      }
      rc.state = static_cast<ReplicaState>(state);
      rc.cloud.resize(ranges);
      for (ClockRange& range : rc.cloud) {
        if (!r.varint(&range.first) || !r.varint(&range.last)) break;
        if (range.last < range.first) {
          r.fail(Errc::malformed, "cloud range ends before it starts");
          break;
        }
      }
      if (!r.ok()) break;
    }
  }
  return r.result(std::move(out));
}

}  // namespace presence
