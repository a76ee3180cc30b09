// Token verification per handshake (the target: 10,000 handshakes/s on 2 cores)
// and minting, for HS256 and EdDSA. Threads(2) shows verify scaling across
// cores: it takes no lock.
#include <sodium.h>

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "presence/jwt.hpp"

namespace {

using namespace presence::jwt;

constexpr std::int64_t kNow = 1764277500;

struct Keys {
  Key hs;
  Key ed;
  KeyRing ring;

  Keys() {
    if (!parse_key("", Alg::hs256, "benchmark-secret-of-at-least-32-bytes", hs)) std::abort();
    ed.alg = Alg::eddsa;
    unsigned char seed[kEd25519SeedBytes] = {42};
    unsigned char signing[kEd25519SigningKeyBytes];
    crypto_sign_seed_keypair(ed.public_key.data(), signing, seed);
    ed.signing_key =
        SecretBytes(std::string_view(reinterpret_cast<char*>(signing), sizeof signing));
    hs.roles = Role::shopper;
    ed.roles = Role::shopper;
    if (!ring.add(hs) || !ring.add(ed)) std::abort();
  }
};

const Keys& keys() {
  static const Keys instance;
  return instance;
}

// A shopper token as a store would send it: sub, role, exp, iat.
const Claims kClaims{"cart-01HF3M5Z8K2Q9W7X", "shopper", kNow + 300, std::nullopt, kNow};

VerifyOptions options() {
  VerifyOptions opts;
  opts.now_s = kNow;
  opts.leeway_s = 30;
  opts.required_role = "shopper";
  return opts;
}

void verify_loop(benchmark::State& state, const std::string& token, VerifyError expected) {
  const VerifyOptions opts = options();
  for (auto _ : state) {
    VerifyResult result = verify(token, keys().ring, opts);
    if (result.error != expected) state.SkipWithError("unexpected verify result");
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_VerifyHs256(benchmark::State& state) {
  verify_loop(state, *sign(keys().hs, kClaims), VerifyError::none);
}
BENCHMARK(BM_VerifyHs256)->Threads(1)->Threads(2)->UseRealTime();

void BM_VerifyEdDsa(benchmark::State& state) {
  verify_loop(state, *sign(keys().ed, kClaims), VerifyError::none);
}
BENCHMARK(BM_VerifyEdDsa)->Threads(1)->Threads(2)->UseRealTime();

// A forged token costs the same as a valid one: the signature is checked in full.
void BM_VerifyEdDsaForged(benchmark::State& state) {
  std::string token = *sign(keys().ed, kClaims);
  token[token.size() - 5] = token[token.size() - 5] == 'A' ? 'B' : 'A';
  verify_loop(state, token, VerifyError::bad_signature);
}
BENCHMARK(BM_VerifyEdDsaForged);

// Structural refusals stop before any cryptography.
void BM_VerifyMalformed(benchmark::State& state) {
  verify_loop(state, "eyJhbGciOiJIUzI1NiJ9.not base64.x", VerifyError::malformed);
}
BENCHMARK(BM_VerifyMalformed);

void BM_SignHs256(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(sign(keys().hs, kClaims));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SignHs256);

void BM_SignEdDsa(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(sign(keys().ed, kClaims));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SignEdDsa);

}  // namespace

BENCHMARK_MAIN();
