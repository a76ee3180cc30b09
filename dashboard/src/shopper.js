// shopper.js: what a store adds to its pages so its shoppers show on the
// dashboard. Bundled as the global `PresenceShopper`:
//
//   <script src="/shopper.js"></script>
//   <script>
//     PresenceShopper.connect({tokenUrl: "/demo/token"});   // or {token: "<JWT>"}
//     PresenceShopper.setCart([{product: "air-max-90", size: "10", qty: 1}]);
//   </script>
//
// It joins `cart:<sub>` (sub from the token) with the page and the cart,
// sends both again on client-side navigation (history.pushState/popstate)
// and on every cart change, and leaves reconnecting to phoenix. A token from
// tokenUrl is fetched again before it expires; reconnects use the newest.
import { Socket } from "phoenix";
import { fetchToken, renewDelayMs, tokenClaims } from "./token.js";

// The bounds on a presence (docs/PROTOCOL.md section 6).
export const MAX_PAGE_BYTES = 256;
export const MAX_ITEMS = 100;
export const MAX_PRODUCT_BYTES = 64;
export const MAX_SIZE_BYTES = 16;
export const MIN_QTY = 1;
export const MAX_QTY = 99;

// Backoff when no token could be had, by attempt.
const TOKEN_RETRY_MS = [500, 1000, 2000, 5000, 10000, 30000];
const NAVIGATION_EVENT = "presence:navigate";
let historyWatched = false;

const encoder = new TextEncoder();
const byteLength = (text) => encoder.encode(text).length;

// The longest prefix of `text` within maxBytes of UTF-8, cut between code points.
export function truncateUtf8(text, maxBytes) {
  if (byteLength(text) <= maxBytes) return text;
  let out = "";
  let bytes = 0;
  for (const char of text) {
    bytes += byteLength(char);
    if (bytes > maxBytes) break;
    out += char;
  }
  return out;
}

export function normalizePage(page) {
  return truncateUtf8(String(page ?? ""), MAX_PAGE_BYTES);
}

// The cart as the server accepts it: items with a product of 1 to 64 bytes
// and a size of at most 16 bytes; qty defaults to 1, an item with less than
// one shoe is not in the cart, and more than 99 count as 99; only the first
// 100 items go. An item the server would refuse is left out, so one bad item
// does not get the whole update refused.
export function normalizeItems(items) {
  const out = [];
  for (const item of Array.isArray(items) ? items : []) {
    if (out.length === MAX_ITEMS) break;
    if (!item || typeof item !== "object") continue;
    const product = String(item.product ?? "");
    const size = String(item.size ?? "");
    const qty = Math.trunc(Number(item.qty ?? MIN_QTY));
    if (product === "" || byteLength(product) > MAX_PRODUCT_BYTES || byteLength(size) > MAX_SIZE_BYTES) continue;
    if (!(qty >= MIN_QTY)) continue;
    out.push({ product, size, qty: Math.min(MAX_QTY, qty) });
  }
  return out;
}

// history.pushState/replaceState fire no event of their own: wrap them once
// so any router's navigation is seen.
function watchHistory() {
  if (historyWatched) return;
  historyWatched = true;
  for (const method of ["pushState", "replaceState"]) {
    const original = history[method];
    history[method] = function (...args) {
      const result = original.apply(this, args);
      window.dispatchEvent(new Event(NAVIGATION_EVENT));
      return result;
    };
  }
}

export class Shopper {
  // options: {token} or {tokenUrl}; endpoint ("/socket"); page (default:
  // location.pathname, followed on navigation); items; onStatus(status, detail)
  // with status "connecting" | "joined" | "reconnecting" | "refused".
  constructor(options = {}) {
    this.endpoint = options.endpoint || "/socket";
    this.tokenUrl = options.tokenUrl || null;
    this.fixedToken = options.token || null;
    if (!this.fixedToken && !this.tokenUrl) throw new Error("PresenceShopper: give a token or a tokenUrl");
    this.followsLocation = options.page === undefined;
    this.page = normalizePage(this.followsLocation ? location.pathname : options.page);
    this.items = normalizeItems(options.items || []);
    this.onStatus = options.onStatus || (() => {});
    this.grant = null;
    this.sub = null;
    this.socket = null;
    this.channel = null;
    this.renewTimer = null;
    this.renewing = false;
    this.tokenFailures = 0;
    this.stopped = false;
    this.followLocation = () => this.setPage(location.pathname);
  }

