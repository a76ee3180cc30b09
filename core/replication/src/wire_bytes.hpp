// Fixed-width little-endian fields and length-prefixed names for the cluster
// envelope and its small payloads. The reader keeps its first failure, so a
// chain of reads is checked once at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "presence/result.hpp"

namespace presence::cluster::wire {

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) { fixed(v, 4); }
  void u64(std::uint64_t v) { fixed(v, 8); }
  // A name of at most 255 bytes; the caller bounds it more tightly.
  void name(std::string_view s) {
    s = s.substr(0, 255);
    u8(static_cast<std::uint8_t>(s.size()));
    out_.append(s);
  }
  void raw(std::string_view s) { out_.append(s); }
  std::string& bytes() { return out_; }

 private:
  void fixed(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool fail(Errc code, std::string reason) {
    if (status_) status_ = Status{code, std::move(reason)};
    return false;
  }
  bool ok() const { return static_cast<bool>(status_); }
  const Status& status() const { return status_; }
  std::size_t at() const { return at_; }
  std::size_t left() const { return in_.size() - at_; }

  bool u8(std::uint8_t* v) {
    std::uint64_t x = 0;
    if (!fixed(&x, 1)) return false;
    *v = static_cast<std::uint8_t>(x);
    return true;
  }
  bool u32(std::uint32_t* v) {
    std::uint64_t x = 0;
    if (!fixed(&x, 4)) return false;
    *v = static_cast<std::uint32_t>(x);
    return true;
  }
  bool u64(std::uint64_t* v) { return fixed(v, 8); }
  bool name(std::string* s, std::size_t max, const char* what) {
    std::uint8_t n = 0;
    if (!u8(&n)) return false;
    if (n > max) return fail(Errc::too_large, std::string(what) + " past its bound");
    return raw(s, n, what);
  }
  bool raw(std::string* s, std::size_t n, const char* what) {
    if (!ok()) return false;
    if (n > left()) return fail(Errc::malformed, std::string(what) + " cut short");
    s->assign(in_.substr(at_, n));
    at_ += n;
    return true;
  }
  bool finish() {
    if (ok() && at_ != in_.size()) fail(Errc::malformed, "bytes after the message");
    return ok();
  }

 private:
  bool fixed(std::uint64_t* v, std::size_t n) {
    if (!ok()) return false;
    if (left() < n) return fail(Errc::malformed, "cut short");
    std::uint64_t x = 0;
    for (std::size_t i = 0; i < n; ++i) {
      x |= std::uint64_t{static_cast<std::uint8_t>(in_[at_ + i])} << (8 * i);
    }
    at_ += n;
    *v = x;
    return true;
  }

  std::string_view in_;
  std::size_t at_ = 0;
  Status status_;
};

}  // namespace presence::cluster::wire
