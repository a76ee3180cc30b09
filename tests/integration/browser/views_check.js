// Runs the dashboard's view functions (dashboard/src/views.js, bundled as
// CommonJS by the caller) on the stats objects given on stdin:
//   {views: <path of the bundle>, cases: [stats...], timed: stats, runs: n}
// Prints {results: [{pages, carts}...], pages_ms, carts_ms}: the views of
// every case, and the best time of each view over `runs` runs of `timed`
// (the best, as other work on the machine only ever adds time).
"use strict";

const { performance } = require("perf_hooks");
const { runScript } = require("./lib");

function bestMs(runs, work) {
  let best = Infinity;
  for (let i = 0; i < runs; i += 1) {
    const start = performance.now();
    work();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

async function main({ views: bundle, cases, timed, runs }) {
  const { pagesView, cartsView } = require(bundle);
  return {
    results: cases.map((stats) => ({ pages: pagesView(stats.pages), carts: cartsView(stats.carts) })),
    pages_ms: bestMs(runs, () => pagesView(timed.pages)),
    carts_ms: bestMs(runs, () => cartsView(timed.carts)),
  };
}

runScript(main);
