#include <sodium.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "hs256.hpp"
#include "json_members.hpp"
#include "presence/base64url.hpp"
#include "presence/cart_meta.hpp"
#include "presence/jwt.hpp"

namespace presence::jwt {
namespace {

using detail::JsonKind;
using detail::JsonMember;

// Token text quoted in a log line: printable ASCII only, and short.
constexpr std::size_t kMaxQuotedBytes = 40;

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text.substr(0, kMaxQuotedBytes)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > kMaxQuotedBytes) out += "...";
  return out + "\"";
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) return b > 0 ? INT64_MAX : INT64_MIN;
  return sum;
}

enum class Rounding { down, up };

// A NumericDate as whole seconds; fractions are rounded the way that refuses
// sooner (exp down, nbf / iat up). nullopt when it is no number or out of range.
std::optional<std::int64_t> numeric_date(const JsonMember& member, Rounding rounding) {
  if (member.kind != JsonKind::number) return std::nullopt;
  if (member.integer) return member.integer;
  const double whole =
      rounding == Rounding::down ? std::floor(member.real) : std::ceil(member.real);
  // 2^63 is exactly representable; every double below it converts without overflow.
  constexpr double kLimit = 9223372036854775808.0;
  if (!std::isfinite(whole) || whole >= kLimit || whole < -kLimit) return std::nullopt;
  return static_cast<std::int64_t>(whole);
}

class Verifier {
 public:
  Verifier(const KeyRing& keys, const VerifyOptions& opts, VerifyResult& result)
      : keys_(keys), opts_(opts), result_(result) {}

  void run(std::string_view token) {
    if (token.size() > opts_.max_token_bytes) {
      return fail(VerifyError::malformed,
                  "token longer than " + std::to_string(opts_.max_token_bytes) + " bytes");
    }
    const std::size_t first_dot = token.find('.');
    const std::size_t second_dot =
        first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
    if (second_dot == std::string_view::npos || token.find('.', second_dot + 1) != token.npos) {
      return fail(VerifyError::malformed, "not three dot-separated segments");
    }
    const std::string_view segments[] = {token.substr(0, first_dot),
                                         token.substr(first_dot + 1, second_dot - first_dot - 1),
                                         token.substr(second_dot + 1)};
    static constexpr const char* kSegmentNames[] = {"header", "claims", "signature"};
    std::optional<std::string> decoded[3];
    for (std::size_t i = 0; i < 3; ++i) {
      if (segments[i].empty()) {
        return fail(VerifyError::malformed, std::string("empty ") + kSegmentNames[i]);
      }
      decoded[i] = base64url::decode(segments[i]);
      if (!decoded[i]) {
        return fail(VerifyError::malformed,
                    std::string(kSegmentNames[i]) + " is not unpadded base64url");
      }
    }
    const Key* key = header_key(*decoded[0]);
    if (key == nullptr) return;
    if (!signature_matches(*key, token.substr(0, second_dot), *decoded[2])) {
      return fail(VerifyError::bad_signature, "signature does not match");
    }
    result_.kid = key->kid;
    check_claims(*decoded[1], *key);
  }

 private:
  void fail(VerifyError error, std::string reason) {
    result_.error = error;
    result_.reason = std::move(reason);
  }

  // The key the header asks for, or nullptr after recording why there is none.
  const Key* header_key(std::string_view header) {
    std::array<JsonMember, 4> members{{{"alg"}, {"kid"}, {"typ"}, {"crit"}}};
    auto& [alg, kid, typ, crit] = members;
    if (Status read = detail::read_object_members(header, members); !read) {
      fail(VerifyError::malformed, "header: " + read.reason());
      return nullptr;
    }
    if (alg.kind != JsonKind::string) {
      fail(VerifyError::unsupported_alg,
           alg.kind == JsonKind::absent ? "header has no alg" : "header alg is no string");
      return nullptr;
    }
    Alg token_alg{};
    if (alg.text == alg_name(Alg::hs256)) {
      token_alg = Alg::hs256;
    } else if (alg.text == alg_name(Alg::eddsa)) {
      token_alg = Alg::eddsa;
    } else {
      fail(VerifyError::unsupported_alg, "alg " + quoted(alg.text) + " is not accepted");
      return nullptr;
    }
    if ((kid.kind != JsonKind::absent && kid.kind != JsonKind::string) ||
        (typ.kind != JsonKind::absent && typ.kind != JsonKind::string)) {
      fail(VerifyError::malformed, "header kid or typ is no string");
      return nullptr;
    }
    // RFC 7515 4.1.11: extensions named in crit must be understood; we know none.
    if (crit.kind != JsonKind::absent) {
      fail(VerifyError::malformed, "header crit names extensions this verifier does not know");
      return nullptr;
    }
    const Key* key = keys_.find(kid.text, token_alg);
    if (key == nullptr) {
      fail(VerifyError::unknown_kid,
           kid.text.empty()
               ? "no " + std::string(alg_name(token_alg)) + " key for tokens without kid"
               : "no " + std::string(alg_name(token_alg)) + " key with kid " + quoted(kid.text));
    }
    return key;
  }

  static bool signature_matches(const Key& key, std::string_view signing_input,
                                std::string_view signature) {
    const auto* sig = reinterpret_cast<const unsigned char*>(signature.data());
    if (key.alg == Alg::hs256) {
      const detail::Hs256Mac mac = detail::hs256(key.secret, signing_input);
      return signature.size() == mac.size() && crypto_verify_32(mac.data(), sig) == 0;
    }
    return signature.size() == crypto_sign_BYTES &&
           crypto_sign_verify_detached(sig,
                                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                                       signing_input.size(), key.public_key.data()) == 0;
  }

