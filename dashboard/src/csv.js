// CSV texts (RFC 4180) of the product-by-size table and of the timeline, and
// their download. Pure but for download(): runs the same in node.
import { compareSizes } from "./views.js";
import { SAMPLE_FIELDS } from "./timeline.js";

function field(value) {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function line(values) {
  return `${values.map(field).join(",")}\r\n`;
}

// Every product and size of a stats message (not only the ones the table
// shows): one row a product, one column a size, then the product's total;
// the products the server left out as one row when it reports them.
export function cartsCsv(stats) {
  const carts = (stats && stats.carts) || {};
  const sizes = new Set();
  for (const product in carts) for (const size in carts[product] || {}) sizes.add(size);
  const columns = [...sizes].sort(compareSizes);
  let text = line(["product", ...columns, "total"]);
  const totals = new Array(columns.length).fill(0);
  for (const product of Object.keys(carts).sort()) {
    const bySize = carts[product] || {};
    const cells = columns.map((size) => (Number.isFinite(bySize[size]) ? bySize[size] : 0));
    cells.forEach((n, i) => (totals[i] += n));
    text += line([product, ...cells, cells.reduce((a, b) => a + b, 0)]);
  }
  const other = stats && stats.carts_other;
  const otherQty = other && Number.isFinite(other.qty) ? other.qty : 0;
  if (otherQty > 0) text += line([`${other.products} other products`, ...columns.map(() => ""), otherQty]);
  text += line(["all products", ...totals, totals.reduce((a, b) => a + b, 0) + otherQty]);
  return text;
}

// One row a sample, minutes then seconds, oldest first; times in UTC ISO 8601.
export function timelineCsv(timeline) {
  let text = line(["time", "resolution", ...SAMPLE_FIELDS.slice(1)]);
  for (const resolution of ["minute", "second"]) {
    for (const row of timeline.rows(resolution)) text += line([new Date(row[0]).toISOString(), resolution, ...row.slice(1)]);
  }
  return text;
}

export function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
