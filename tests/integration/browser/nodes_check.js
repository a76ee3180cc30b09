// The "Shoppers per node" panel with the real dashboard and server. Input (stdin):
//   {url, ws_url, user, password, shoppers: [{sub, token, page, items}],
//    inject: [replica...] | null, expect_panel: bool (default: inject given),
//    axe: path of axe.min.js, screenshot: path | null}
// The shoppers join; with `inject`, every `stats` push the server sends the
// page gets those replicas added to its `replicas` on the way (the page's
// admin socket is routed through the test), as a cluster with other nodes
// would send. Waits until the page shows the shoppers' connections and the
// panel settles, then prints {status, observed, chart, axe: {light, dark},
// stats_rewritten, errors}; deciding pass or fail is the caller's.
"use strict";

const { launchBrowser, runScript, waitFor, NodeShopper, readDashboard, openDashboard } = require("./lib");

const WAIT_MS = 10000;

async function axeViolations(page, axePath) {
  await page.addScriptTag({ path: axePath });
  const violations = await page.evaluate(async () => (await window.axe.run(document)).violations);
  return violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
}

// Adds `inject` to the replicas of a stats push; other frames go as they came.
function rewriteStats(frame, inject, counter) {
  let message;
  try {
    message = JSON.parse(frame);
  } catch {
    return frame;
  }
  if (!Array.isArray(message) || message[3] !== "stats" || !message[4]) return frame;
  counter.rewritten += 1;
  message[4].replicas = [...(message[4].replicas || []), ...inject];
  return JSON.stringify(message);
}

async function main({ url, ws_url: wsUrl, user, password, shoppers, inject, expect_panel: expectPanel, axe, screenshot }) {
  const browser = await launchBrowser();
  const connected = [];
  const counter = { rewritten: 0 };
  try {
    const prepare = inject
      ? (page) =>
          page.routeWebSocket(
            (target) => target.pathname.startsWith("/admin_socket/"),
            (socket) => {
              const server = socket.connectToServer();
              server.onMessage((frame) => socket.send(typeof frame === "string" ? rewriteStats(frame, inject, counter) : frame));
            },
          )
      : null;
    const { page, traffic, status } = await openDashboard(browser, { url, user, password }, prepare);
    if (status !== 200) return { status };
    for (const spec of shoppers) {
      const shopper = new NodeShopper(wsUrl, spec);
      connected.push(shopper);
      await shopper.join();
    }
    const expectedPanel = expectPanel === undefined ? Boolean(inject) : expectPanel;
    const { value } = await waitFor(async () => {
      const observed = await readDashboard(page);
      const settled = observed.connections === shoppers.length && (observed.nodesPanel !== null) === expectedPanel;
      return settled ? observed : null;
    }, WAIT_MS);
    const observed = value || (await readDashboard(page));
    // The timeline is drawn from admin:history, which the routing leaves alone.
    const charted = await waitFor(async () => Number((await page.evaluate(() => document.getElementById("timeline-chart").dataset.points)) || 0) > 0, WAIT_MS);
    const chart = await page.evaluate(() => ({ ...document.getElementById("timeline-chart").dataset }));
    const axeResults = { light: await axeViolations(page, axe) };
    await page.emulateMedia({ colorScheme: "dark" });
    axeResults.dark = await axeViolations(page, axe);
    await page.emulateMedia({ colorScheme: "light" });
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    return {
      status,
      observed,
      charted: Boolean(charted.value),
      chart,
      axe: axeResults,
      stats_rewritten: counter.rewritten,
      errors: traffic.errors,
    };
  } finally {
    for (const shopper of connected) shopper.close();
    await browser.close();
  }
}

runScript(main);
