// Shoppers and admins on the stock `phoenix` client (with `ws` as its
// transport) going through joins, updates, leaves and socket closes. After
// every step the admin's view, kept with Presence.syncState/syncDiff, and/or
// its last `stats` push must equal the model of what the shoppers did; at the
// end a fresh admin's presence_state must equal the synced view.
//
// Usage: node presence_scenario.mjs presence|stats < config.json
// config: {"url": "ws://127.0.0.1:PORT", "admin_tokens": [t1, t2],
//          "shopper_tokens": {"<sub>": token}, "node": "store-a"}
// Prints one line per step; exits 1 with the expected and the actual state
// on the first step that does not converge within the wait.
import { readFileSync } from "node:fs";
import { Presence, Socket } from "phoenix";
import WebSocket from "ws";

const STEP_TIMEOUT_MS = 5000;
const NEVER_MS = 10 * 60 * 1000; // no reconnects or rejoins during a run

const mode = process.argv[2];
const config = JSON.parse(readFileSync(0, "utf8"));

const socketErrors = [];

function openSocket(path, token) {
  const socket = new Socket(`${config.url}${path}`, {
    transport: WebSocket,
    params: { token },
    timeout: STEP_TIMEOUT_MS,
    reconnectAfterMs: () => NEVER_MS,
    rejoinAfterMs: () => NEVER_MS,
  });
  socket.onError((error) => socketErrors.push(`${path}: ${error?.message || error?.type || error}`));
  socket.connect();
  return socket;
}

