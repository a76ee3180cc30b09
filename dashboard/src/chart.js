// The "shoppers online" chart: a step line over the history the page has
// kept (at least MIN_SPAN_MS wide, so a page just opened is not one dot),
// drawn as inline SVG (no chart library). The SVG stretches to its box;
// labels are HTML beside it so text never stretches with it.

const SVG_NS = "http://www.w3.org/2000/svg";
const WIDTH = 1000;
const HEIGHT = 200;
const GRID_LINES = 4;
const TIME_TICKS = 4;
const MIN_SPAN_MS = 30 * 1000;

function ago(ms) {
  if (ms < 500) return "now";
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds} s ago`;
  return `${Math.round(seconds / 60)} min ago`;
}

// The smallest of 1, 2, 5 times a power of ten that is at least `value`.
export function niceCeiling(value) {
  if (value <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function svgElement(name, attributes) {
  const element = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  return element;
}

export class HistoryChart {
  constructor(container, xAxis, windowMs, format) {
    this.windowMs = windowMs;
    this.format = format;
    const svg = svgElement("svg", {
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      preserveAspectRatio: "none",
      role: "img",
      "aria-label": "Shoppers online over time",
    });
    for (let i = 1; i < GRID_LINES; i += 1) {
      const y = (HEIGHT * i) / GRID_LINES;
      svg.append(svgElement("line", { class: "grid", x1: 0, x2: WIDTH, y1: y, y2: y, "vector-effect": "non-scaling-stroke" }));
    }
    this.area = svgElement("path", { class: "area" });
    this.line = svgElement("path", { class: "line", "vector-effect": "non-scaling-stroke" });
    svg.append(this.area, this.line);
    this.yLabels = [];
    const axis = document.createElement("div");
    axis.className = "y-axis";
    for (let i = GRID_LINES; i >= 0; i -= 1) {
      const label = document.createElement("span");
      axis.append(label);
      this.yLabels.push({ label, share: i / GRID_LINES });
    }
    const plot = document.createElement("div");
    plot.className = "plot";
    plot.append(svg);
    container.replaceChildren(axis, plot);
    this.xLabels = [];
    for (let i = 0; i < TIME_TICKS; i += 1) this.xLabels.push(document.createElement("span"));
    xAxis.replaceChildren(...this.xLabels);
  }

  draw(points, nowMs) {
    let max = 0;
    for (const point of points) max = Math.max(max, point.value);
    // Whole-number grid lines: each step a nice number, the top GRID_LINES steps up.
    const top = niceCeiling(max / GRID_LINES) * GRID_LINES;
    for (const { label, share } of this.yLabels) label.textContent = this.format(top * share);
    const span = points.length ? Math.min(this.windowMs, Math.max(MIN_SPAN_MS, nowMs - points[0].t)) : MIN_SPAN_MS;
    this.xLabels.forEach((label, i) => (label.textContent = ago((span * (TIME_TICKS - 1 - i)) / (TIME_TICKS - 1))));
    if (points.length === 0) {
      this.line.setAttribute("d", "");
      this.area.setAttribute("d", "");
      return;
    }
    const start = nowMs - span;
    const x = (t) => Math.max(0, ((t - start) / span) * WIDTH).toFixed(1);
    const y = (value) => (HEIGHT - (value / top) * HEIGHT).toFixed(1);
    let d = `M${x(points[0].t)} ${y(points[0].value)}`;
    for (let i = 1; i < points.length; i += 1) d += `H${x(points[i].t)}V${y(points[i].value)}`;
    d += `H${WIDTH}`;
    this.line.setAttribute("d", d);
    this.area.setAttribute("d", `${d}V${HEIGHT}H${x(points[0].t)}Z`);
  }
}
