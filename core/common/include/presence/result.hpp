// The one way a parse or validation path in the core reports failure: a code
// the caller maps onto an HTTP status, a close code or a phx_reply, and a
// reason a person can read. The tracker's hot path keeps its bare enums
// (TrackError, MergeStatus, ChangeStatus): they never carry text.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace presence {

enum class Errc : unsigned char {
  ok = 0,
  malformed,     // not the syntax it must have
  invalid,       // well-formed, but a value is outside its domain
  too_large,     // past a named bound
  unsupported,   // a version, algorithm or feature that is refused
  unauthorized,  // a signature, key, role or claim that does not allow this
  not_found,     // what was named does not exist
  io,            // a file could not be read
  exhausted,     // memory or a configured capacity ran out
};

// Success, or a code and a reason. Converts to true on success.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Errc code, std::string reason) : code_(code), reason_(std::move(reason)) {}

  static Status ok() { return {}; }

  explicit operator bool() const noexcept { return code_ == Errc::ok; }
  Errc code() const noexcept { return code_; }
  const std::string& reason() const noexcept { return reason_; }

 private:
  Errc code_ = Errc::ok;
  std::string reason_;
};

// A value, or the Status that says why there is none. Converts to true when
// it holds a value.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Status failure) : v_(std::in_place_index<1>, std::move(failure)) {}  // NOLINT

  explicit operator bool() const noexcept { return v_.index() == 0; }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }

  // The failure; Status::ok() when a value is held.
  Status status() const { return v_.index() == 1 ? std::get<1>(v_) : Status::ok(); }
  Errc code() const noexcept { return v_.index() == 1 ? std::get<1>(v_).code() : Errc::ok; }
  const std::string& reason() const noexcept {
    static const std::string none;
    return v_.index() == 1 ? std::get<1>(v_).reason() : none;
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace presence
