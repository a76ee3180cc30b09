// presence-token: mints and checks the product's JWTs from a key file, and
// generates development keys. For operators, scripts and the ./run script.
// Exit status: 0 done, 1 token refused (verify), 2 bad usage or key.
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "presence/base64url.hpp"
#include "presence/cart_meta.hpp"
#include "presence/jwt.hpp"

namespace {

using presence::jwt::Alg;
using presence::jwt::Key;

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;

constexpr std::int64_t kDefaultTtlSeconds = 300;
// Tokens are meant to be short-lived; a year is already generous for a script.
constexpr std::int64_t kMaxTtlSeconds = 366 * 24 * 3600;
constexpr std::size_t kGeneratedSecretBytes = 32;

constexpr std::string_view kUsage =
    "usage:\n"
    "  presence-token --key FILE --alg hs256|eddsa [--kid KID] --sub SUB --role shopper|admin\n"
    "                 [--ttl SECONDS] [--nbf SECONDS] [--iat]\n"
    "      prints a token valid for --ttl seconds (default 300, at most 31622400);\n"
    "      --nbf makes it valid only from now + SECONDS (may be negative); --iat adds iat = now.\n"
    "  presence-token verify --key FILE --alg hs256|eddsa [--kid KID] --role ROLE\n"
    "                 [--roles shopper|admin|shopper,admin] [--leeway SECONDS] TOKEN\n"
    "      exits 0 and prints the claims if TOKEN verifies, else 1 and the reason;\n"
    "      --roles is what the key is configured for, as presence_jwt_key's roles=\n"
    "      (default: both).\n"
    "  presence-token genkey --alg hs256 --out FILE\n"
    "  presence-token genkey --alg eddsa --out PRIVATE.pem --pub PUBLIC.pem\n"
    "      writes a new key (never over an existing file); key files are created mode 0600.\n";

int usage_error(std::string_view message) {
  std::cerr << "presence-token: " << message << " (presence-token --help for usage)\n";
  return kExitUsage;
}

// --name value pairs, --flags, and positional words.
struct Arguments {
  std::map<std::string, std::string, std::less<>> values;
  std::map<std::string, bool, std::less<>> flags;
  std::vector<std::string> words;
  std::string error;

