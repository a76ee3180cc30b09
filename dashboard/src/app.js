// The admin dashboard: live figures from `admin:stats`, drawn at most once
// per animation frame from the latest message only, so a burst of messages
// costs one render and a hidden tab costs none.
import { AdminFeed, FeedState } from "./admin_feed.js";
import { HistoryChart } from "./chart.js";
import { HISTORY_WINDOW_MS, ShopperHistory } from "./history.js";
import { RecentCarts } from "./recent_carts.js";
import { formatCount, renderCarts, renderPages, renderRecentCarts, renderSizeBars } from "./render.js";
import { MAX_SIZE_COLUMNS, TOP_PAGES, TOP_PRODUCTS, cartsView, pagesView } from "./views.js";

// How often "updated … s ago" and the chart's time axis move on their own.
const CLOCK_TICK_MS = 1000;

const STATE_TEXT = {
  [FeedState.connecting]: "connecting…",
  [FeedState.live]: "live",
  [FeedState.reconnecting]: "reconnecting…",
  [FeedState.expired]: "token expired",
  [FeedState.refused]: "refused",
};

const byId = (id) => document.getElementById(id);
const view = {
  state: byId("state"),
  signIn: byId("sign-in"),
  updated: byId("updated"),
  shoppers: byId("shoppers"),
  connections: byId("connections"),
  shoes: byId("shoes"),
  nodeCount: byId("node-count"),
  nodeNames: byId("node-names"),
  pages: byId("pages"),
  sizeBars: byId("size-bars"),
  carts: byId("carts"),
  recentToggle: byId("recent-toggle"),
  recentState: byId("recent-state"),
  recentBody: byId("recent-body"),
  recentCaption: byId("recent-caption"),
  recentCarts: byId("recent-carts"),
};

const history = new ShopperHistory(HISTORY_WINDOW_MS);
const chart = new HistoryChart(byId("history"), byId("history-axis"), HISTORY_WINDOW_MS, formatCount);
const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

let latest = null; // the newest stats not drawn yet
let lastUpdateMs = null;
let frameRequested = false;
let recent = null; // {feed, carts} while the recent carts are shown

function requestFrame() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(drawFrame);
}

function drawFrame() {
  frameRequested = false;
  const now = Date.now();
  if (latest) {
    drawStats(latest);
    latest = null;
  }
  chart.draw(history.points(now), now);
  drawUpdated(now);
  if (recent) renderRecentCarts(view.recentCarts, view.recentCaption, recent.carts.view(), now);
}

const countOf = (value) => (Number.isFinite(value) && value > 0 ? value : 0);

function drawStats(stats) {
  const nodes = Array.isArray(stats.nodes) ? stats.nodes.map(String) : [];
  const carts = cartsView(stats.carts, TOP_PRODUCTS, MAX_SIZE_COLUMNS, stats.carts_other);
  view.shoppers.textContent = formatCount(countOf(stats.shoppers));
  view.connections.textContent = formatCount(countOf(stats.connections));
  view.shoes.textContent = formatCount(carts.total);
  view.nodeCount.textContent = formatCount(nodes.length);
  view.nodeNames.textContent = nodes.join(", ");
  view.nodeNames.title = nodes.join(", ");
  renderPages(view.pages, pagesView(stats.pages, TOP_PAGES, stats.pages_other));
  renderSizeBars(view.sizeBars, carts);
  renderCarts(view.carts, carts);
}

function drawUpdated(now) {
  if (lastUpdateMs === null) return;
  const seconds = Math.max(0, Math.round((now - lastUpdateMs) / 1000));
  view.updated.textContent = `updated ${clock.format(lastUpdateMs)} · ${seconds} s ago`;
  view.updated.dateTime = new Date(lastUpdateMs).toISOString();
}

function onStats(stats) {
  if (!stats || typeof stats !== "object") return;
  lastUpdateMs = Date.now();
  history.record(lastUpdateMs, countOf(stats.shoppers));
  latest = stats;
  requestFrame();
}

function onState(state, detail) {
  view.state.dataset.state = state;
  view.state.textContent = state === FeedState.refused && detail ? `refused: ${detail}` : STATE_TEXT[state];
  view.state.title = detail;
  view.signIn.hidden = state !== FeedState.expired;
  document.body.classList.toggle("stale", state !== FeedState.live);
}

function showRecentCarts(show) {
  view.recentToggle.textContent = show ? "Hide" : "Show";
  view.recentToggle.setAttribute("aria-expanded", String(show));
  view.recentBody.hidden = !show;
  view.recentState.textContent = "";
  if (!show) {
    recent?.feed.stop();
    recent = null;
    return;
  }
  const carts = new RecentCarts();
  const feed = new AdminFeed({
    endpoint: "/admin_socket",
    tokenUrl: "/admin/token",
    topic: "admin:cart_tracker",
    handlers: {
      presence_state: (state) => {
        carts.syncState(state);
        requestFrame();
      },
      presence_diff: (diff) => {
        carts.syncDiff(diff);
        requestFrame();
      },
    },
    onState: (state, detail) => {
      view.recentState.textContent = state === FeedState.live ? "" : STATE_TEXT[state];
      view.recentState.title = detail;
    },
  });
  recent = { feed, carts };
  feed.start();
  requestFrame();
}

view.recentToggle.addEventListener("click", () => showRecentCarts(recent === null));
view.signIn.addEventListener("click", () => location.reload());
setInterval(requestFrame, CLOCK_TICK_MS);

new AdminFeed({
  endpoint: "/admin_socket",
  tokenUrl: "/admin/token",
  topic: "admin:stats",
  handlers: { stats: onStats },
  onState,
}).start();
requestFrame();
