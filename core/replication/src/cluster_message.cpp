// The sealed envelope: a clear header (magic, version, kind, sender, seq,
// send time, target, payload length), the payload, then a crypto_auth MAC
// over everything before it. Fixed-width fields keep peek_sender and the
// bounds checks trivial; names are length-prefixed and bounded.
#include "presence/cluster_message.hpp"

#include <sodium.h>

#include <algorithm>
#include <cctype>

#include "presence/sodium_ready.hpp"
#include "presence/utf8.hpp"
#include "wire_bytes.hpp"

namespace presence::cluster {

namespace {

constexpr char kMagic0 = 'P';
constexpr char kMagic1 = 'C';
constexpr std::uint8_t kLastKind = static_cast<std::uint8_t>(Kind::permdown);
// Domain separation: the MAC key is not the secret itself.
constexpr std::string_view kKeyContext = "nginx-presence cluster mac key v1";
// "<cluster>:xfer:<node>:<seq>" fits easily; a pointer names nothing longer.
constexpr std::size_t kMaxKeyPrefixBytes = 255;

static_assert(crypto_auth_BYTES == 32 && crypto_auth_KEYBYTES == sizeof(SecretKey::bytes));
static_assert(kMaxAssembledBytes <= UINT32_MAX);

bool printable_name(std::string_view s) {
  if (!ws::is_valid_utf8(s)) return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return b < 0x20 || b == 0x7f;
  });
}

// The header up to and including the sender: what peek_sender reads.
bool read_sender(wire::Reader& r, std::uint8_t* kind, ReplicaName* sender) {
  std::uint8_t m0 = 0, m1 = 0, version = 0;
  if (!r.u8(&m0) || !r.u8(&m1) || !r.u8(&version) || !r.u8(kind)) return false;
  if (m0 != static_cast<std::uint8_t>(kMagic0) || m1 != static_cast<std::uint8_t>(kMagic1)) {
    return r.fail(Errc::malformed, "not a cluster message");
  }
  if (version != kWireVersion) return r.fail(Errc::unsupported, "unknown wire version");
  if (!r.name(&sender->node, kMaxNodeNameBytes, "sender") || !r.u64(&sender->generation)) {
    return false;
  }
  if (sender->node.empty()) return r.fail(Errc::malformed, "empty sender");
  return true;
}

}  // namespace

Result<SecretKey> derive_key(std::string_view contents) {
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!contents.empty() && space(contents.front())) contents.remove_prefix(1);
  while (!contents.empty() && space(contents.back())) contents.remove_suffix(1);
  if (contents.size() < kMinSecretBytes) {
    return Status{Errc::invalid, "the cluster secret must hold at least " +
                                     std::to_string(kMinSecretBytes) + " bytes"};
  }
  if (!sodium_ready()) return Status{Errc::exhausted, "libsodium failed to initialise"};
  SecretKey key;
  crypto_generichash(key.bytes.data(), key.bytes.size(),
                     reinterpret_cast<const unsigned char*>(contents.data()), contents.size(),
                     reinterpret_cast<const unsigned char*>(kKeyContext.data()),
                     kKeyContext.size());
  return key;
}

std::string seal(const Envelope& e, const SecretKey& key) {
  wire::Writer w;
  w.u8(static_cast<std::uint8_t>(kMagic0));
  w.u8(static_cast<std::uint8_t>(kMagic1));
  w.u8(kWireVersion);
  w.u8(static_cast<std::uint8_t>(e.kind));
  w.name(e.sender.node);
  w.u64(e.sender.generation);
  w.u64(e.seq);
  w.u64(static_cast<std::uint64_t>(e.sent_ms));
  w.name(e.target);
  w.u32(static_cast<std::uint32_t>(e.payload.size()));
  w.raw(e.payload);
  std::string& out = w.bytes();
  unsigned char mac[crypto_auth_BYTES];
  sodium_ready();
  crypto_auth(mac, reinterpret_cast<const unsigned char*>(out.data()), out.size(),
              key.bytes.data());
  out.append(reinterpret_cast<const char*>(mac), sizeof mac);
  return std::move(out);
}

Result<ReplicaName> peek_sender(std::string_view sealed) {
  wire::Reader r(sealed);
  std::uint8_t kind = 0;
  ReplicaName sender;
  if (!read_sender(r, &kind, &sender)) return r.status();
  return sender;
}

