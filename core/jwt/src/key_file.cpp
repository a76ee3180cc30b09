// Key files: a shared secret for HS256, an Ed25519 PEM key for EdDSA (formats
// documented in keyring.hpp). The DER layouts of Ed25519 keys are fixed, so they
// are matched byte for byte instead of parsing general ASN.1.
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include "presence/base64url.hpp"
#include "presence/keyring.hpp"
#include "presence/sodium_ready.hpp"

namespace presence::jwt {
namespace {

constexpr std::string_view kBase64SecretPrefix = "base64:";
constexpr std::string_view kPemBegin = "-----BEGIN ";
constexpr std::string_view kPemEnd = "-----END ";
constexpr std::string_view kPemDashes = "-----";
constexpr std::size_t kPemLineChars = 64;  // RFC 7468

// SubjectPublicKeyInfo { AlgorithmIdentifier { 1.3.101.112 }, BIT STRING (32 bytes) } (RFC 8410).
constexpr std::array<unsigned char, 12> kSpkiPrefix = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                                       0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
// PKCS#8 v1 { version 0, AlgorithmIdentifier { 1.3.101.112 }, OCTET STRING { OCTET STRING (seed) }
// }.
constexpr std::array<unsigned char, 16> kPkcs8V1Prefix = {
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
// PKCS#8 v2 (OneAsymmetricKey, RFC 5958): the same with version 1 and the public key appended.
constexpr std::array<unsigned char, 16> kPkcs8V2Prefix = {
    0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
// [1] IMPLICIT BIT STRING (32 bytes): the public key of a v2 PKCS#8 key.
constexpr std::array<unsigned char, 3> kPkcs8V2PublicKeyTag = {0x81, 0x21, 0x00};

// What is wrong with a key file's contents.
Status bad(std::string reason) {
  return {Errc::invalid, std::move(reason)};
}

// Wipes a buffer that held key material when it goes out of scope.
class Scrubbed {
 public:
  explicit Scrubbed(std::string& bytes) : bytes_(bytes) {}
  Scrubbed(const Scrubbed&) = delete;
  Scrubbed& operator=(const Scrubbed&) = delete;
  ~Scrubbed() {
    if (!bytes_.empty()) sodium_memzero(bytes_.data(), bytes_.size());
  }

 private:
  std::string& bytes_;
};

bool starts_with(std::string_view bytes, const auto& prefix) {
  return bytes.size() >= prefix.size() &&
         std::memcmp(bytes.data(), prefix.data(), prefix.size()) == 0;
}

std::string_view strip_one_newline(std::string_view text) {
  if (text.ends_with("\r\n")) return text.substr(0, text.size() - 2);
  if (text.ends_with('\n')) return text.substr(0, text.size() - 1);
  return text;
}

struct PemBlock {
  std::string_view label;
  std::string_view body;
};

// The one PEM block of a file, or an error. Text around the block is allowed
// (openssl writes comments there); a second block is not, to keep a file one key.
Status find_pem_block(std::string_view text, PemBlock& out) {
  const std::size_t begin = text.find(kPemBegin);
  if (begin == std::string_view::npos) return bad("no PEM block");
  const std::size_t label_at = begin + kPemBegin.size();
  const std::size_t label_end = text.find(kPemDashes, label_at);
  if (label_end == std::string_view::npos) return bad("bad PEM: unterminated BEGIN line");
  out.label = text.substr(label_at, label_end - label_at);
  const std::size_t body_at = label_end + kPemDashes.size();
  const std::string end_line =
      std::string(kPemEnd) + std::string(out.label) + std::string(kPemDashes);
  const std::size_t end = text.find(end_line, body_at);
  if (end == std::string_view::npos) return bad("bad PEM: no \"" + end_line + "\" line");
  out.body = text.substr(body_at, end - body_at);
  if (text.find(kPemBegin, end) != std::string_view::npos) {
    return bad("more than one PEM block: put one key in each file");
  }
  return Status::ok();
}

Status parse_hs256(std::string_view contents, Key& out) {
  std::string_view secret = strip_one_newline(contents);
  if (secret.find(kPemBegin) != std::string_view::npos) {
    return bad(
        "HS256 key file holds a PEM block: an HS256 key is a shared secret, a PEM key needs "
        "alg eddsa");
  }
  std::optional<std::string> decoded;
  if (secret.starts_with(kBase64SecretPrefix)) {
    decoded = base64::decode(secret.substr(kBase64SecretPrefix.size()));
    if (!decoded) return bad("HS256 secret after \"base64:\" is not valid base64");
    secret = *decoded;
  }
  const std::size_t got = secret.size();
  out.secret = SecretBytes(secret);
  if (decoded) sodium_memzero(decoded->data(), decoded->size());
  if (got < kMinHs256SecretBytes) {
    return bad("HS256 secret shorter than " + std::to_string(kMinHs256SecretBytes) +
               " bytes (got " + std::to_string(got) + ")");
  }
  return Status::ok();
}

Status parse_ed25519_public(std::string_view der, Key& out) {
  if (der.size() != kSpkiPrefix.size() + kEd25519PublicKeyBytes || !starts_with(der, kSpkiPrefix)) {
    return bad(
        "not an Ed25519 key: the PUBLIC KEY is not an Ed25519 SubjectPublicKeyInfo (OID "
        "1.3.101.112)");
  }
  std::memcpy(out.public_key.data(), der.data() + kSpkiPrefix.size(), kEd25519PublicKeyBytes);
  if (crypto_core_ed25519_is_valid_point(out.public_key.data()) != 1) {
    return bad("Ed25519 public key is not a valid curve point");
  }
  return Status::ok();
}

Status parse_ed25519_private(std::string_view der, Key& out) {
  constexpr std::size_t kV1Bytes = kPkcs8V1Prefix.size() + kEd25519SeedBytes;
  constexpr std::size_t kV2Bytes = kV1Bytes + kPkcs8V2PublicKeyTag.size() + kEd25519PublicKeyBytes;
  const bool v1 = der.size() == kV1Bytes && starts_with(der, kPkcs8V1Prefix);
  const bool v2 = der.size() == kV2Bytes && starts_with(der, kPkcs8V2Prefix) &&
                  starts_with(der.substr(kV1Bytes), kPkcs8V2PublicKeyTag);
  if (!v1 && !v2) {
    return bad(
        "not an Ed25519 key: the PRIVATE KEY is not an Ed25519 PKCS#8 key (OID 1.3.101.112)");
  }
  std::array<unsigned char, kEd25519SigningKeyBytes> signing{};
  crypto_sign_seed_keypair(
      out.public_key.data(), signing.data(),
      reinterpret_cast<const unsigned char*>(der.data()) + kPkcs8V1Prefix.size());
  out.signing_key =
      SecretBytes(std::string_view(reinterpret_cast<const char*>(signing.data()), signing.size()));
  sodium_memzero(signing.data(), signing.size());
  if (v2 && std::memcmp(out.public_key.data(), der.data() + kV2Bytes - kEd25519PublicKeyBytes,
                        kEd25519PublicKeyBytes) != 0) {
    return bad("the public key inside the PRIVATE KEY does not belong to it");
  }
  return Status::ok();
}

Status parse_eddsa(std::string_view contents, Key& out) {
  PemBlock block;
  if (Status found = find_pem_block(contents, block); !found) {
    return bad("not an Ed25519 key: " + found.reason() +
               " (expected \"-----BEGIN PUBLIC KEY-----\" or \"-----BEGIN PRIVATE KEY-----\")");
  }
  const bool is_public = block.label == "PUBLIC KEY";
  if (!is_public && block.label != "PRIVATE KEY") {
    if (block.label == "ENCRYPTED PRIVATE KEY") {
      return bad(
          "encrypted private keys are not supported: write it unencrypted with `openssl pkey`");
    }
    return bad("not an Ed25519 key: found a \"" + std::string(block.label) +
               "\" PEM block, expected \"PUBLIC KEY\" or \"PRIVATE KEY\"");
  }
  std::optional<std::string> der = base64::decode(block.body);
  if (!der) return bad("bad PEM: the body of the " + std::string(block.label) + " is not base64");
  Scrubbed scrub(*der);
  return is_public ? parse_ed25519_public(*der, out) : parse_ed25519_private(*der, out);
}

std::string pem_block(std::string_view label, std::string_view der) {
  const std::string body = base64::encode(der);
  std::string out = std::string(kPemBegin) + std::string(label) + std::string(kPemDashes) + "\n";
  for (std::size_t at = 0; at < body.size(); at += kPemLineChars) {
    out += body.substr(at, kPemLineChars) + "\n";
  }
  return out + std::string(kPemEnd) + std::string(label) + std::string(kPemDashes) + "\n";
}

std::string_view as_chars(const unsigned char* bytes, std::size_t size) {
  return {reinterpret_cast<const char*>(bytes), size};
}

Status read_key_file(const std::string& path, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {Errc::io, "cannot open " + path + ": " + std::strerror(errno)};
  Status status;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    status = {Errc::io, "cannot stat " + path + ": " + std::strerror(errno)};
  } else if (!S_ISREG(st.st_mode)) {
    status = {Errc::io, "cannot read " + path + ": not a regular file"};
  } else if (static_cast<std::size_t>(st.st_size) > kMaxKeyFileBytes) {
    status = {Errc::too_large, path + ": larger than " + std::to_string(kMaxKeyFileBytes) +
                                   " bytes, not a key file"};
  } else {
    out.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < out.size()) {
      const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        status = {Errc::io, "cannot read " + path + ": " + std::strerror(errno)};
        break;
      }
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    out.resize(got);
  }
  ::close(fd);
  return status;
}

}  // namespace

std::string ed25519_public_pem(const Key& key) {
  std::string der(as_chars(kSpkiPrefix.data(), kSpkiPrefix.size()));
  der += as_chars(key.public_key.data(), key.public_key.size());
  return pem_block("PUBLIC KEY", der);
}

std::string ed25519_private_pem(const Key& key) {
  if (key.alg != Alg::eddsa || key.signing_key.size() != kEd25519SigningKeyBytes) return {};
  std::string der(as_chars(kPkcs8V1Prefix.data(), kPkcs8V1Prefix.size()));
  Scrubbed scrub(der);
  der += as_chars(key.signing_key.data(), kEd25519SeedBytes);  // the seed leads libsodium's key
  return pem_block("PRIVATE KEY", der);
}

Status parse_key(std::string_view kid, Alg alg, std::string_view contents, Key& out) {
  if (!presence::sodium_ready()) return {Errc::exhausted, "libsodium failed to initialise"};
  Key key;
  key.kid = std::string(kid);
  key.alg = alg;
  Status parsed = alg == Alg::hs256 ? parse_hs256(contents, key) : parse_eddsa(contents, key);
  if (parsed) out = std::move(key);
  return parsed;
}

Status load_key_file(std::string_view kid, Alg alg, const std::string& path, Key& out) {
  std::string contents;
  Scrubbed scrub(contents);
  if (Status read = read_key_file(path, contents); !read) return read;
  if (Status parsed = parse_key(kid, alg, contents, out); !parsed) {
    return {parsed.code(), path + ": " + parsed.reason()};
  }
  return Status::ok();
}

}  // namespace presence::jwt
