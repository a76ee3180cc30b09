// Calls functions exported by a CommonJS bundle of a dashboard source file
// (built by the caller with esbuild) and prints what they returned:
//   stdin  {bundle, calls: [{fn, args}...]}
//   stdout {results: [value...]}
"use strict";

const { runScript } = require("./lib");

async function main({ bundle, calls }) {
  const exported = require(bundle);
  return { results: calls.map(({ fn, args }) => exported[fn](...args)) };
}

runScript(main);