// A reply within the step's wait, or a failure that says what was asked.
function replyTo(push, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${what}: no reply in ${STEP_TIMEOUT_MS} ms; socket errors: ${socketErrors}`)),
      STEP_TIMEOUT_MS,
    );
    push
      .receive("ok", (response) => {
        clearTimeout(timer);
        resolve(response);
      })
      .receive("error", (reason) => {
        clearTimeout(timer);
        reject(new Error(`${what}: ${JSON.stringify(reason)}`));
      });
  });
}

const join = (channel) => replyTo(channel.join(), `join ${channel.topic}`);
const push = (channel, event, payload) => replyTo(channel.push(event, payload), `${event} on ${channel.topic}`);

// One admin: the presence synced by the stock client's functions, every diff
// received, and the last stats.
class Admin {
  constructor(token) {
    this.socket = openSocket("/admin_socket", token);
    this.state = {};
    this.diffs = [];
    this.stats = null;
    this.stateCount = 0;
  }

  async follow(topics) {
    if (topics.includes("admin:cart_tracker")) {
      const tracker = this.socket.channel("admin:cart_tracker", {});
      tracker.on("presence_state", (s) => {
        this.state = Presence.syncState(this.state, s);
        this.stateCount += 1;
      });
      tracker.on("presence_diff", (d) => {
        this.diffs.push(d);
        this.state = Presence.syncDiff(this.state, d);
      });
      await join(tracker);
    }
    if (topics.includes("admin:stats")) {
      const stats = this.socket.channel("admin:stats", {});
      stats.on("stats", (s) => {
        this.stats = s;
      });
      await join(stats);
    }
    return this;
  }
}

// A shopper's tab: its own socket joined to its own cart.
class Tab {
  constructor(sub, payload) {
    this.sub = sub;
    this.payload = payload;
    this.socket = openSocket("/socket", config.shopper_tokens[sub]);
    this.channel = this.socket.channel(`cart:${sub}`, payload);
  }
}

// The model: the open tabs in the order their metas were last set.
let tabs = [];

function normalizeMeta(meta) {
  const items = (meta.items || []).map((i) => ({ product: i.product, size: i.size, qty: i.qty ?? 1 }));
  return JSON.stringify({ page: meta.page, items });
}

function modelPresence() {
  const out = {};
  for (const tab of tabs) (out[tab.sub] ||= []).push(normalizeMeta(tab.payload));
  for (const key of Object.keys(out)) out[key].sort();
  return out;
}

function viewPresence(state) {
  const out = {};
  for (const [key, presence] of Object.entries(state)) {
    out[key] = presence.metas.map(normalizeMeta).sort();
  }
  return out;
}

function modelStats() {
  const byKey = {};
  for (const tab of tabs) (byKey[tab.sub] ||= []).push(tab.payload);
  const pages = {};
  const carts = {};
  for (const tab of tabs) pages[tab.payload.page] = (pages[tab.payload.page] || 0) + 1;
  for (const payloads of Object.values(byKey)) {
    for (const item of payloads[payloads.length - 1].items || []) {
      carts[item.product] ||= {};
      carts[item.product][item.size] = (carts[item.product][item.size] || 0) + (item.qty ?? 1);
    }
  }
  return {
    shoppers: Object.keys(byKey).length,
    connections: tabs.length,
    pages,
    carts,
    nodes: [config.node],
    // One node, up, holding every connection.
    replicas: [{ connections: tabs.length, node: config.node, state: "up" }],
  };
}

function viewStats(stats) {
  if (!stats) return null;
  const { ts, ...rest } = stats;
  return rest;
}

// Key order does not matter in JSON objects; compare canonical forms.
function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical(value[k])]),
    );
  }
  return value;
}

const same = (a, b) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

async function converge(step, admin) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  const expected = mode === "presence" ? modelPresence() : modelStats();
  for (;;) {
    const actual = mode === "presence" ? viewPresence(admin.state) : viewStats(admin.stats);
    if (same(expected, actual)) {
      console.log(`step ${step}: ok`);
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `step ${step}: no convergence in ${STEP_TIMEOUT_MS} ms\n` +
          `expected ${JSON.stringify(canonical(expected))}\n` +
          `actual   ${JSON.stringify(canonical(actual))}`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

function metaOf(admin, sub, page) {
  const metas = admin.state[sub]?.metas || [];
  return metas.find((m) => m.page === page);
}

async function openTab(sub, payload) {
  const tab = new Tab(sub, payload);
  await join(tab.channel);
  tabs.push(tab);
  return tab;
}

async function update(tab, payload) {
  await push(tab.channel, "update", payload);
  tab.payload = { ...tab.payload, ...payload };
  tabs = tabs.filter((t) => t !== tab).concat([tab]);
}

async function leave(tab) {
  await replyTo(tab.channel.leave(), `leave ${tab.channel.topic}`);
  tabs = tabs.filter((t) => t !== tab);
}

function closeSocket(tab) {
  tab.socket.disconnect();
  tabs = tabs.filter((t) => t !== tab);
}

function dropConnection(tab) {
  tab.socket.conn.terminate(); // no close frame: what a lost network looks like
  tabs = tabs.filter((t) => t !== tab);
}

const shoe = (product, size, qty) => ({ product, size, qty });

async function main() {
  const topics = mode === "presence" ? ["admin:cart_tracker"] : ["admin:stats"];
  const admin = await new Admin(config.admin_tokens[0]).follow(topics);
  await converge("admin joined", admin);

  const a1 = await openTab("cart-a", { page: "/", items: [] });
  await converge("a1 joins", admin);
  const a2 = await openTab("cart-a", { page: "/products/air-max-90", items: [shoe("air-max-90", "10", 1)] });
  await converge("a2 joins", admin);
  const a3 = await openTab("cart-a", { page: "/products/pegasus", items: [shoe("pegasus", "9.5", 2)] });
  await converge("a3 joins: one key, three metas", admin);
  const b1 = await openTab("cart-b", { page: "/", items: [shoe("air-max-90", "10", 2)] });
  await converge("b1 joins", admin);
  const c1 = await openTab("cart-c", { page: "/sale", items: [] });
  await converge("c1 joins", admin);

  const before = mode === "presence" ? metaOf(admin, "cart-a", "/") : null;
  const diffsBefore = admin.diffs.length;
  await update(a1, { page: "/checkout", items: [shoe("vomero", "11", 3)] });
  await converge("a1 updates page and items", admin);
  if (mode === "presence") {
    const after = metaOf(admin, "cart-a", "/checkout");
    if (!before || !after || after.phx_ref_prev !== before.phx_ref) {
      throw new Error(`update: phx_ref_prev ${after?.phx_ref_prev} is not the old phx_ref ${before?.phx_ref}`);
    }
    const carried = admin.diffs
      .slice(diffsBefore)
      .some((d) => (d.joins["cart-a"]?.metas || []).some((m) => m.phx_ref_prev === before.phx_ref));
    if (!carried) throw new Error("no presence_diff carried the update's phx_ref_prev");
  }

  await update(b1, { items: [shoe("air-max-90", "10.5", 1)] });
  await converge("b1 updates items only", admin);
  await leave(b1);
  await converge("b1 leaves", admin);
  closeSocket(a2);
  await converge("a2 closes its socket", admin);
  dropConnection(c1);
  await converge("c1's connection drops", admin);
  await update(a3, { page: "/products/pegasus/reviews" });
  await converge("a3 updates page only", admin);

  if (mode === "presence") {
    const fresh = await new Admin(config.admin_tokens[1]).follow(["admin:cart_tracker"]);
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while (fresh.stateCount === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const sortMetas = (state) =>
      Object.fromEntries(
        Object.entries(state).map(([k, p]) => [
          k,
          [...p.metas].sort((x, y) => (x.phx_ref < y.phx_ref ? -1 : 1)),
        ]),
      );
    if (!same(sortMetas(fresh.state), sortMetas(admin.state))) {
      throw new Error(
        `synced view differs from a fresh presence_state\nsynced ${JSON.stringify(canonical(sortMetas(admin.state)))}\n` +
          `fresh  ${JSON.stringify(canonical(sortMetas(fresh.state)))}`,
      );
    }
    console.log("step fresh admin: ok");
  }
  console.log("scenario: ok");
}

const watchdog = setTimeout(() => {
  console.error("scenario: overall timeout");
  process.exit(2);
}, 60_000);

main().then(
  () => {
    clearTimeout(watchdog);
    process.exit(0);
  },
  (err) => {
    console.error(err.message);
    process.exit(1);
  },
);
