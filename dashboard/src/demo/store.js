// The demo store: a handful of sneakers, a cart kept in localStorage, and
// client-side navigation between /demo/, /demo/products/<id> and /demo/cart,
// reported to the tracker by shopper.js (the global PresenceShopper) with a
// shopper token from /demo/token for the cart id in the `presence_cart` cookie.

const BASE = "/demo";
const CART_KEY = "presence-demo-cart";
const SIZES = ["7", "7.5", "8", "8.5", "9", "9.5", "10", "10.5", "11", "12"];
const MAX_QTY = 99;

const CATALOG = [
  { id: "apex-runner", name: "Apex Runner", price: 129, colors: ["#ef4444", "#1f2937"] },
  { id: "court-classic", name: "Court Classic", price: 89, colors: ["#f5f5f4", "#16a34a"] },
  { id: "trail-hawk", name: "Trail Hawk", price: 149, colors: ["#a16207", "#365314"] },
  { id: "street-low", name: "Street Low", price: 75, colors: ["#111827", "#f59e0b"] },
  { id: "cloud-glide", name: "Cloud Glide", price: 139, colors: ["#93c5fd", "#e0e7ff"] },
  { id: "retro-high", name: "Retro High", price: 119, colors: ["#7c3aed", "#f43f5e"] },
];
const byId = new Map(CATALOG.map((shoe) => [shoe.id, shoe]));

const app = document.getElementById("app");
const cartCount = document.getElementById("cart-count");
const status = document.getElementById("presence-status");

function loadCart() {
  try {
    const items = JSON.parse(localStorage.getItem(CART_KEY) || "[]");
    return Array.isArray(items) ? items.filter((item) => byId.has(item.product)) : [];
  } catch {
    return [];
  }
}

let cart = loadCart();

function saveCart(items) {
  cart = items;
  localStorage.setItem(CART_KEY, JSON.stringify(items));
  cartChanged();
}

function showCartCount() {
  cartCount.textContent = String(cart.reduce((sum, item) => sum + item.qty, 0));
}

function cartChanged() {
  showCartCount();
  PresenceShopper.setCart(cart);
}

function addToCart(product, size) {
  const items = cart.map((item) => ({ ...item }));
  const line = items.find((item) => item.product === product && item.size === size);
  if (line) line.qty = Math.min(MAX_QTY, line.qty + 1);
  else items.push({ product, size, qty: 1 });
  saveCart(items);
}

function changeQty(index, delta) {
  const items = cart.map((item) => ({ ...item }));
  items[index].qty = Math.min(MAX_QTY, items[index].qty + delta);
  saveCart(items.filter((item) => item.qty > 0));
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style") node.style.cssText = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function link(path, attributes, ...children) {
  return el("a", { href: BASE + path, "data-route": "", ...attributes }, ...children);
}

function swatch(shoe, className) {
  return el("div", {
    class: `swatch ${className}`,
    style: `--a: ${shoe.colors[0]}; --b: ${shoe.colors[1]}`,
    "aria-hidden": "true",
  });
}

function homePage() {
  return [
    el("h1", {}, "Launch day drops"),
    el("p", { class: "lead" }, "Pick a pair. Open this store in a second tab and watch the dashboard move."),
    el(
      "div",
      { class: "grid" },
      ...CATALOG.map((shoe) =>
        link(
          `/products/${shoe.id}`,
          { class: "tile", dataset: { product: shoe.id } },
          swatch(shoe, "small"),
          el("strong", {}, shoe.name),
          el("span", { class: "price" }, `$${shoe.price}`),
        ),
      ),
    ),
  ];
}

function productPage(shoe) {
  let chosen = null;
  const add = el("button", { id: "add-to-cart", class: "primary", disabled: "" }, "Choose a size");
  const sizes = SIZES.map((size) =>
    el(
      "button",
      {
        class: "size",
        dataset: { size },
        onclick: (event) => {
          chosen = size;
          for (const b of sizes) b.classList.toggle("chosen", b === event.currentTarget);
          add.disabled = false;
          add.textContent = `Add size ${size} to cart`;
        },
      },
      size,
    ),
  );
  const note = el("p", { class: "note", role: "status" });
  add.addEventListener("click", () => {
    addToCart(shoe.id, chosen);
    note.textContent = `Added ${shoe.name}, size ${chosen}.`;
  });
  return [
    link("/", { class: "back" }, "← All shoes"),
    el(
      "div",
      { class: "product" },
      swatch(shoe, "large"),
      el(
        "div",
        {},
        el("h1", {}, shoe.name),
        el("p", { class: "price" }, `$${shoe.price}`),
        el("h2", {}, "Size (US)"),
        el("div", { class: "sizes" }, ...sizes),
        add,
        note,
      ),
    ),
  ];
}

function cartPage() {
  if (cart.length === 0) return [el("h1", {}, "Your cart"), el("p", { class: "lead" }, "Empty for now."), link("/", {}, "Browse shoes")];
  const rows = cart.map((item, index) => {
    const shoe = byId.get(item.product);
    return el(
      "li",
      { class: "line", dataset: { product: item.product, size: item.size } },
      swatch(shoe, "tiny"),
      el("span", { class: "what" }, `${shoe.name} · size ${item.size}`),
      el("button", { class: "qty", "aria-label": "one less", onclick: () => changeQty(index, -1) }, "−"),
      el("span", { class: "count" }, String(item.qty)),
      el("button", { class: "qty", "aria-label": "one more", onclick: () => changeQty(index, 1) }, "+"),
    );
  });
  const total = cart.reduce((sum, item) => sum + item.qty * byId.get(item.product).price, 0);
  return [
    el("h1", {}, "Your cart"),
    el("ul", { class: "lines" }, ...rows),
    el("p", { class: "total" }, `Total $${total}`),
    el("button", { class: "primary", onclick: () => saveCart([]) }, "Empty cart"),
  ];
}

function render() {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : "/";
  const product = path.match(/^\/products\/([a-z0-9-]+)\/?$/);
  let content;
  if (product && byId.has(product[1])) content = productPage(byId.get(product[1]));
  else if (/^\/cart\/?$/.test(path)) content = cartPage();
  else content = homePage();
  app.replaceChildren(...content);
  document.title = `${app.querySelector("h1").textContent} · Demo store`;
}

function navigate(path) {
  if (path !== location.pathname) history.pushState(null, "", path);
  render();
  window.scrollTo(0, 0);
}

document.addEventListener("click", (event) => {
  const anchor = event.target.closest("a[data-route]");
  if (!anchor || event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  navigate(new URL(anchor.href).pathname);
});
window.addEventListener("popstate", render);
// Another tab changed the cart: the cart is the shopper's, not the tab's, so
// every tab reports the same one.
window.addEventListener("storage", (event) => {
  if (event.key !== CART_KEY) return;
  cart = loadCart();
  cartChanged();
  render();
});

PresenceShopper.connect({
  tokenUrl: `${BASE}/token`,
  items: cart,
  onStatus: (state, detail) => {
    status.dataset.state = state;
    if (state === "joined") status.dataset.cart = detail;
    status.textContent = state === "joined" ? `live · cart ${detail}` : state;
  },
});
showCartCount();
render();
