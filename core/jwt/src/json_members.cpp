#include "json_members.hpp"

#include <nlohmann/json.hpp>

namespace presence::jwt::detail {
namespace {

using nlohmann::json;

// SAX handler: tracks nesting depth and which wanted member a top-level value belongs to.
class MemberReader {
 public:
  explicit MemberReader(std::span<JsonMember> members) : members_(members) {}

  const std::string& error() const { return error_; }

  bool null() { return scalar(JsonKind::other); }
  bool boolean(bool) { return scalar(JsonKind::other); }
  bool number_integer(json::number_integer_t value) {
    if (pending_ != nullptr) {
      pending_->integer = value;
      pending_->real = static_cast<double>(value);
    }
    return scalar(JsonKind::number);
  }
  bool number_unsigned(json::number_unsigned_t value) {
    if (pending_ != nullptr) {
      if (value <= static_cast<json::number_unsigned_t>(INT64_MAX)) {
        pending_->integer = static_cast<std::int64_t>(value);
      }
      pending_->real = static_cast<double>(value);
    }
    return scalar(JsonKind::number);
  }
  bool number_float(json::number_float_t value, const json::string_t&) {
    if (pending_ != nullptr) pending_->real = value;
    return scalar(JsonKind::number);
  }
  bool string(json::string_t& value) {
    if (depth_ == 2 && array_ != nullptr) {
      array_->strings.push_back(std::move(value));
      return true;
    }
    if (pending_ != nullptr) pending_->text = std::move(value);
    return scalar(JsonKind::string);
  }
  bool binary(json::binary_t&) { return scalar(JsonKind::other); }

  bool start_object(std::size_t) { return open(/*object=*/true); }
  bool end_object() { return close(); }
  bool start_array(std::size_t) { return open(/*object=*/false); }
  bool end_array() { return close(); }

  bool key(json::string_t& name) {
    if (depth_ != 1) return true;
    for (JsonMember& member : members_) {
      if (member.name != name) continue;
      if (member.kind != JsonKind::absent) return fail("member \"" + name + "\" appears twice");
      pending_ = &member;
      return true;
    }
    pending_ = nullptr;
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return fail("not valid JSON");
  }

 private:
  bool fail(std::string reason) {
    error_ = std::move(reason);
    return false;
  }

  bool scalar(JsonKind kind) {
    if (depth_ == 0) return fail("not a JSON object");
    if (depth_ == 2) not_all_strings();
    if (depth_ == 1 && pending_ != nullptr) {
      pending_->kind = kind;
      pending_ = nullptr;
    }
    return true;
  }

  bool open(bool object) {
    if (depth_ == 0 && !object) return fail("not a JSON object");
    if (depth_ == 1 && pending_ != nullptr) {
      // An array of strings is kept (the aud claim may be one); anything else is only "other".
      pending_->kind = object ? JsonKind::other : JsonKind::string_array;
      if (!object) array_ = pending_;
      pending_ = nullptr;
    }
    if (depth_ == 2) not_all_strings();
    ++depth_;
    return true;
  }

  bool close() {
    --depth_;
    if (depth_ == 1) array_ = nullptr;
    return true;
  }

  // A value inside a kept array that is no string: the array is "other".
  void not_all_strings() {
    if (array_ == nullptr) return;
    array_->kind = JsonKind::other;
    array_->strings.clear();
    array_ = nullptr;
  }

  std::span<JsonMember> members_;
  std::size_t depth_ = 0;
  JsonMember* pending_ = nullptr;  // the wanted member whose value comes next
  JsonMember* array_ = nullptr;    // the wanted member whose array of strings is being read
  std::string error_;
};

}  // namespace

Status read_object_members(std::string_view text, std::span<JsonMember> members) {
  MemberReader reader(members);
  if (!json::sax_parse(text.begin(), text.end(), &reader)) {
    return {Errc::malformed,
            reader.error().empty() ? std::string("not valid JSON") : reader.error()};
  }
  return Status::ok();
}

}  // namespace presence::jwt::detail