  start() {
    this.onStatus("connecting");
    if (this.followsLocation) {
      watchHistory();
      window.addEventListener("popstate", this.followLocation);
      window.addEventListener(NAVIGATION_EVENT, this.followLocation);
    }
    if (this.fixedToken) {
      const claims = tokenClaims(this.fixedToken);
      this.useGrant({ token: this.fixedToken, claims, lifetimeMs: null, expiresAtMs: Infinity });
    } else {
      this.renew();
    }
    return this;
  }

  // The cart id this shopper is tracked under, once known.
  get cartId() {
    return this.sub;
  }

  setPage(page) {
    const next = normalizePage(page);
    if (next === this.page) return;
    this.page = next;
    this.sendUpdate();
  }

  setCart(items) {
    this.items = normalizeItems(items);
    this.sendUpdate();
  }

  disconnect() {
    this.stopped = true;
    clearTimeout(this.renewTimer);
    window.removeEventListener("popstate", this.followLocation);
    window.removeEventListener(NAVIGATION_EVENT, this.followLocation);
    this.channel?.leave();
    this.socket?.disconnect();
  }

  presence() {
    return { page: this.page, items: this.items };
  }

  // Every update carries the whole presence, so the latest one is the truth
  // whatever was lost or reordered before it.
  sendUpdate() {
    if (this.channel && !this.stopped) this.channel.push("update", this.presence());
  }

  async renew() {
    if (this.renewing || this.stopped) return;
    this.renewing = true;
    clearTimeout(this.renewTimer);
    try {
      const grant = await fetchToken(this.tokenUrl, "GET");
      this.tokenFailures = 0;
      if (!this.stopped) this.useGrant(grant);
    } catch (error) {
      const delay = TOKEN_RETRY_MS[Math.min(this.tokenFailures, TOKEN_RETRY_MS.length - 1)];
      this.tokenFailures += 1;
      this.onStatus(this.channel ? "reconnecting" : "connecting", error.message);
      this.renewTimer = setTimeout(() => this.renew(), delay);
    } finally {
      this.renewing = false;
    }
  }

  useGrant(grant) {
    const sub = grant.claims && typeof grant.claims.sub === "string" ? grant.claims.sub : null;
    if (!sub) {
      this.onStatus("refused", "the token has no sub");
      return;
    }
    this.grant = grant;
    if (!this.socket) {
      // A function, so every reconnect presents the newest token.
      this.socket = new Socket(this.endpoint, { params: () => ({ token: this.grant.token }) });
      this.socket.onError(() => this.socketDown());
      this.socket.connect();
    }
    if (sub !== this.sub) this.joinCart(sub);
    if (this.tokenUrl && grant.lifetimeMs !== null) {
      this.renewTimer = setTimeout(() => this.renew(), renewDelayMs(grant.lifetimeMs));
    }
  }

  joinCart(sub) {
    this.channel?.leave();
    this.sub = sub;
    // A function, so a rejoin after a reconnect carries the current presence.
    const channel = this.socket.channel(`cart:${sub}`, () => this.presence());
    channel
      .join()
      .receive("ok", () => channel === this.channel && this.onStatus("joined", sub))
      .receive("error", (reply) => channel === this.channel && this.onStatus("refused", reply?.reason || "join refused"));
    channel.onError(() => channel === this.channel && this.onStatus("reconnecting"));
    this.channel = channel;
  }

  socketDown() {
    if (this.stopped) return;
    this.onStatus("reconnecting");
    // Reconnecting with an expired token can only be refused.
    if (this.tokenUrl && Date.now() >= this.grant.expiresAtMs) this.renew();
  }
}

let current = null;
let pendingItems = null;

// Connects this page's shopper (one per page); returns the Shopper.
export function connect(options = {}) {
  current?.disconnect();
  const items = options.items ?? pendingItems ?? [];
  pendingItems = null;
  current = new Shopper({ ...options, items }).start();
  return current;
}

// Reports the cart (an array of {product, size, qty}); before connect(), it
// is kept for the join.
export function setCart(items) {
  if (current) current.setCart(items);
  else pendingItems = items;
}

export function setPage(page) {
  current?.setPage(page);
}

export function disconnect() {
  current?.disconnect();
  current = null;
}
