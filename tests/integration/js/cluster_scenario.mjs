// Shoppers spread over several nodes of a cluster on the stock `phoenix`
// client (transport `ws`), one admin per node following admin:cart_tracker
// with Presence.syncState/syncDiff and admin:stats. After every step, every
// node's synced view must equal the model and the other nodes' views meta by
// meta (phx_refs included), and every node's stats must equal the model's;
// an update keeps phx_ref_prev on every node; at the end a fresh admin on
// each node is told exactly the synced state. Prints the final state as JSON
// on one line and keeps every socket open until a line arrives on stdin, so
// that the test can read the same state through its own admins.
//
// Usage: node cluster_scenario.mjs config.json
// config: {"urls": ["ws://127.0.0.1:P1", ...], "nodes": ["store-a", ...],
//          "admin_tokens": [t, ...] (two per node), "shopper_tokens": {"<sub>": token}}
import { readFileSync } from "node:fs";
import { Presence, Socket } from "phoenix";
import WebSocket from "ws";

const STEP_TIMEOUT_MS = 10000;
const NEVER_MS = 10 * 60 * 1000; // no reconnects or rejoins during a run

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const socketErrors = [];

function openSocket(url, path, token) {
  const socket = new Socket(`${url}${path}`, {
    transport: WebSocket,
    params: { token },
    timeout: STEP_TIMEOUT_MS,
    reconnectAfterMs: () => NEVER_MS,
    rejoinAfterMs: () => NEVER_MS,
  });
  socket.onError((error) => socketErrors.push(`${url}${path}: ${error?.message || error?.type || error}`));
  socket.connect();
  return socket;
}

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

class Admin {
  constructor(node, url, token) {
    this.node = node;
    this.socket = openSocket(url, "/admin_socket", token);
    this.state = {};
    this.diffs = [];
    this.stats = null;
    this.stateCount = 0;
  }

  async follow() {
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
    const stats = this.socket.channel("admin:stats", {});
    stats.on("stats", (s) => {
      this.stats = s;
    });
    await join(stats);
    return this;
  }
}

class Tab {
  constructor(sub, node, payload) {
    this.sub = sub;
    this.node = node;
    this.payload = payload;
    this.socket = openSocket(config.urls[node], "/socket", config.shopper_tokens[sub]);
    this.channel = this.socket.channel(`cart:${sub}`, payload);
  }
}

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
  for (const [key, presence] of Object.entries(state)) out[key] = presence.metas.map(normalizeMeta).sort();
  return out;
}

// The whole metas, phx_refs included, in phx_ref order: what must be equal on every node.
function fullPresence(state) {
  return Object.fromEntries(
    Object.entries(state).map(([k, p]) => [k, [...p.metas].sort((x, y) => (x.phx_ref < y.phx_ref ? -1 : 1))]),
  );
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
    nodes: [...config.nodes].sort(),
  };
}

function viewStats(stats) {
  if (!stats) return null;
  const { ts, replicas, ...rest } = stats;
  return { ...rest, nodes: [...(rest.nodes || [])].sort() };
}

// Per node, the connections the stats' "replicas" list says it holds.
function replicaConnections(stats) {
  if (!stats || !stats.replicas) return null;
  return Object.fromEntries(stats.replicas.map((r) => [r.node, [r.state, r.connections]]));
}

function modelReplicaConnections() {
  return Object.fromEntries(
    config.nodes.map((name, i) => [name, ["up", tabs.filter((t) => t.node === i).length]]),
  );
}

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

function problems(admins) {
  const out = [];
  const presence = modelPresence();
  const stats = modelStats();
  const first = fullPresence(admins[0].state);
  for (const admin of admins) {
    if (!same(viewPresence(admin.state), presence)) {
      out.push(`${admin.node} presence ${JSON.stringify(canonical(viewPresence(admin.state)))}`);
    }
    if (!same(fullPresence(admin.state), first)) {
      out.push(`${admin.node} metas differ from ${admins[0].node}: ${JSON.stringify(fullPresence(admin.state))}`);
    }
    if (!same(viewStats(admin.stats), stats)) {
      out.push(`${admin.node} stats ${JSON.stringify(canonical(viewStats(admin.stats)))}`);
    }
    const replicas = replicaConnections(admin.stats);
    if (replicas !== null && !same(replicas, modelReplicaConnections())) {
      out.push(`${admin.node} replicas ${JSON.stringify(replicas)}`);
    }
  }
  if (out.length) {
    out.unshift(
      `expected presence ${JSON.stringify(canonical(presence))}`,
      `expected stats ${JSON.stringify(canonical(stats))}`,
    );
  }
  return out;
}