  void check_claims(std::string_view payload, const Key& key) {
    std::array<JsonMember, 7> members{
        {{"sub"}, {"role"}, {"exp"}, {"nbf"}, {"iat"}, {"aud"}, {"iss"}}};
    auto& [sub, role, exp, nbf, iat, aud, iss] = members;
    if (Status read = detail::read_object_members(payload, members); !read) {
      return fail(VerifyError::malformed, "claims: " + read.reason());
    }
    Claims& claims = result_.claims;
    if (sub.kind != JsonKind::string)
      return fail(VerifyError::bad_claims, "sub missing or no string");
    claims.sub = std::move(sub.text);
    if (!is_valid_subject(claims.sub)) {
      return fail(VerifyError::bad_claims, "sub " + quoted(claims.sub) + " is not a valid subject");
    }
    if (role.kind != JsonKind::string || role.text.empty()) {
      return fail(VerifyError::bad_claims, "role missing, empty or no string");
    }
    claims.role = std::move(role.text);
    const std::optional<std::int64_t> exp_s = numeric_date(exp, Rounding::down);
    if (!exp_s) return fail(VerifyError::bad_claims, "exp missing or not a NumericDate");
    claims.exp = *exp_s;
    if (nbf.kind != JsonKind::absent) {
      claims.nbf = numeric_date(nbf, Rounding::up);
      if (!claims.nbf) return fail(VerifyError::bad_claims, "nbf is not a NumericDate");
    }
    if (iat.kind != JsonKind::absent) {
      claims.iat = numeric_date(iat, Rounding::up);
      if (!claims.iat) return fail(VerifyError::bad_claims, "iat is not a NumericDate");
    }
    if (!opts_.issuer.empty() && (iss.kind != JsonKind::string || iss.text != opts_.issuer)) {
      return fail(VerifyError::wrong_issuer,
                  iss.kind == JsonKind::absent
                      ? "iss missing where " + quoted(opts_.issuer) + " is required"
                      : "iss is not " + quoted(opts_.issuer));
    }
    if (std::string why = audience_problem(aud); !why.empty()) {
      return fail(VerifyError::wrong_audience, std::move(why));
    }
    const std::int64_t leeway = std::max<std::int64_t>(opts_.leeway_s, 0);
    const std::int64_t latest_now = saturating_add(opts_.now_s, leeway);
    if (opts_.now_s >= saturating_add(claims.exp, leeway)) {
      return fail(VerifyError::expired, "expired at " + std::to_string(claims.exp));
    }
    if (claims.nbf && *claims.nbf > latest_now) {
      return fail(VerifyError::not_yet_valid, "not valid before " + std::to_string(*claims.nbf));
    }
    if (claims.iat && *claims.iat > latest_now) {
      return fail(VerifyError::issued_in_future,
                  "issued at " + std::to_string(*claims.iat) + ", in the future");
    }
    if (claims.role != opts_.required_role) {
      return fail(VerifyError::wrong_role, "role " + quoted(claims.role) + " where " +
                                               quoted(opts_.required_role) + " is required");
    }
    const std::optional<Role> claimed = role_from_name(claims.role);
    if (!claimed || !key.roles.contains(*claimed)) {
      return fail(VerifyError::key_not_for_role,
                  "key " + quoted(key.kid) + " is configured for roles=" +
                      std::string(key.roles.name()) + ", not " + quoted(claims.role));
    }
    result_.error = VerifyError::none;
  }

  // RFC 7519 4.1.3: the aud claim, a string or an array of strings, must name
  // this endpoint's audience; without one configured, a token with aud is refused.
  std::string audience_problem(const JsonMember& aud) const {
    if (opts_.audience.empty()) {
      return aud.kind == JsonKind::absent ? std::string()
                                          : "aud is set, and this endpoint has no audience";
    }
    if (aud.kind == JsonKind::string && aud.text == opts_.audience) return {};
    if (aud.kind == JsonKind::string_array &&
        std::find(aud.strings.begin(), aud.strings.end(), opts_.audience) != aud.strings.end()) {
      return {};
    }
    return aud.kind == JsonKind::absent
               ? "aud missing where " + quoted(opts_.audience) + " is required"
               : "aud does not name " + quoted(opts_.audience);
  }

  const KeyRing& keys_;
  const VerifyOptions& opts_;
  VerifyResult& result_;
};

}  // namespace

std::string_view to_string(VerifyError error) noexcept {
  switch (error) {
    case VerifyError::none:
      return "none";
    case VerifyError::malformed:
      return "malformed";
    case VerifyError::unsupported_alg:
      return "unsupported_alg";
    case VerifyError::unknown_kid:
      return "unknown_kid";
    case VerifyError::bad_signature:
      return "bad_signature";
    case VerifyError::expired:
      return "expired";
    case VerifyError::not_yet_valid:
      return "not_yet_valid";
    case VerifyError::issued_in_future:
      return "issued_in_future";
    case VerifyError::bad_claims:
      return "bad_claims";
    case VerifyError::wrong_role:
      return "wrong_role";
    case VerifyError::key_not_for_role:
      return "key_not_for_role";
    case VerifyError::wrong_issuer:
      return "wrong_issuer";
    case VerifyError::wrong_audience:
      return "wrong_audience";
  }
  return "unknown";
}

VerifyResult verify(std::string_view token, const KeyRing& keys,
                    const VerifyOptions& opts) noexcept {
  VerifyResult result;
  try {
    Verifier(keys, opts, result).run(token);
  } catch (...) {
    // Only allocation can throw here; the short literal fits the string's inline buffer.
    result.error = VerifyError::malformed;
    result.reason = "out of memory";
  }
  return result;
}

}  // namespace presence::jwt
