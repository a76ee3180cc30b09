// The dashboard's timeline, CSV downloads, looks and accessibility, with the
// shoppers the caller put online before the page opened. Input (stdin):
//   {url, user, password, demo_url, shots: {name: {width, height, dark}},
//    artifacts, axe: path of axe.min.js, expect_max: shoppers the chart must
//    reach, zooms: {zoom: span_s expected, in the order to click}}
// Prints {status, chart, zoom: {zoom: span_s}, keyboard_zoom, carts_csv,
// timeline_csv, overflow: {shot: px}, shots: [path], axe: {page: [violations]},
// errors}; deciding pass or fail is the caller's.
"use strict";

const fs = require("fs");
const path = require("path");
const { launchBrowser, runScript, waitFor, openDashboard } = require("./lib");

const WAIT_MS = 15000;

async function chartState(page) {
  return page.evaluate(() => ({ ...document.getElementById("timeline-chart").dataset }));
}

async function downloadText(page, selector) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  return { name: download.suggestedFilename(), text: fs.readFileSync(await download.path(), "utf8") };
}

async function axeViolations(page, axePath) {
  await page.addScriptTag({ path: axePath });
  const violations = await page.evaluate(async () => (await window.axe.run(document)).violations);
  return violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
}

async function main({ url, user, password, demo_url: demoUrl, shots, artifacts, axe, expect_max: expectMax, zooms }) {
  const browser = await launchBrowser();
  try {
    const { page, traffic, status } = await openDashboard(browser, { url, user, password });
    if (status !== 200) return { status };
    const drawn = await waitFor(async () => {
      const chart = await chartState(page);
      return Number(chart.max) >= expectMax && Number(chart.points) > 0 ? chart : null;
    }, WAIT_MS);
    const chart = await chartState(page);
    // uPlot applies a scale after the click's task: wait for the span expected.
    const spanAfter = async (expected) => (await waitFor(async () => Number((await chartState(page)).spanS) === expected, 2000), Number((await chartState(page)).spanS));
    const zoom = {};
    for (const [span, seconds] of Object.entries(zooms)) {
      await page.click(`[data-zoom="${span}"]`);
      zoom[span] = await spanAfter(seconds);
    }
    // The zoom answers the keyboard.
    await page.focus('[data-zoom="5m"]');
    await page.keyboard.press("Enter");
    const keyboardZoom = await spanAfter(zooms["5m"]);
    await page.click('[data-zoom="1h"]');
    await page.waitForSelector("#carts tbody tr[data-product]", { timeout: WAIT_MS });
    const cartsCsv = await downloadText(page, "#carts-csv");
    const timelineCsv = await downloadText(page, "#timeline-csv");
    const axeResults = { dashboard: await axeViolations(page, axe) };

    const overflow = {};
    const saved = [];
    for (const [name, { width, height, dark }] of Object.entries(shots)) {
      await page.emulateMedia({ colorScheme: dark ? "dark" : "light" });
      await page.setViewportSize({ width, height });
      await page.waitForTimeout(300); // the charts resize on the next frame
      overflow[name] = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      const file = path.join(artifacts, `timeline-${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      saved.push(file);
    }
    await page.emulateMedia({ colorScheme: "dark" });
    axeResults.dashboard_dark = await axeViolations(page, axe);

    const store = await browser.newContext();
    const storePage = await store.newPage();
    await storePage.goto(demoUrl);
    await storePage.waitForSelector('#presence-status[data-state="joined"]', { timeout: WAIT_MS });
    axeResults.demo_store = await axeViolations(storePage, axe);
    await storePage.emulateMedia({ colorScheme: "dark" });
    axeResults.demo_store_dark = await axeViolations(storePage, axe);
    return {
      status,
      drawn: Boolean(drawn.value),
      chart,
      zoom,
      keyboard_zoom: keyboardZoom,
      carts_csv: cartsCsv,
      timeline_csv: timelineCsv,
      overflow,
      shots: saved,
      axe: axeResults,
      errors: traffic.errors,
    };
  } finally {
    await browser.close();
  }
}

runScript(main);
