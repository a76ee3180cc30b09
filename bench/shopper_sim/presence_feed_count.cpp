#include "presence_feed_count.hpp"

#include <nlohmann/json.hpp>

namespace presence::sim {
namespace {

// Container depths in [jr, ref, topic, event, {payload}]: the message array is depth 1.
constexpr int kPayloadDepth = 2;
constexpr int kStateMetaDepth = 4;  // payload{key{metas[meta{...}]}}: a meta opens at depth 4
constexpr int kDiffMetaDepth = 5;   // payload{joins{key{metas[meta{...}]}}}
constexpr int kEventIndex = 3;

class Counter : public nlohmann::json_sax<nlohmann::json> {
 public:
  FeedCount result;

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool string(string_t& s) override {
    if (depth_ == 1 && index_ == kEventIndex) {
      result.event = s;
      result.is_state = s == "presence_state";
    }
    return value();
  }
  bool key(string_t& k) override {
    if (depth_ == kPayloadDepth) sign_ = k == "joins" ? 1 : k == "leaves" ? -1 : 0;
    return true;
  }
  bool start_object(std::size_t) override {
    if (result.is_state && depth_ == kStateMetaDepth) ++result.metas;
    if (result.event == "presence_diff" && depth_ == kDiffMetaDepth) result.metas += sign_;
    ++depth_;
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override {
    ++depth_;
    return true;
  }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }
  bool finished() const noexcept { return index_ == kEventIndex + 2; }

 private:
  bool value() {
    if (depth_ == 1) ++index_;
    return true;
  }
  bool close() {
    --depth_;
    return value();  // a container closing at depth 1 was one element of the message
  }

  int depth_ = 0;
  int index_ = 0;  // elements of the message array seen so far
  int sign_ = 0;
};

}  // namespace

FeedCount count_feed_metas(std::string_view text) noexcept {
  Counter counter;
  try {
    const bool parsed = nlohmann::json::sax_parse(text, &counter);
    counter.result.ok = parsed && counter.finished();
  } catch (const std::exception&) {
    counter.result.ok = false;
  }
  return counter.result;
}

}  // namespace presence::sim
