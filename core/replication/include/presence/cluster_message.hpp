// The cluster's wire messages: an envelope (kind, sender replica, sequence
// number, send time, optional target node) around a kind-specific payload,
// authenticated with a key derived from the cluster secret (libsodium
// crypto_auth, HMAC-SHA-512-256). The sender is readable in clear so a node
// drops its own messages before any decoding; everything else is trusted only
// once the MAC is checked. Every length and count is bounded.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "presence/crdt.hpp"
#include "presence/replica.hpp"
#include "presence/result.hpp"

namespace presence::cluster {

inline constexpr std::uint8_t kWireVersion = 1;
// A secret file must hold at least this many bytes (surrounding whitespace excluded).
inline constexpr std::size_t kMinSecretBytes = 32;
inline constexpr std::size_t kMaxClusterNameBytes = 64;
// Largest sealed message a node accepts from the bus or assembles from chunks.
inline constexpr std::size_t kMaxInlineMessageBytes = 1024 * 1024;
inline constexpr std::size_t kMaxAssembledBytes = 256 * 1024 * 1024;
inline constexpr std::size_t kMaxChunks = 4096;

struct SecretKey {
  std::array<unsigned char, 32> bytes{};
};
// The MAC key: a keyed BLAKE2b of the secret file's contents (trimmed);
// Errc::invalid when fewer than kMinSecretBytes remain.
Result<SecretKey> derive_key(std::string_view secret_file_contents);

enum class Kind : std::uint8_t {
  heartbeat = 1,     // payload: the sender's causal context (up replicas only)
  delta = 2,         // payload: encode_delta() of the sender's own changes
  transfer_req = 3,  // payload: TransferRequest; target: the node asked
  transfer_ack = 4,  // payload: encode_delta() answering a request; target: the asker
  pointer = 5,       // payload: ChunkPointer to a sealed message stored in keys
  permdown = 6,      // payload: empty; the sender's generation leaves for good
};

struct Envelope {
  Kind kind = Kind::heartbeat;
  ReplicaName sender;
  std::uint64_t seq = 0;  // strictly increasing per sender generation
  std::int64_t sent_ms = 0;
  std::string target;  // node name the message is for; empty: every node
  std::string payload;
};

struct TransferRequest {
  ReplicaName of;          // whose state is asked for (the target's replica)
  std::uint64_t from = 0;  // the asker holds every clock <= from
};

// A large sealed message stored as `chunks` keys "<prefix>:<i>", i from 0.
struct ChunkPointer {
  std::string key_prefix;
  std::uint32_t chunks = 0;
  std::uint64_t total_bytes = 0;
  std::array<unsigned char, 32> hash{};  // BLAKE2b-256 of the assembled bytes
};

std::string seal(const Envelope& envelope, const SecretKey& key);
// The sender as written in clear; nothing is verified.
Result<ReplicaName> peek_sender(std::string_view sealed);
// Checks the version, the MAC, the bounds and that names are UTF-8 without
// control characters. Errc::unauthorized for a bad MAC, Errc::too_large past
// a bound, Errc::unsupported for another version, Errc::malformed otherwise.
Result<Envelope> open(std::string_view sealed, const SecretKey& key);

std::string encode_transfer_request(const TransferRequest& request);
Result<TransferRequest> decode_transfer_request(std::string_view bytes);
std::string encode_pointer(const ChunkPointer& pointer);
Result<ChunkPointer> decode_pointer(std::string_view bytes);
std::array<unsigned char, 32> content_hash(std::string_view bytes);

// Replays are bounded per sender generation: a message is accepted once, if
// its seq is above the newest seen minus kReplayWindow and it was sent within
// kMaxClockSkewMs of now. A new owner worker starts with an empty guard, so a
// message may be replayed at most once more after a takeover, within the skew.
inline constexpr std::uint64_t kReplayWindow = 64;
inline constexpr std::int64_t kMaxClockSkewMs = 30'000;
inline constexpr std::size_t kMaxGuardedSenders = 2 * kMaxReplicas;

enum class ReplayVerdict : std::uint8_t { fresh, replayed, stale };

class ReplayGuard {
 public:
  // Records the message when fresh.
  ReplayVerdict check(const ReplicaName& sender, std::uint64_t seq, std::int64_t sent_ms,
                      std::int64_t now_ms);
  void forget(const ReplicaName& sender);

 private:
  struct Window {
    ReplicaName sender;
    std::uint64_t newest = 0;
    std::uint64_t seen = 0;  // bit i: newest - i was seen
    std::int64_t last_used_ms = 0;
  };
  std::vector<Window> windows_;
};

}  // namespace presence::cluster
