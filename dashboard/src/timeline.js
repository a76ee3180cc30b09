// The launch timeline as the server keeps it (`admin:history`): samples per
// second for the last hour and per minute for the last day, oldest first, one
// per node (a cluster's nodes are summed). Pure: runs the same in node.

// The columns of a sample, in the order the server sends them.
export const SAMPLE_FIELDS = Object.freeze([
  "at",
  "shoppers",
  "shoppers_max",
  "connections",
  "joins",
  "leaves",
  "updates",
  "cart_added",
  "cart_removed",
]);
// Samples kept, whatever the server sends: its largest windows (6 h of
// seconds, 7 days of minutes).
export const MAX_SECONDS = 6 * 3600;
export const MAX_MINUTES = 7 * 24 * 60;

const isCount = (v) => Number.isSafeInteger(v) && v >= 0;

function validSample(row) {
  return Array.isArray(row) && row.length >= SAMPLE_FIELDS.length && row.slice(0, SAMPLE_FIELDS.length).every(isCount);
}

function sumInto(total, row) {
  for (let i = 1; i < SAMPLE_FIELDS.length; i += 1) total[i] += row[i];
}

export class Timeline {
  constructor() {
    this.resolutions = { second: new Map(), minute: new Map() }; // at -> Map(node -> row)
    this.peaks = new Map(); // node -> {shoppers, at}
    this.version = 0;
    this.backlogDone = false;
  }

  // One `history` push. Returns false when it is not one.
  add(payload) {
    if (!payload || typeof payload !== "object" || !Array.isArray(payload.samples)) return false;
    const byAt = this.resolutions[payload.resolution];
    if (!byAt) return false;
    const node = String(payload.node ?? "");
    for (const row of payload.samples) {
      if (!validSample(row)) continue;
      let nodes = byAt.get(row[0]);
      if (!nodes) byAt.set(row[0], (nodes = new Map()));
      nodes.set(node, row.slice(0, SAMPLE_FIELDS.length));
    }
    const peak = payload.peak;
    if (peak && isCount(peak.shoppers) && isCount(peak.at)) this.peaks.set(node, { shoppers: peak.shoppers, at: peak.at });
    if (payload.more === false) this.backlogDone = true;
    this.trim(byAt, payload.resolution === "second" ? MAX_SECONDS : MAX_MINUTES);
    this.version += 1;
    return true;
  }

  trim(byAt, max) {
    if (byAt.size <= max) return;
    const keys = [...byAt.keys()].sort((a, b) => a - b);
    for (const at of keys.slice(0, keys.length - max)) byAt.delete(at);
  }

  // Rows summed over nodes, oldest first: [at, shoppers, ...].
  rows(resolution) {
    const out = [];
    for (const [at, nodes] of this.resolutions[resolution]) {
      const total = new Array(SAMPLE_FIELDS.length).fill(0);
      total[0] = at;
      for (const row of nodes.values()) sumInto(total, row);
      out.push(total);
    }
    return out.sort((a, b) => a[0] - b[0]);
  }

  // The retained window as one series: minutes before the first second held,
  // then seconds. Counts are per second (a minute's are averaged over it).
  series() {
    const seconds = this.rows("second");
    const firstSecond = seconds.length ? seconds[0][0] : Infinity;
    const minutes = this.rows("minute").filter((row) => row[0] + 60000 <= firstSecond);
    const t = [];
    const shoppers = [];
    const joins = [];
    const leaves = [];
    for (const row of minutes) {
      t.push(row[0] / 1000);
      shoppers.push(row[2]); // a minute shows its largest second
      joins.push(row[4] / 60);
      leaves.push(row[5] / 60);
    }
    for (const row of seconds) {
      t.push(row[0] / 1000);
      shoppers.push(row[1]);
      joins.push(row[4]);
      leaves.push(row[5]);
    }
    return { t, shoppers, joins, leaves, peak: this.peak() };
  }

  // The peak of the summed shoppers: the node's own peak for one node.
  peak() {
    let best = { shoppers: 0, at: 0 };
    for (const p of this.peaks.values()) if (p.shoppers > best.shoppers) best = p;
    if (this.peaks.size > 1) {
      for (const row of this.rows("second")) if (row[1] > best.shoppers) best = { shoppers: row[1], at: row[0] };
    }
    return best;
  }
}
