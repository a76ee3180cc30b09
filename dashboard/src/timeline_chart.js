// The timeline drawn with uPlot: shoppers online over the retained window
// with the peak marked, and joins and leaves per second beneath it, their
// cursors in step. A zoom (5 min, 1 h, 24 h) shows the latest part of the
// window and keeps following the newest sample. Colours come from the page's
// CSS, so the charts follow the system's light or dark mode.
import uPlot from "uplot";

export const ZOOMS = Object.freeze({ "5m": 5 * 60, "1h": 3600, "24h": 24 * 3600 });
const SYNC_KEY = "timeline";

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function axis(grid) {
  return {
    stroke: cssVar("--muted"),
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1 },
  };
}

function sizeOf(container, height) {
  return { width: Math.max(200, Math.floor(container.clientWidth)), height };
}

export class TimelineChart {
  constructor({ shoppers, activity, zoom = "1h", heights = { shoppers: 200, activity: 110 } }) {
    this.containers = { shoppers, activity };
    this.heights = heights;
    this.zoom = zoom;
    this.data = { t: [], shoppers: [], joins: [], leaves: [], peak: { shoppers: 0, at: 0 } };
    this.build();
    new ResizeObserver(() => this.resize()).observe(shoppers);
    matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => this.build());
  }

  build() {
    this.plots?.forEach((plot) => plot.destroy());
    const grid = cssVar("--line");
    const accent = cssVar("--accent");
    const cursor = { sync: { key: SYNC_KEY }, drag: { x: false, y: false } };
    const time = { time: true };
    this.shoppersPlot = new uPlot(
      {
        ...sizeOf(this.containers.shoppers, this.heights.shoppers),
        cursor,
        legend: { show: false },
        scales: { x: time, y: { range: (u, min, max) => [0, Math.max(4, max * 1.1)] } },
        axes: [axis(grid), { ...axis(grid), size: 52 }],
        // The span drawn, once uPlot applied it, for whoever cannot see the canvas.
        hooks: { setScale: [(u, key) => key === "x" && (this.containers.shoppers.dataset.spanS = Math.round(u.scales.x.max - u.scales.x.min))] },
        series: [
          {},
          { label: "Shoppers online", stroke: accent, width: 2, fill: cssVar("--accent-soft"), points: { show: false } },
          { label: "Peak", stroke: cssVar("--warn"), fill: cssVar("--warn"), width: 0, paths: () => null, points: { show: true, size: 11, width: 2 } },
        ],
      },
      [[], [], []],
      this.containers.shoppers,
    );
    this.activityPlot = new uPlot(
      {
        ...sizeOf(this.containers.activity, this.heights.activity),
        cursor,
        legend: { show: false },
        scales: { x: time, y: { range: (u, min, max) => [0, Math.max(2, max * 1.1)] } },
        axes: [axis(grid), { ...axis(grid), size: 52 }],
        series: [
          {},
          { label: "Joins per second", stroke: cssVar("--good"), width: 1.5, points: { show: false } },
          { label: "Leaves per second", stroke: cssVar("--bad"), width: 1.5, points: { show: false } },
        ],
      },
      [[], [], []],
      this.containers.activity,
    );
    this.plots = [this.shoppersPlot, this.activityPlot];
    this.draw();
  }

  resize() {
    this.shoppersPlot.setSize(sizeOf(this.containers.shoppers, this.heights.shoppers));
    this.activityPlot.setSize(sizeOf(this.containers.activity, this.heights.activity));
  }

  setZoom(zoom) {
    if (!(zoom in ZOOMS)) return;
    this.zoom = zoom;
    this.draw();
  }

  // The x range shown: the zoom's span back from the newest sample.
  range() {
    const { t } = this.data;
    const end = t.length ? t[t.length - 1] : Date.now() / 1000;
    return { min: end - ZOOMS[this.zoom], max: end };
  }

  update(data) {
    this.data = data;
    this.draw();
  }

  draw() {
    const { t, shoppers, joins, leaves, peak } = this.data;
    // The peak sits on the sample holding its second (a minute, once old).
    const peaks = t.map(() => null);
    let at = -1;
    for (let i = 0; i < t.length && t[i] <= peak.at / 1000; i += 1) at = i;
    if (peak.shoppers > 0 && at >= 0) peaks[at] = peak.shoppers;
    this.shoppersPlot.setData([t, shoppers, peaks], false);
    this.activityPlot.setData([t, joins, leaves], false);
    const { min, max } = this.range();
    for (const plot of this.plots) plot.setScale("x", { min, max });
    // What is drawn, for whoever reads the page without seeing the canvas.
    Object.assign(this.containers.shoppers.dataset, {
      points: t.length,
      from: t.length ? t[0] : "",
      max: shoppers.reduce((m, v) => Math.max(m, v), 0),
      peak: peak.shoppers,
      peakAt: peak.at,
    });
  }
}
