// "Moving now": the products and sizes whose quantity in carts rose most over
// the last minutes, from the `carts` of the stats the page receives. Keeps one
// snapshot every few seconds over the window, each bounded by the stats'
// own bound on cart entries. Pure: runs the same in node.

export const MOVING_WINDOW_MS = 5 * 60 * 1000;
export const SNAPSHOT_EVERY_MS = 5000;
export const TOP_MOVING = 6;

function flatten(carts) {
  const counts = new Map();
  for (const product in carts || {}) {
    const bySize = carts[product] || {};
    for (const size in bySize) {
      const qty = bySize[size];
      if (Number.isFinite(qty) && qty > 0) counts.set(JSON.stringify([product, size]), qty);
    }
  }
  return counts;
}

export class MovingNow {
  constructor(windowMs = MOVING_WINDOW_MS, everyMs = SNAPSHOT_EVERY_MS) {
    this.windowMs = windowMs;
    this.everyMs = everyMs;
    this.snapshots = []; // {t, counts}, oldest first
  }

  record(nowMs, carts) {
    const last = this.snapshots[this.snapshots.length - 1];
    const counts = flatten(carts);
    if (last && nowMs - last.t < this.everyMs) last.latest = counts;
    else this.snapshots.push({ t: nowMs, counts, latest: counts });
    // The oldest snapshot kept is the newest one at or before the window's start.
    while (this.snapshots.length > 1 && this.snapshots[1].t <= nowMs - this.windowMs) this.snapshots.shift();
  }

  // [{product, size, rise, qty}], largest rise first (ties by name), rises > 0 only.
  top(limit = TOP_MOVING) {
    if (this.snapshots.length === 0) return [];
    const before = this.snapshots[0].counts;
    const now = this.snapshots[this.snapshots.length - 1].latest;
    const rows = [];
    for (const [key, qty] of now) {
      const rise = qty - (before.get(key) || 0);
      if (rise > 0) {
        const [product, size] = JSON.parse(key);
        rows.push({ product, size, rise, qty });
      }
    }
    rows.sort((a, b) => b.rise - a.rise || (a.product < b.product ? -1 : a.product > b.product ? 1 : a.size < b.size ? -1 : a.size > b.size ? 1 : 0));
    return rows.slice(0, limit);
  }

  // How far back the comparison reaches, in ms (less than the window at first).
  span(nowMs) {
    return this.snapshots.length ? Math.min(this.windowMs, nowMs - this.snapshots[0].t) : 0;
  }
}
