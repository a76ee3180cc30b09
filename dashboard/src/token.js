// What the pages need to know of a JWT they were handed: its claims, to
// learn the cart id (`sub`) and when to fetch the next one. The signature is
// the server's business; nothing here trusts the claims for access.

// Renew when this share of a token's lifetime has passed.
export const RENEW_AT_FRACTION = 0.8;
// Never renew sooner than this after getting a token, so a server handing
// out already-expired tokens is not asked in a tight loop.
export const MIN_RENEW_DELAY_MS = 1000;

function base64UrlDecode(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "===".slice((base64.length + 3) % 4));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

// The payload of a compact JWT, or null when it is not one.
export function tokenClaims(token) {
  const parts = typeof token === "string" ? token.split(".") : [];
  if (parts.length !== 3) return null;
  try {
    const claims = JSON.parse(base64UrlDecode(parts[1]));
    return claims && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

// How long the token lives, in milliseconds from when it was handed out.
// Taken from the token's own iat/exp when it has both, so a client clock that
// is off does not matter; otherwise from expires_at against the local clock.
export function tokenLifetimeMs(claims, expiresAt, nowMs = Date.now()) {
  const exp = claims && Number.isFinite(claims.exp) ? claims.exp : expiresAt;
  if (!Number.isFinite(exp)) return null;
  if (claims && Number.isFinite(claims.iat)) return (exp - claims.iat) * 1000;
  return exp * 1000 - nowMs;
}

// Milliseconds from now until a token just handed out should be replaced.
export function renewDelayMs(lifetimeMs) {
  return Math.max(MIN_RENEW_DELAY_MS, lifetimeMs * RENEW_AT_FRACTION);
}

// A token endpoint said no (401/403): asking again will not help until the
// user signs in again.
export class TokenRefused extends Error {
  constructor(status) {
    super(`token refused with HTTP ${status}`);
    this.status = status;
  }
}

// Asks a same-origin token endpoint (/admin/token, /demo/token) for a token.
// Resolves to {token, claims, lifetimeMs, expiresAtMs}; rejects with
// TokenRefused on 401/403 and with an Error on anything else.
export async function fetchToken(url, method) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    cache: "no-store",
    headers: { Accept: "application/json" },
  });
  if (response.status === 401 || response.status === 403) throw new TokenRefused(response.status);
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
  const body = await response.json();
  const claims = tokenClaims(body.token);
  if (!claims) throw new Error(`${url} answered without a token`);
  const lifetimeMs = tokenLifetimeMs(claims, body.expires_at);
  const expiresAtMs = lifetimeMs === null ? Infinity : Date.now() + lifetimeMs;
  return { token: body.token, claims, lifetimeMs, expiresAtMs };
}
