// What the dashboard shows, computed from one `stats` message: bounded
// top-N views, whatever the number of pages, products and sizes in it. Pure
// functions of their arguments, so they run the same in node.

export const TOP_PAGES = 10;
export const TOP_PRODUCTS = 12;
export const MAX_SIZE_COLUMNS = 16;

const NUMERIC_SIZE = /^\s*\d+(?:[.,]\d+)?\s*$/;

function sizeNumber(size) {
  return NUMERIC_SIZE.test(size) ? Number(size.replace(",", ".")) : NaN;
}

// Numeric sizes in numeric order ("9" < "10" < "10.5"), then the others
// ("L", "M", "XL") in alphabetical order.
export function compareSizes(a, b) {
  const x = sizeNumber(a);
  const y = sizeNumber(b);
  const xNumeric = !Number.isNaN(x);
  const yNumeric = !Number.isNaN(y);
  if (xNumeric && yNumeric && x !== y) return x - y;
  if (xNumeric !== yNumeric) return xNumeric ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function ranksBefore([keyA, countA], [keyB, countB]) {
  return countA > countB || (countA === countB && keyA < keyB);
}

// The `limit` largest [key, count] pairs of an iterable, largest first (ties
// by key), in one pass holding at most `limit` of them, plus the count and
// sum of the others: O(n * limit) for n entries, and limit is small.
export function topEntries(entries, limit) {
  const top = [];
  let otherKeys = 0;
  let otherSum = 0;
  let total = 0;
  for (const entry of entries) {
    total += entry[1];
    if (top.length === limit && !ranksBefore(entry, top[limit - 1])) {
      otherKeys += 1;
      otherSum += entry[1];
      continue;
    }
    if (top.length === limit) {
      const evicted = top.pop();
      otherKeys += 1;
      otherSum += evicted[1];
    }
    let i = top.length;
    while (i > 0 && ranksBefore(entry, top[i - 1])) i -= 1;
    top.splice(i, 0, entry);
  }
  return { top, otherKeys, otherSum, total };
}

function countOf(value) {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

function* countEntries(object) {
  for (const key in object) yield [key, countOf(object[key])];
}

// Shoppers by page: the top pages and the rest summed, with the pages the
// server already left out of its stats (`pages_other`) among the rest.
export function pagesView(pages, limit = TOP_PAGES, serverOther = undefined) {
  const { top, otherKeys, otherSum, total } = topEntries(countEntries(pages || {}), limit);
  const max = top.length ? top[0][1] : 0;
  const leftOut = countOf(serverOther && serverOther.connections);
  return {
    rows: top.map(([page, count]) => ({ page, count })),
    otherKeys: otherKeys + countOf(serverOther && serverOther.pages),
    otherSum: otherSum + leftOut,
    total: total + leftOut,
    max,
  };
}

// Shoes in active carts: the top products by shoes, each with its count per
// size; the sizes with the most shoes as columns in size order, the rest of
// the sizes summed in an "other" column and the rest of the products in an
// "other" row. sizeTotals covers every product, shown or not. The shoes the
// server left out of its stats (`carts_other`, sizes unknown) count in the
// other row's total and in the grand total only.
export function cartsView(carts, productLimit = TOP_PRODUCTS, sizeLimit = MAX_SIZE_COLUMNS, serverOther = undefined) {
  const productTotals = new Map();
  const sizeTotals = new Map();
  for (const product in carts || {}) {
    const bySize = carts[product] || {};
    let productTotal = 0;
    for (const size in bySize) {
      const count = countOf(bySize[size]);
      productTotal += count;
      sizeTotals.set(size, (sizeTotals.get(size) || 0) + count);
    }
    productTotals.set(product, productTotal);
  }

  const sizePick = topEntries(sizeTotals, sizeLimit);
  const sizes = sizePick.top.map(([size]) => size).sort(compareSizes);
  const column = new Map(sizes.map((size, i) => [size, i]));
  const productPick = topEntries(productTotals, productLimit);

  // Adds a product's counts into cells (one per shown size) and returns the
  // count of its shoes in the sizes not shown.
  const addCells = (bySize, cells) => {
    let other = 0;
    for (const size in bySize) {
      const i = column.get(size);
      if (i === undefined) other += countOf(bySize[size]);
      else cells[i] += countOf(bySize[size]);
    }
    return other;
  };

  const rows = productPick.top.map(([product, total]) => {
    const cells = new Array(sizes.length).fill(0);
    return { product, total, cells, other: addCells(carts[product], cells) };
  });
  const shown = new Set(rows.map((row) => row.product));
  const otherRow = { products: productPick.otherKeys, total: productPick.otherSum, cells: new Array(sizes.length).fill(0), other: 0 };
  if (productPick.otherKeys > 0) {
    for (const product in carts) {
      if (!shown.has(product)) otherRow.other += addCells(carts[product], otherRow.cells);
    }
  }
  const leftOut = countOf(serverOther && serverOther.qty);
  otherRow.products += countOf(serverOther && serverOther.products);
  otherRow.total += leftOut;
  return {
    sizes,
    rows,
    otherRow,
    otherSizes: sizePick.otherKeys,
    sizeTotals: sizes.map((size) => sizeTotals.get(size)),
    otherSizesTotal: sizePick.otherSum,
    total: productPick.total + leftOut,
  };
}

// A cluster has at most this many replicas (the server's kMaxReplicas).
export const MAX_NODES = 64;

// Shoppers per node, from a stats message's `replicas` (nodes up and down,
// with their connections), in name order; from a server that sends only
// `nodes`, those nodes up with no count. `shown` is false for a single node
// that is up: the panel has nothing to add to the totals then.
export function nodesView(replicas, nodes) {
  const rows = [];
  if (Array.isArray(replicas)) {
    for (const replica of replicas) {
      if (rows.length === MAX_NODES) break;
      if (!replica || typeof replica.node !== "string") continue;
      rows.push({ node: replica.node, up: replica.state !== "down", connections: countOf(replica.connections) });
    }
  } else if (Array.isArray(nodes)) {
    for (const node of nodes.slice(0, MAX_NODES)) rows.push({ node: String(node), up: true, connections: null });
  }
  rows.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  const up = rows.filter((row) => row.up);
  const max = up.reduce((m, row) => Math.max(m, row.connections || 0), 0);
  return { rows, down: rows.length - up.length, max, shown: rows.length > 1 || up.length !== rows.length };
}