async function converge(step, admins) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const wrong = problems(admins);
    if (wrong.length === 0) {
      console.log(`step ${step}: ok`);
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`step ${step}: no convergence in ${STEP_TIMEOUT_MS} ms\n${wrong.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function openTab(sub, node, payload) {
  const tab = new Tab(sub, node, payload);
  await join(tab.channel);
  tabs.push(tab);
  return tab;
}

async function update(tab, payload) {
  await replyTo(tab.channel.push("update", payload), `update on ${tab.channel.topic}`);
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

function metaOn(admin, sub, page) {
  return (admin.state[sub]?.metas || []).find((m) => m.page === page);
}

async function main() {
  const admins = [];
  for (let i = 0; i < config.urls.length; i += 1) {
    admins.push(await new Admin(config.nodes[i], config.urls[i], config.admin_tokens[2 * i]).follow());
  }
  // cart-a has a tab on every node: one key, three metas from three replicas.
  // (A node learns of a replica by its changes: stats list every node once
  // each has had a shopper; the test checks the empty case on its own.)
  const a = [];
  for (let n = 0; n < config.urls.length; n += 1) {
    a.push(await openTab("cart-a", n, { page: `/n${n}`, items: [shoe("air-max-90", "10", n + 1)] }));
  }
  await converge("cart-a tab on every node", admins);
  const b = await openTab("cart-b", 1, { page: "/", items: [shoe("pegasus", "9.5", 2)] });
  await converge("cart-b joins on node 1", admins);
  const c = await openTab("cart-c", 2, { page: "/sale", items: [] });
  await converge("cart-c joins on node 2", admins);
  const d = await openTab("cart-d", 0, { page: "/sale", items: [shoe("vomero", "11", 1)] });
  await converge("cart-d joins on node 0", admins);

  // An update on node 1 reaches every node with phx_ref_prev = the old phx_ref.
  const before = admins.map((admin) => metaOn(admin, "cart-a", "/n1"));
  const refs = new Set(before.map((m) => m?.phx_ref));
  if (refs.size !== 1 || !before[0]) throw new Error(`the /n1 meta differs between nodes: ${JSON.stringify(before)}`);
  const diffsBefore = admins.map((admin) => admin.diffs.length);
  await update(a[1], { page: "/checkout", items: [shoe("vomero", "11", 3)] });
  await converge("cart-a's node-1 tab updates page and items", admins);
  admins.forEach((admin, i) => {
    const after = metaOn(admin, "cart-a", "/checkout");
    if (!after || after.phx_ref_prev !== before[0].phx_ref) {
      throw new Error(`${admin.node}: phx_ref_prev ${after?.phx_ref_prev} is not the old phx_ref ${before[0].phx_ref}`);
    }
    const carried = admin.diffs
      .slice(diffsBefore[i])
      .some((diff) => (diff.joins["cart-a"]?.metas || []).some((m) => m.phx_ref_prev === before[0].phx_ref));
    if (!carried) throw new Error(`${admin.node}: no presence_diff carried the update's phx_ref_prev`);
  });

  await update(b, { items: [shoe("pegasus", "10", 1)] });
  await converge("cart-b updates items only", admins);
  await leave(a[0]);
  await converge("cart-a's node-0 tab leaves", admins);
  await leave(b);
  await converge("cart-b leaves", admins);
  closeSocket(c);
  await converge("cart-c closes its socket", admins);
  dropConnection(d);
  await converge("cart-d's connection drops", admins);
  await update(a[2], { page: "/n2/reviews" });
  await converge("cart-a's node-2 tab updates page only", admins);

  for (let i = 0; i < config.urls.length; i += 1) {
    const fresh = await new Admin(config.nodes[i], config.urls[i], config.admin_tokens[2 * i + 1]).follow();
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while (fresh.stateCount === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (!same(fullPresence(fresh.state), fullPresence(admins[i].state))) {
      throw new Error(
        `${config.nodes[i]}: synced view differs from a fresh presence_state\n` +
          `synced ${JSON.stringify(canonical(fullPresence(admins[i].state)))}\n` +
          `fresh  ${JSON.stringify(canonical(fullPresence(fresh.state)))}`,
      );
    }
    console.log(`step fresh admin on ${config.nodes[i]}: ok`);
  }
  console.log("scenario: ok");
  console.log(JSON.stringify({ presence: fullPresence(admins[0].state), stats: viewStats(admins[0].stats) }));
  await new Promise((resolve) => process.stdin.once("data", resolve));
}

const watchdog = setTimeout(() => {
  console.error("scenario: overall timeout");
  process.exit(2);
}, 120_000);

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
