// The dashboard's live feed: one admin channel over the stock phoenix client,
// signed in with short-lived tokens from POST /admin/token (which sits behind
// nginx's own auth, so the browser's credentials for /admin/ get it).
//
// Renewal never leaves a gap: a new socket is opened with the new token and
// joined while the old one keeps delivering; the old one is dropped only once
// the new one has joined. Phoenix reconnects a dropped socket on its own with
// the token it has; when that token has expired, a fresh one is fetched.
import { Socket } from "phoenix";
import { fetchToken, renewDelayMs, TokenRefused } from "./token.js";

export const FeedState = Object.freeze({
  connecting: "connecting",
  live: "live",
  reconnecting: "reconnecting",
  expired: "expired",
  refused: "refused",
});

// Backoff when the token endpoint cannot be reached (it did not refuse).
const TOKEN_RETRY_MS = [250, 1000, 2000, 5000];

// One socket, its channels (the first one decides the state) and the token
// it was opened with.
class Link {
  constructor(endpoint, topics, grant) {
    this.grant = grant;
    this.dropped = false;
    this.socket = new Socket(endpoint, { params: { token: grant.token } });
    this.channels = topics.map((topic) => this.socket.channel(topic, {}));
    this.channel = this.channels[0];
  }

  expired(nowMs = Date.now()) {
    return nowMs >= this.grant.expiresAtMs;
  }

  drop() {
    this.dropped = true;
    for (const channel of this.channels) channel.leave();
    this.socket.disconnect();
  }
}

export class AdminFeed {
  // handlers: {event: payload => void} for the channel's pushes, delivered
  // from one socket at a time; onState(state, detail) on every state change.
  // `also`: [{topic, handlers}] of more channels on the same socket and token.
  constructor({ endpoint, tokenUrl, topic, handlers, onState, also = [] }) {
    this.endpoint = endpoint;
    this.tokenUrl = tokenUrl;
    this.topic = topic;
    this.handlers = handlers;
    this.also = also;
    this.onState = onState;
    this.current = null;
    this.pending = null;
    this.renewTimer = null;
    this.renewing = false;
    this.tokenFailures = 0;
    this.state = null;
    this.stopped = false;
    // Timers of hidden tabs are throttled: the renewal may be overdue.
    this.onVisible = () => {
      if (document.visibilityState === "visible" && this.current?.expired()) this.renew();
    };
  }

  start() {
    this.setState(FeedState.connecting);
    document.addEventListener("visibilitychange", this.onVisible);
    this.renew();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.renewTimer);
    document.removeEventListener("visibilitychange", this.onVisible);
    this.current?.drop();
    this.pending?.drop();
    this.current = this.pending = null;
  }

  async renew() {
    if (this.renewing || this.stopped || this.state === FeedState.expired) return;
    this.renewing = true;
    clearTimeout(this.renewTimer);
    try {
      const grant = await fetchToken(this.tokenUrl, "POST");
      this.tokenFailures = 0;
      if (!this.stopped) this.open(grant);
    } catch (error) {
      if (this.stopped) return;
      if (error instanceof TokenRefused) {
        // The sign-in is no longer accepted: stop showing data.
        this.current?.drop();
        this.pending?.drop();
        this.current = this.pending = null;
        this.setState(FeedState.expired, error.message);
      } else {
        const delay = TOKEN_RETRY_MS[Math.min(this.tokenFailures, TOKEN_RETRY_MS.length - 1)];
        this.tokenFailures += 1;
        this.renewTimer = setTimeout(() => this.renew(), delay);
        if (!this.current || this.current.expired()) this.setState(FeedState.reconnecting, error.message);
      }
    } finally {
      this.renewing = false;
    }
  }

  open(grant) {
    this.pending?.drop();
    const link = new Link(this.endpoint, [this.topic, ...this.also.map((a) => a.topic)], grant);
    this.pending = link;
    [this.handlers, ...this.also.map((a) => a.handlers)].forEach((handlers, i) => {
      for (const [event, handler] of Object.entries(handlers)) {
        link.channels[i].on(event, (payload) => {
          if (link === this.current) handler(payload);
        });
      }
    });
    link.channel
      .join()
      .receive("ok", () => this.joined(link))
      .receive("error", (reply) => this.joinRefused(link, reply));
    for (const channel of link.channels.slice(1)) channel.join();
    link.socket.onError(() => this.linkDown(link));
    link.socket.onClose(() => this.linkDown(link));
    link.channel.onError(() => this.linkDown(link));
    link.socket.connect();
  }

  joined(link) {
    if (link.dropped) return;
    if (link === this.pending) {
      const previous = this.current;
      this.current = link;
      this.pending = null;
      previous?.drop();
      clearTimeout(this.renewTimer);
      if (link.grant.lifetimeMs !== null) {
        this.renewTimer = setTimeout(() => this.renew(), renewDelayMs(link.grant.lifetimeMs));
      }
    }
    if (link === this.current) this.setState(FeedState.live);
  }

  joinRefused(link, reply) {
    if (link.dropped) return;
    const reason = reply && typeof reply.reason === "string" ? reply.reason : "join refused";
    if (link === this.current || !this.current) this.setState(FeedState.refused, reason);
  }

  linkDown(link) {
    if (link.dropped) return;
    if (link === this.current) this.setState(FeedState.reconnecting);
    // Phoenix retries with the token the socket was opened with; once that has
    // expired the handshake can only be refused, so get a new one.
    if (link.expired()) this.renew();
  }

  setState(state, detail = "") {
    if (state === this.state && detail === this.detail) return;
    this.state = state;
    this.detail = detail;
    this.onState(state, detail);
  }
}
