// Shoppers online over the last minutes, kept in the page: the server sends
// only the current figures, so the dashboard remembers what it was shown.
// One sample per second at most (the last value of that second wins) and
// nothing older than the window, so it holds at most window / 1 s samples.

export const HISTORY_WINDOW_MS = 15 * 60 * 1000;
const SAMPLE_MS = 1000;
// Samples fallen out of the window are cut off the array in batches.
const COMPACT_AFTER = 64;

export class ShopperHistory {
  constructor(windowMs = HISTORY_WINDOW_MS) {
    this.windowMs = windowMs;
    this.samples = []; // {t, value}, oldest first
    this.head = 0; // index of the oldest sample still drawn
  }

  record(nowMs, value) {
    const last = this.samples[this.samples.length - 1];
    if (last && nowMs - last.t < SAMPLE_MS) last.value = value;
    else this.samples.push({ t: nowMs, value });
    this.forget(nowMs);
  }

  forget(nowMs) {
    // One sample older than the window stays: the line starts at its value.
    const start = nowMs - this.windowMs;
    while (this.head + 1 < this.samples.length && this.samples[this.head + 1].t <= start) this.head += 1;
    if (this.head >= COMPACT_AFTER) {
      this.samples = this.samples.slice(this.head);
      this.head = 0;
    }
  }

  // The samples to draw, oldest first.
  points(nowMs) {
    this.forget(nowMs);
    return this.samples.slice(this.head);
  }
}
