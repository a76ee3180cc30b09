// Drives the dashboard through a scenario given as JSON on stdin:
//   {url, ws_url, user, password, viewport?, steps: [step...]}
// where each step may click an element (a selector), connect shoppers ({id?, sub, token, page, items}; id,
// by default the sub, names a connection: one sub may have several), wait
// (sleep_ms), update some ({id, page?, items?}), disconnect some (ids), then
// wait up to within_ms for the dashboard to show `expect` (a subset of what
// readDashboard returns), and take a screenshot (at `viewport` when given).
// Prints what was seen:
//   {status, steps: [{matched, elapsed_ms, observed}], token_responses,
//    sockets, states, errors, foreign_requests}
// Deciding pass or fail is the caller's.
"use strict";

const { launchBrowser, runScript, sleep, waitFor, NodeShopper, readDashboard, shows, openDashboard } = require("./lib");

const DEFAULT_WITHIN_MS = 5000;

async function runStep(step, page, shoppers, wsUrl) {
  if (step.click) await page.click(step.click);
  const joining = (step.connect || []).map((spec) => {
    const shopper = new NodeShopper(wsUrl, spec);
    shoppers.set(spec.id || spec.sub, shopper);
    return shopper.join();
  });
  await Promise.all(joining);
  if (step.sleep_ms) await sleep(step.sleep_ms);
  for (const { id, ...change } of step.update || []) shoppers.get(id).update(change);
  for (const id of step.disconnect || []) {
    shoppers.get(id).close();
    shoppers.delete(id);
  }
  let observed = null;
  const { value, elapsedMs } = await waitFor(async () => {
    observed = await readDashboard(page);
    return shows(observed, step.expect || {});
  }, step.within_ms || DEFAULT_WITHIN_MS);
  if (step.screenshot) {
    if (step.viewport) await page.setViewportSize(step.viewport);
    await page.screenshot({ path: step.screenshot, fullPage: true });
  }
  return { matched: value, elapsed_ms: elapsedMs, observed };
}

async function main(input) {
  const browser = await launchBrowser();
  const shoppers = new Map();
  try {
    const { page, traffic, status, started } = await openDashboard(browser, input);
    const steps = [];
    if (status === 200) {
      for (const step of input.steps) steps.push(await runStep(step, page, shoppers, input.ws_url));
    }
    const states = status === 200 ? await page.evaluate(() => window.shownStates) : [];
    return {
      status,
      steps,
      token_responses: traffic.tokenResponses,
      sockets: traffic.sockets,
      states: states.map(([at, state]) => [at - started, state]),
      errors: traffic.errors,
      foreign_requests: traffic.foreign,
    };
  } finally {
    for (const shopper of shoppers.values()) shopper.close();
    await browser.close();
  }
}

runScript(main);