  std::optional<std::string_view> value(std::string_view name) const {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
};

Arguments parse_arguments(const std::vector<std::string_view>& args,
                          const std::vector<std::string_view>& value_options,
                          const std::vector<std::string_view>& flag_options) {
  Arguments out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (!arg.starts_with("--")) {
      out.words.emplace_back(arg);
      continue;
    }
    const std::string_view name = arg.substr(2);
    if (std::find(flag_options.begin(), flag_options.end(), name) != flag_options.end()) {
      out.flags[std::string(name)] = true;
    } else if (std::find(value_options.begin(), value_options.end(), name) != value_options.end()) {
      if (i + 1 == args.size()) {
        out.error = "option " + std::string(arg) + " needs a value";
        return out;
      }
      if (!out.values.emplace(std::string(name), std::string(args[++i])).second) {
        out.error = "option " + std::string(arg) + " given twice";
        return out;
      }
    } else {
      out.error = "unknown option " + std::string(arg);
      return out;
    }
  }
  return out;
}

std::optional<std::int64_t> parse_seconds(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Reads --key/--alg/--kid into a key; an error message when that fails.
std::string load_key(const Arguments& args, Key& key) {
  const std::optional<std::string_view> path = args.value("key");
  const std::optional<std::string_view> alg_text = args.value("alg");
  if (!path || !alg_text) return "--key and --alg are required";
  const std::optional<Alg> alg = presence::jwt::alg_from_config(*alg_text);
  if (!alg) return "--alg must be hs256 or eddsa";
  const presence::Status loaded =
      presence::jwt::load_key_file(args.value("kid").value_or(""), *alg, std::string(*path), key);
  return loaded.reason();
}

int mint(const std::vector<std::string_view>& argv) {
  const Arguments args =
      parse_arguments(argv, {"key", "alg", "kid", "sub", "role", "ttl", "nbf"}, {"iat"});
  if (!args.error.empty()) return usage_error(args.error);
  if (!args.words.empty()) return usage_error("unexpected argument " + args.words.front());
  Key key;
  if (std::string error = load_key(args, key); !error.empty()) return usage_error(error);
  if (!key.can_sign()) {
    return usage_error(std::string(*args.value("key")) +
                       " holds only a public key: minting needs the PRIVATE KEY file");
  }
  presence::jwt::Claims claims;
  claims.sub = args.value("sub").value_or("");
  claims.role = args.value("role").value_or("");
  if (!presence::is_valid_subject(claims.sub)) {
    return usage_error("--sub must be 1 to 128 bytes of [A-Za-z0-9._:-]");
  }
  if (claims.role != "shopper" && claims.role != "admin") {
    return usage_error("--role must be shopper or admin");
  }
  const std::optional<std::int64_t> ttl =
      args.value("ttl") ? parse_seconds(*args.value("ttl")) : kDefaultTtlSeconds;
  if (!ttl || *ttl < 1 || *ttl > kMaxTtlSeconds) {
    return usage_error("--ttl must be 1 to " + std::to_string(kMaxTtlSeconds) + " seconds");
  }
  const std::int64_t now = std::time(nullptr);
  claims.exp = now + *ttl;
  if (args.value("nbf")) {
    const std::optional<std::int64_t> offset = parse_seconds(*args.value("nbf"));
    if (!offset || *offset <= -kMaxTtlSeconds || *offset >= *ttl) {
      return usage_error("--nbf must be seconds from now, before the token expires");
    }
    claims.nbf = now + *offset;
  }
  if (args.flags.contains("iat")) claims.iat = now;
  const std::optional<std::string> token = presence::jwt::sign(key, claims);
  if (!token) return usage_error("the key cannot sign these claims");
  std::cout << *token << "\n";
  return kExitOk;
}

int verify(const std::vector<std::string_view>& argv) {
  const Arguments args =
      parse_arguments(argv, {"key", "alg", "kid", "role", "roles", "leeway"}, {});
  if (!args.error.empty()) return usage_error(args.error);
  if (args.words.size() != 1) return usage_error("verify takes exactly one TOKEN");
  const std::optional<std::string_view> role = args.value("role");
  if (!role) return usage_error("--role is required");
  const std::optional<std::int64_t> leeway =
      args.value("leeway") ? parse_seconds(*args.value("leeway")) : 0;
  if (!leeway || *leeway < 0) return usage_error("--leeway must be seconds, 0 or more");
  const std::optional<presence::jwt::RoleSet> roles =
      presence::jwt::RoleSet::parse(args.value("roles").value_or("shopper,admin"));
  if (!roles) return usage_error("--roles must be shopper, admin or shopper,admin");
  Key key;
  if (std::string error = load_key(args, key); !error.empty()) return usage_error(error);
  key.roles = *roles;
  presence::jwt::KeyRing ring;
  if (const presence::Status added = ring.add(std::move(key)); !added) {
    return usage_error(added.reason());
  }
  presence::jwt::VerifyOptions opts;
  opts.now_s = std::time(nullptr);
  opts.leeway_s = *leeway;
  opts.required_role = *role;
  const presence::jwt::VerifyResult result = presence::jwt::verify(args.words[0], ring, opts);
  if (!result.ok()) {
    std::cerr << "refused: " << presence::jwt::to_string(result.error) << ": " << result.reason
              << "\n";
    return kExitRefused;
  }
  std::cout << "ok sub=" << result.claims.sub << " role=" << result.claims.role
            << " exp=" << result.claims.exp << "\n";
  return kExitOk;
}

// Creates `path` with `mode`, refusing to replace a file: losing a key is worse than an error.
std::string write_new_file(const std::string& path, std::string_view contents, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return "cannot create " + path + ": " + std::strerror(errno);
  std::size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string error = "cannot write " + path + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(path.c_str());
      return error;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) return "cannot write " + path + ": " + std::strerror(errno);
  return {};
}

int genkey(const std::vector<std::string_view>& argv) {
  const Arguments args = parse_arguments(argv, {"alg", "out", "pub"}, {});
  if (!args.error.empty()) return usage_error(args.error);
  if (!args.words.empty()) return usage_error("unexpected argument " + args.words.front());
  const std::optional<Alg> alg = presence::jwt::alg_from_config(args.value("alg").value_or(""));
  if (!alg) return usage_error("--alg must be hs256 or eddsa");
  const std::optional<std::string_view> out = args.value("out");
  const std::optional<std::string_view> pub = args.value("pub");
  if (!out) return usage_error("--out is required");
  if (sodium_init() < 0) return usage_error("libsodium failed to initialise");

  if (*alg == Alg::hs256) {
    if (pub) return usage_error("--pub is for eddsa keys only");
    // The secret is the text of 32 random bytes in base64url: every JWT library
    // reading the file as a string (less its newline) gets the same 256-bit key.
    std::string random(kGeneratedSecretBytes, '\0');
    randombytes_buf(random.data(), random.size());
    std::string text = presence::base64url::encode(random) + "\n";
    sodium_memzero(random.data(), random.size());
    std::string error = write_new_file(std::string(*out), text, 0600);
    sodium_memzero(text.data(), text.size());
    if (!error.empty()) return usage_error(error);
    return kExitOk;
  }

  if (!pub) return usage_error("eddsa keys need --pub PUBLIC.pem as well as --out PRIVATE.pem");
  Key key;
  key.alg = Alg::eddsa;
  std::string signing(presence::jwt::kEd25519SigningKeyBytes, '\0');
  crypto_sign_keypair(key.public_key.data(), reinterpret_cast<unsigned char*>(signing.data()));
  key.signing_key = presence::jwt::SecretBytes(signing);
  sodium_memzero(signing.data(), signing.size());
  std::string private_pem = presence::jwt::ed25519_private_pem(key);
  std::string error = write_new_file(std::string(*out), private_pem, 0600);
  sodium_memzero(private_pem.data(), private_pem.size());
  if (!error.empty()) return usage_error(error);
  error = write_new_file(std::string(*pub), presence::jwt::ed25519_public_pem(key), 0644);
  if (!error.empty()) {
    ::unlink(std::string(*out).c_str());  // half a key pair is of no use
    return usage_error(error);
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  try {
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h" || args[0] == "help")) {
      std::cout << kUsage;
      return kExitOk;
    }
    if (!args.empty() && args[0] == "genkey") return genkey({args.begin() + 1, args.end()});
    if (!args.empty() && args[0] == "verify") return verify({args.begin() + 1, args.end()});
    return mint(args);
  } catch (const std::exception& e) {
    std::cerr << "presence-token: " << e.what() << "\n";
    return kExitUsage;
  }
}
