// The demo store moving the dashboard: with the dashboard open, a shopper
// opens /demo/ in two tabs (one cart, from the presence_cart cookie), goes to
// a product page in the first and adds a shoe in one size to the cart.
// Input (stdin): {url, ws_url, user, password, product, size, shoppers} where
// shoppers ({sub, token, page, items}) are online before the dashboard
// opens. Prints the dashboard
// before and after each move and how long it took to show it:
//   {dashboard_status, tabs: [cart id...], before, after_tabs, after_add,
//    tabs_ms, add_ms, errors}
"use strict";

const { launchBrowser, runScript, sleep, waitFor, NodeShopper, readDashboard, openDashboard, recordForeignRequests } = require("./lib");

const WAIT_MS = 5000;

async function openStoreTab(context, url) {
  const tab = await context.newPage();
  await tab.goto(`${url}/demo/`);
  await tab.waitForSelector('#presence-status[data-state="joined"]', { timeout: WAIT_MS });
  return tab;
}

async function main({ url, ws_url: wsUrl, user, password, product, size, shoppers: specs = [], stay_ms: stayMs = 0 }) {
  const browser = await launchBrowser();
  const shoppers = specs.map((spec) => new NodeShopper(wsUrl, spec));
  try {
    await Promise.all(shoppers.map((shopper) => shopper.join()));
    const dashboard = await openDashboard(browser, { url, user, password });
    const errors = dashboard.traffic.errors;
    if (dashboard.status !== 200) return { dashboard_status: dashboard.status, errors };
    const live = await waitFor(async () => {
      const seen = await readDashboard(dashboard.page);
      return seen.state === "live" && seen.updatedAt !== null;
    }, WAIT_MS);
    if (!live.value) return { dashboard_status: dashboard.status, errors: [...errors, "dashboard never went live"] };
    const before = await readDashboard(dashboard.page);

    const store = await browser.newContext();
    store.on("weberror", (error) => errors.push(String(error.error())));
    const foreign = dashboard.traffic.foreign;
    recordForeignRequests(store, url, foreign);
    const demoTokens = [];
    store.on("response", async (response) => {
      if (new URL(response.url()).pathname !== "/demo/token") return;
      const grant = response.ok() ? await response.json().catch(() => ({})) : {};
      demoTokens.push({ status: response.status(), cart_id: grant.cart_id ?? null });
    });
    const tabs = [await openStoreTab(store, url), await openStoreTab(store, url)];
    const cartIds = await Promise.all(tabs.map((tab) => tab.evaluate(() => document.getElementById("presence-status").dataset.cart ?? null)));
    const afterTabs = await waitFor(async () => {
      const seen = await readDashboard(dashboard.page);
      return seen.connections >= before.connections + tabs.length ? seen : null;
    }, WAIT_MS);

    await sleep(stayMs);
    const [tab] = tabs;
    await tab.click(`a.tile[data-product="${product}"]`);
    await tab.click(`button.size[data-size="${size}"]`);
    await tab.click("#add-to-cart");
    const sizeCount = (seen) => seen.sizes[size] || 0;
    const start = afterTabs.value || (await readDashboard(dashboard.page));
    const afterAdd = await waitFor(async () => {
      const seen = await readDashboard(dashboard.page);
      return sizeCount(seen) !== sizeCount(start) ? seen : null;
    }, WAIT_MS);

    return {
      dashboard_status: dashboard.status,
      tabs: cartIds,
      tab_path: await tab.evaluate(() => location.pathname),
      before,
      after_tabs: afterTabs.value || (await readDashboard(dashboard.page)),
      tabs_ms: afterTabs.elapsedMs,
      after_add: afterAdd.value || (await readDashboard(dashboard.page)),
      add_ms: afterAdd.elapsedMs,
      demo_tokens: demoTokens,
      errors,
      foreign_requests: foreign,
    };
  } finally {
    for (const shopper of shoppers) shopper.close();
    await browser.close();
  }
}

runScript(main);
