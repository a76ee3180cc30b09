// Shared by the browser scripts: headless Chromium through playwright-core,
// shoppers as stock phoenix clients in node, and what the dashboard shows,
// read from its DOM as a user would read it.
"use strict";

const fs = require("fs");
const { chromium } = require("playwright-core");
const { Socket } = require("phoenix");
const WebSocket = require("ws");

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];
const POLL_MS = 20;
const JOIN_TIMEOUT_MS = 5000;

// A fresh browser with a throwaway profile.
function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

// The scenario of a script: JSON on stdin.
function readInput() {
  return JSON.parse(fs.readFileSync(0, "utf8"));
}

// Runs main(input) and prints its result; any error exits non-zero with it.
// Exits once the output is flushed: a pipe takes a large result in pieces.
function runScript(main) {
  main(readInput()).then(
    (result) => process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0)),
    (error) => {
      process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
      process.exit(1);
    },
  );
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls check() until it returns a truthy value or timeoutMs passes; returns
// {value, elapsedMs} with the last value either way.
async function waitFor(check, timeoutMs) {
  const start = Date.now();
  for (;;) {
    const value = await check();
    const elapsedMs = Date.now() - start;
    if (value || elapsedMs >= timeoutMs) return { value, elapsedMs };
    await sleep(POLL_MS);
  }
}

// A shopper as a store page would be: one socket, one cart channel.
class NodeShopper {
  constructor(wsUrl, { token, sub, page, items }) {
    this.sub = sub;
    this.presence = { page, items: items || [] };
    this.socket = new Socket(`${wsUrl}/socket`, { transport: WebSocket, params: { token } });
    this.channel = this.socket.channel(`cart:${sub}`, () => this.presence);
  }

  join() {
    this.socket.connect();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`cart:${this.sub} join timed out`)), JOIN_TIMEOUT_MS);
      this.channel
        .join()
        .receive("ok", () => {
          clearTimeout(timer);
          resolve();
        })
        .receive("error", (reply) => {
          clearTimeout(timer);
          reject(new Error(`cart:${this.sub} join refused: ${JSON.stringify(reply)}`));
        });
    });
  }

  update(change) {
    this.presence = { ...this.presence, ...change };
    this.channel.push("update", change);
  }

  close() {
    this.socket.disconnect();
  }
}

// What the dashboard shows, as numbers: runs in the page.
function readDashboardInPage() {
  const count = (node) => (node ? Number(node.textContent.replace(/[^0-9]/g, "")) : null);
  const byId = (id) => document.getElementById(id);
  const pages = {};
  for (const row of document.querySelectorAll("#pages tr[data-page]")) pages[row.dataset.page] = count(row.querySelector("td.num"));
  const otherPages = document.querySelector("#pages tr[data-other] td.num");
  const sizes = {};
  for (const column of document.querySelectorAll("#size-bars .column[data-size]")) sizes[column.dataset.size] = count(column.querySelector(".count"));
  const cells = {};
  for (const row of document.querySelectorAll("#carts tbody tr[data-product]")) {
    for (const cell of row.querySelectorAll("td[data-size]")) {
      const size = cell.dataset.size;
      const n = count(cell);
      if (size === "total" || size === "other" || n === 0) continue;
      (cells[row.dataset.product] ||= {})[size] = n;
    }
  }
  const recentCaption = byId("recent-caption");
  const recentShown = !byId("recent-body").hidden;
  const sizeTotals = {};
  for (const cell of document.querySelectorAll("#carts tfoot td[data-size]")) sizeTotals[cell.dataset.size] = count(cell);
  const recentCarts = recentShown ? [...document.querySelectorAll("#recent-carts tr[data-cart]")].map((row) => row.dataset.cart) : null;
  const nodesCard = byId("nodes-card");
  const nodesPanel = nodesCard.hidden
    ? null
    : {
        summary: byId("nodes-summary").textContent,
        rows: [...document.querySelectorAll("#nodes tr[data-node]")].map((row) => ({
          node: row.querySelector(".path").textContent,
          state: row.querySelector(".node-state").textContent,
          connections: count(row.querySelector("td.num")),
        })),
      };
  return {
    state: byId("state").dataset.state,
    shoppers: count(byId("shoppers")),
    connections: count(byId("connections")),
    shoes: count(byId("shoes")),
    nodes: count(byId("node-count")),
    nodeNames: byId("node-names").textContent,
    updated: byId("updated").textContent,
    updatedAt: byId("updated").dateTime || null,
    pages,
    otherPages: count(otherPages),
    sizes,
    cells,
    sizeTotals,
    recentCarts,
    mostRecentCart: recentCarts && recentCarts.length ? recentCarts[0] : null,
    recentOf: recentShown && recentCaption.dataset.carts !== undefined ? Number(recentCaption.dataset.carts) : null,
    nodesPanel,
  };
}

function readDashboard(page) {
  return page.evaluate(readDashboardInPage);
}

// True when every field named in `expected` is shown exactly as expected.
function shows(observed, expected) {
  return Object.keys(expected).every((key) => JSON.stringify(sortKeys(observed[key])) === JSON.stringify(sortKeys(expected[key])));
}

function sortKeys(value) {
  if (!value || typeof value !== "object" || Array.isArray(value)) return value;
  return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortKeys(value[key])]));
}

// Records in `into` every request of the context that leaves the server at
// `url`: the pages must load nothing from anywhere else.
function recordForeignRequests(context, url, into) {
  const host = new URL(url).host;
  context.on("request", (request) => {
    const target = new URL(request.url());
    if (target.protocol !== "data:" && target.host !== host) into.push(request.url());
  });
}

// Opens the dashboard in a context signed in with basic auth and records the
// token requests and WebSockets it makes; prepare(page), when given, runs
// before the page loads (to route its WebSockets, say).
async function openDashboard(browser, { url, user, password, viewport }, prepare = null) {
  const context = await browser.newContext({
    httpCredentials: { username: user, password },
    viewport: viewport || { width: 1280, height: 900 },
  });
  const page = await context.newPage();
  const traffic = { tokenResponses: [], sockets: [], errors: [], foreign: [] };
  const started = Date.now();
  recordForeignRequests(context, url, traffic.foreign);
  page.on("response", (response) => {
    if (new URL(response.url()).pathname === "/admin/token") {
      traffic.tokenResponses.push({ status: response.status(), method: response.request().method(), atMs: Date.now() - started });
    }
  });
  page.on("websocket", (socket) => {
    const record = { url: socket.url(), openedMs: Date.now() - started, closedMs: null };
    traffic.sockets.push(record);
    socket.on("close", () => (record.closedMs = Date.now() - started));
  });
  page.on("pageerror", (error) => traffic.errors.push(String(error)));
  // Every connection state the page shows, however briefly.
  await page.addInitScript(() => {
    window.shownStates = [];
    new MutationObserver((records) => {
      for (const record of records) {
        if (record.target.id === "state") window.shownStates.push([Date.now(), record.target.dataset.state]);
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-state"] });
  });
  if (prepare) await prepare(page);
  const response = await page.goto(`${url}/admin/`);
  return { context, page, traffic, status: response.status(), started };
}

module.exports = {
  launchBrowser,
  runScript,
  sleep,
  waitFor,
  NodeShopper,
  readDashboard,
  shows,
  openDashboard,
  recordForeignRequests,
};
