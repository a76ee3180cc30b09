// Microbenchmarks of the per-message codec path of a shopper socket: frame parsing, Phoenix
// message parsing, cart payload validation, and the push encoding of admin broadcasts.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "presence/cart_payload.hpp"
#include "presence/phoenix_message.hpp"
#include "presence/ws_frame.hpp"

namespace {

using presence::ws::FrameEvent;

constexpr std::uint8_t kMaskKey[4] = {0x37, 0xfa, 0x21, 0x3d};
constexpr std::size_t kMaxMessage = 64 * 1024;
constexpr std::size_t kTypicalFrameBytes = 120;

// A shopper's update as the phoenix JS client sends it, 114 bytes: with the 6-byte masked
// header it makes the typical 120-byte frame.
const std::string kUpdate =
    R"(["3","12","cart:c-42","update",{"page":"/p/air-max-90/","items":[{"product":"air-max-90","size":"10.5","qty":1}]}])";

std::string masked_frame(presence::ws::Opcode op, const std::string& payload) {
  std::string frame;
  presence::ws::append_frame(frame, op, payload, true, kMaskKey);
  return frame;
}

void feed_frames(benchmark::State& state, const std::string& frame) {
  presence::ws::FrameParser parser(presence::ws::Role::server, kMaxMessage);
  const auto* data = reinterpret_cast<const std::uint8_t*>(frame.data());
  for (auto _ : state) {
    std::size_t consumed = 0;
    const FrameEvent ev = parser.feed(data, frame.size(), &consumed);
    benchmark::DoNotOptimize(ev.payload.data());
    if (ev.kind != FrameEvent::Kind::message) state.SkipWithError("frame not parsed");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frame.size()));
}

void BM_FrameParseMaskedText120(benchmark::State& state) {
  const std::string frame = masked_frame(presence::ws::Opcode::text, kUpdate);
  if (frame.size() != kTypicalFrameBytes) state.SkipWithError("frame is not 120 bytes");
  feed_frames(state, frame);
}
BENCHMARK(BM_FrameParseMaskedText120);

void BM_FrameParseMaskedBinary64K(benchmark::State& state) {
  feed_frames(state, masked_frame(presence::ws::Opcode::binary, std::string(kMaxMessage, 'b')));
}
BENCHMARK(BM_FrameParseMaskedBinary64K);

void BM_PhoenixParseUpdate(benchmark::State& state) {
  for (auto _ : state) {
    auto parsed = presence::phoenix::parse_message(kUpdate);
    benchmark::DoNotOptimize(parsed->payload);
  }
}
BENCHMARK(BM_PhoenixParseUpdate);

void BM_CartParseUpdatePayload(benchmark::State& state) {
  const auto parsed = presence::phoenix::parse_message(kUpdate);
  const presence::CartMeta current;
  for (auto _ : state) {
    auto result = presence::parse_update_payload(parsed->payload, current);
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_CartParseUpdatePayload);

void BM_EncodePushStats(benchmark::State& state) {
  const std::string stats =
      R"({"shoppers":1234,"connections":1500,"pages":{"/":300,"/products/air-max-90":42},)"
      R"("carts":{"air-max-90":{"10":5,"10.5":2}},"nodes":["store-a"],"ts":1764277500123})";
  const std::optional<std::string> join_ref = "2";
  for (auto _ : state) {
    auto text = presence::phoenix::encode_push(join_ref, "admin:stats", "stats", stats);
    benchmark::DoNotOptimize(text.data());
  }
}
BENCHMARK(BM_EncodePushStats);

void BM_EncodeReplyOk(benchmark::State& state) {
  const std::optional<std::string> ref = "12";
  const nlohmann::json empty = nlohmann::json::object();
  for (auto _ : state) {
    auto text = presence::phoenix::encode_reply(ref, ref, "cart:c-42", "ok", empty);
    benchmark::DoNotOptimize(text.data());
  }
}
BENCHMARK(BM_EncodeReplyOk);

}  // namespace

BENCHMARK_MAIN();
