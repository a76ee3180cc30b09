// Runs the dashboard's timeline and "moving now" models (CommonJS bundles
// built by the caller) over the pushes and stats given, and prints what they
// computed:
//   stdin  {timeline: bundle, moving: bundle, pushes: [history payload...],
//           stats: [[at_ms, carts]...], now_ms}
//   stdout {series, rows: {second, minute}, moving: [...], span_ms}
"use strict";

const { runScript } = require("./lib");

async function main({ timeline: timelineBundle, moving: movingBundle, pushes, stats, now_ms: nowMs }) {
  const { Timeline } = require(timelineBundle);
  const { MovingNow } = require(movingBundle);
  const timeline = new Timeline();
  const accepted = pushes.map((payload) => timeline.add(payload));
  const moving = new MovingNow();
  for (const [at, carts] of stats) moving.record(at, carts);
  return {
    accepted,
    series: timeline.series(),
    rows: { second: timeline.rows("second"), minute: timeline.rows("minute") },
    moving: moving.top(),
    span_ms: moving.span(nowMs),
  };
}

runScript(main);
