// libFuzzer target: open() refuses arbitrary bytes cleanly; and bytes sealed
// with the right key (a payload the fuzzer chooses, under a kind it chooses)
// open back to the same envelope, whose payload is then decoded by its kind:
// whatever a decoder accepts encodes back to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "presence/cluster_message.hpp"
#include "presence/delta_codec.hpp"

namespace {

using namespace presence;
using namespace presence::cluster;

void require(bool ok) {
  if (!ok) std::abort();
}

const SecretKey& key() {
  static const SecretKey k = *derive_key("fuzzing-secret-of-at-least-32-bytes!");
  return k;
}

void decode_payload(Kind kind, std::string_view payload) {
  switch (kind) {
    case Kind::heartbeat:
      if (const auto c = decode_context(payload)) {
        const auto again = decode_context(encode_context(*c));
        require(again && again->replicas == c->replicas);
      }
      return;
    case Kind::delta:
    case Kind::transfer_ack:
      if (const auto d = decode_delta(payload)) {
        const auto again = decode_delta(encode_delta(*d));
        require(again && *again == *d);
      }
      return;
    case Kind::transfer_req:
      if (const auto q = decode_transfer_request(payload)) {
        const auto again = decode_transfer_request(encode_transfer_request(*q));
        require(again && again->of == q->of && again->from == q->from);
      }
      return;
    case Kind::pointer:
      if (const auto p = decode_pointer(payload)) {
        const auto again = decode_pointer(encode_pointer(*p));
        require(again && again->key_prefix == p->key_prefix && again->chunks == p->chunks &&
                again->total_bytes == p->total_bytes && again->hash == p->hash);
        require(p->chunks >= 1 && p->chunks <= kMaxChunks && p->total_bytes <= kMaxAssembledBytes);
      }
      return;
    case Kind::permdown:
      return;
  }
  require(false);  // open() let an unknown kind through
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // Arbitrary bytes: refused with a reason, or (by sheer luck) a valid message.
  if (const auto e = open(bytes, key())) {
    require(*peek_sender(bytes) == e->sender);
    decode_payload(e->kind, e->payload);
  } else {
    require(!e.reason().empty());
  }
  (void)peek_sender(bytes);

  // The same bytes as the payload of a sealed message: past the MAC, into the decoders.
  if (size < 2) return 0;
  Envelope e;
  e.kind = static_cast<Kind>(1 + data[0] % 6);
  e.sender = ReplicaName{"fuzz-node", data[1]};
  e.seq = size;
  e.sent_ms = 1'700'000'000'000;
  e.target = data[1] % 2 == 0 ? "" : "store-b";
  e.payload.assign(bytes.substr(2));
  const std::string sealed = seal(e, key());
  const auto back = open(sealed, key());
  require(static_cast<bool>(back));
  require(back->kind == e.kind && back->sender == e.sender && back->seq == e.seq &&
          back->sent_ms == e.sent_ms && back->target == e.target && back->payload == e.payload);
  decode_payload(back->kind, back->payload);
  // Any truncation of it is refused.
  require(!open(std::string_view(sealed).substr(0, sealed.size() - 1 - data[0] % 8), key()));
  return 0;
}
