// DOM for the views of views.js. Page paths, product names and sizes come
// from shoppers: they only ever go in as text, never as markup.

const numbers = new Intl.NumberFormat();
export const formatCount = (n) => numbers.format(n);

function element(tag, { className, text, data } = {}) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [key, value] of Object.entries(data || {})) node.dataset[key] = value;
  return node;
}

function holding(node, ...children) {
  node.append(...children);
  return node;
}

function countCell(count, data) {
  return element("td", { className: "num", text: formatCount(count), data });
}

function share(count, max) {
  return max > 0 ? (count / max).toFixed(4) : "0";
}

function emptyRow(columns, text) {
  const cell = element("td", { className: "empty", text });
  cell.colSpan = columns;
  return holding(element("tr"), cell);
}

export function renderPages(tbody, view) {
  const rows = view.rows.map(({ page, count }) => {
    const label = element("td", { className: "page" });
    const bar = element("span", { className: "share" });
    bar.style.setProperty("--share", share(count, view.max));
    label.append(bar, element("span", { className: "path", text: page }));
    label.title = page;
    const row = element("tr", { data: { page } });
    row.append(label, countCell(count, { count }));
    return row;
  });
  if (view.otherKeys > 0) {
    const label = element("td", { className: "page", text: `${formatCount(view.otherKeys)} other pages` });
    const row = element("tr", { className: "other", data: { other: "pages" } });
    row.append(label, countCell(view.otherSum, { count: view.otherSum }));
    rows.push(row);
  }
  if (rows.length === 0) rows.push(emptyRow(2, "No shoppers online"));
  tbody.replaceChildren(...rows);
}

export function renderSizeBars(container, view) {
  const columns = view.sizes.map((size, i) => ({ size, count: view.sizeTotals[i] }));
  if (view.otherSizes > 0) columns.push({ size: "other", count: view.otherSizesTotal, other: true });
  const max = columns.reduce((m, c) => Math.max(m, c.count), 0);
  const bars = columns.map(({ size, count, other }) => {
    const column = element("div", { className: other ? "column other" : "column", data: other ? {} : { size } });
    const bar = element("div", { className: "bar" });
    bar.style.setProperty("--share", share(count, max));
    column.append(
      element("span", { className: "count", text: formatCount(count), data: { count } }),
      bar,
      element("span", { className: "size", text: size }),
    );
    column.title = `size ${size}: ${formatCount(count)} shoes`;
    return column;
  });
  if (bars.length === 0) bars.push(element("p", { className: "empty", text: "No shoes in carts" }));
  container.replaceChildren(...bars);
}

function cartRow(label, counts, view, data, className) {
  const row = element("tr", { className, data });
  row.append(element("th", { className: "product", text: label }));
  counts.cells.forEach((count, i) => row.append(countCell(count, { size: view.sizes[i] })));
  if (view.otherSizes > 0) row.append(countCell(counts.other, { size: "other" }));
  row.append(countCell(counts.total, { size: "total" }));
  for (const cell of row.querySelectorAll("td")) if (cell.textContent === "0") cell.classList.add("zero");
  return row;
}

export function renderCarts(table, view) {
  const head = element("tr");
  head.append(element("th", { className: "product", text: "Product" }));
  for (const size of view.sizes) head.append(element("th", { className: "num", text: size, data: { size } }));
  if (view.otherSizes > 0) head.append(element("th", { className: "num", text: `${view.otherSizes} other` }));
  head.append(element("th", { className: "num", text: "Total" }));

  const body = view.rows.map((row) => cartRow(row.product, row, view, { product: row.product }));
  if (view.otherRow.products > 0) {
    body.push(cartRow(`${formatCount(view.otherRow.products)} other products`, view.otherRow, view, { other: "products" }, "other"));
  } else if (view.otherRow.total > 0) {
    // Only sizes the server left out of shown products: their shoes, sizes unknown.
    body.push(cartRow("Other sizes", view.otherRow, view, { other: "products" }, "other"));
  }
  const columns = view.sizes.length + (view.otherSizes > 0 ? 3 : 2);
  if (body.length === 0) body.push(emptyRow(columns, "No shoes in carts"));

  const totals = { cells: view.sizeTotals, other: view.otherSizesTotal, total: view.total };
  const foot = cartRow("All products", totals, view, { totals: "sizes" }, "totals");

  table.replaceChildren(
    holding(element("thead"), head),
    holding(element("tbody"), ...body),
    holding(element("tfoot"), foot),
  );
}