Result<Envelope> open(std::string_view sealed, const SecretKey& key) {
  wire::Reader r(sealed);
  Envelope e;
  std::uint8_t kind = 0;
  std::uint64_t sent = 0;
  std::uint32_t payload_bytes = 0;
  if (read_sender(r, &kind, &e.sender) && r.u64(&e.seq) && r.u64(&sent) &&
      r.name(&e.target, kMaxNodeNameBytes, "target") && r.u32(&payload_bytes)) {
    if (payload_bytes > kMaxAssembledBytes) r.fail(Errc::too_large, "payload past its bound");
  }
  if (!r.ok()) return r.status();
  // Lengths are checked before the MAC so that nothing past the input is read.
  if (r.left() < std::size_t{payload_bytes} + crypto_auth_BYTES) {
    return Status{Errc::malformed, "cut short"};
  }
  if (r.left() > std::size_t{payload_bytes} + crypto_auth_BYTES) {
    return Status{Errc::malformed, "bytes after the message"};
  }
  const std::size_t signed_bytes = sealed.size() - crypto_auth_BYTES;
  sodium_ready();
  if (crypto_auth_verify(reinterpret_cast<const unsigned char*>(sealed.data() + signed_bytes),
                         reinterpret_cast<const unsigned char*>(sealed.data()), signed_bytes,
                         key.bytes.data()) != 0) {
    return Status{Errc::unauthorized, "bad MAC"};
  }
  if (kind < 1 || kind > kLastKind) return Status{Errc::unsupported, "unknown message kind"};
  if (!printable_name(e.sender.node)) return Status{Errc::malformed, "sender not printable UTF-8"};
  if (!printable_name(e.target)) return Status{Errc::malformed, "target not printable UTF-8"};
  e.kind = static_cast<Kind>(kind);
  e.sent_ms = static_cast<std::int64_t>(sent);
  e.payload.assign(sealed.substr(r.at(), payload_bytes));
  return e;
}

std::string encode_transfer_request(const TransferRequest& q) {
  wire::Writer w;
  w.name(q.of.node);
  w.u64(q.of.generation);
  w.u64(q.from);
  return std::move(w.bytes());
}

Result<TransferRequest> decode_transfer_request(std::string_view bytes) {
  wire::Reader r(bytes);
  TransferRequest q;
  if (r.name(&q.of.node, kMaxNodeNameBytes, "replica") && r.u64(&q.of.generation) &&
      r.u64(&q.from) && r.finish()) {
    if (q.of.node.empty() || !printable_name(q.of.node)) {
      return Status{Errc::malformed, "replica not printable UTF-8"};
    }
    return q;
  }
  return r.status();
}

std::string encode_pointer(const ChunkPointer& p) {
  wire::Writer w;
  w.name(p.key_prefix);
  w.u32(p.chunks);
  w.u64(p.total_bytes);
  w.raw(std::string_view(reinterpret_cast<const char*>(p.hash.data()), p.hash.size()));
  return std::move(w.bytes());
}

Result<ChunkPointer> decode_pointer(std::string_view bytes) {
  wire::Reader r(bytes);
  ChunkPointer p;
  std::string hash;
  if (r.name(&p.key_prefix, kMaxKeyPrefixBytes, "key prefix") && r.u32(&p.chunks) &&
      r.u64(&p.total_bytes) && r.raw(&hash, p.hash.size(), "hash") && r.finish()) {
    if (p.chunks > kMaxChunks) return Status{Errc::too_large, "chunk count past its bound"};
    if (p.total_bytes > kMaxAssembledBytes) return Status{Errc::too_large, "size past its bound"};
    if (p.chunks == 0 || p.total_bytes == 0 || p.key_prefix.empty() ||
        !printable_name(p.key_prefix)) {
      return Status{Errc::malformed, "empty or unprintable pointer"};
    }
    std::copy(hash.begin(), hash.end(), reinterpret_cast<char*>(p.hash.data()));
    return p;
  }
  return r.status();
}

std::array<unsigned char, 32> content_hash(std::string_view bytes) {
  std::array<unsigned char, 32> out{};
  sodium_ready();
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size(), nullptr, 0);
  return out;
}

}  // namespace presence::cluster