// At most this many items of a cart are named; the rest are counted.
const ITEMS_NAMED = 3;

function cartContents(items) {
  if (items.length === 0) return "empty";
  const named = items.slice(0, ITEMS_NAMED).map(({ product, size, qty }) => `${product} ${size}${qty > 1 ? ` ×${qty}` : ""}`);
  if (items.length > ITEMS_NAMED) named.push(`+${items.length - ITEMS_NAMED} more`);
  return named.join(", ");
}

function since(nowMs, atMs) {
  if (!atMs) return "";
  const seconds = Math.max(0, Math.round((nowMs - atMs) / 1000));
  return seconds < 120 ? `${seconds} s ago` : `${Math.round(seconds / 60)} min ago`;
}

export function renderRecentCarts(tbody, caption, view, nowMs) {
  const rows = view.rows.map(({ cart, page, tabs, items, at }) => {
    const row = element("tr", { data: { cart } });
    const path = element("td", { className: "page", text: page });
    path.title = page;
    row.append(
      element("td", { className: "cart", text: cart }),
      path,
      countCell(tabs, { tabs }),
      element("td", { className: "contents", text: cartContents(items) }),
      element("td", { className: "num", text: since(nowMs, at) }),
    );
    return row;
  });
  if (rows.length === 0) rows.push(emptyRow(5, "No carts online"));
  tbody.replaceChildren(...rows);
  caption.textContent = `${formatCount(view.rows.length)} most recent of ${formatCount(view.carts)} carts online`;
  caption.dataset.carts = view.carts;
}

export function renderMoving(list, rows) {
  const items = rows.map(({ product, size, rise, qty }) => {
    const item = element("li", { data: { product, size } });
    item.append(
      element("span", { className: "what", text: `${product} · size ${size}` }),
      element("span", { className: "rise", text: `+${formatCount(rise)}` }),
      element("span", { className: "qty", text: `${formatCount(qty)} in carts` }),
    );
    return item;
  });
  if (items.length === 0) items.push(element("li", { className: "empty", text: "Nothing rising yet" }));
  list.replaceChildren(...items);
}

// Shoppers per node: a node that is down says so in words (its shoppers are
// not counted), not only in colour. Hidden for a single node that is up.
export function renderNodes(section, tbody, summary, view) {
  section.hidden = !view.shown;
  if (!view.shown) return;
  const rows = view.rows.map(({ node, up, connections }) => {
    const row = element("tr", { className: up ? "node-up" : "node-down", data: { node, state: up ? "up" : "down" } });
    const label = element("td", { className: "page" });
    if (up) {
      const bar = element("span", { className: "share" });
      bar.style.setProperty("--share", share(connections || 0, view.max));
      label.append(bar);
    }
    label.append(element("span", { className: "path", text: node }));
    label.title = node;
    const state = element("td", { className: "node-state", text: up ? "up" : "down, not counted" });
    const count = connections === null ? element("td", { className: "num", text: "–" }) : countCell(connections, { count: connections });
    row.append(label, state, count);
    return row;
  });
  tbody.replaceChildren(...rows);
  const nodes = `${formatCount(view.rows.length)} nodes`;
  summary.textContent = view.down > 0 ? `${nodes}, ${formatCount(view.down)} down` : nodes;
}
